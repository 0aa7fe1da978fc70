/**
 * One snapshot request in flight: prepare on every agent, wait for every `prepared` (or a
 * timeout, or the agent leaving), then capture everywhere at once and collect one `captured`
 * per process. Every process ends with a snapshot or a named error; nothing here fails the
 * whole request. Messages for processes this request did not ask that agent for are ignored.
 */
import {
  type CapturedMessage,
  capturedSnapshot,
  type PreparedMessage,
  type PrepareProgressMessage,
  type ProcessDescription,
  type ProcessError,
  type ProcessErrorKind,
  type ServerMessage,
} from '../protocol/messages.js';
import type { ProcessSnapshot } from '../snapshot/snapshot-types.js';
import { AgentProgress, progressBounds, progressEveryMs, type WorkWords } from './agent-progress.js';

/** A process to snapshot and the agent that monitors it. */
export interface RunTarget {
  readonly agentId: string;
  readonly process: ProcessDescription;
}

/** How one process fared. */
export interface ProcessOutcome {
  readonly target: RunTarget;
  /** Wall-clock ms when its capture started (from the agent). */
  readonly startedAt?: number;
  readonly snapshot?: ProcessSnapshot;
  readonly error?: ProcessError;
}

/** Timeouts and what to ask the agents. */
export interface RunOptions {
  /**
   * How long a prepare may go without a sign of progress, ms: from the `prepare` for agents
   * that report none (before `prepare-progress`), else from their last report of more CPU.
   */
  readonly prepareTimeoutMs: number;
  /** However it progresses, a prepare is given up this long after the `prepare`, ms (default: prepareTimeoutMs). */
  readonly prepareMaxMs?: number;
  readonly captureTimeoutMs: number;
  readonly specVersion: number;
  readonly noPause?: boolean;
}

const KINDS = new Set<string>([
  'BINARY_STRIPPED',
  'PROCESS_MISSING',
  'NOT_GO',
  'PERMISSION',
  'TIMEOUT',
  'SPEC_MISMATCH',
  'AGENT_DISCONNECTED',
  'AGENT_UNRESPONSIVE',
  'INTERNAL',
]);

type Phase = 'preparing' | 'prepared' | 'capturing' | 'done';

interface Slot {
  readonly target: RunTarget;
  phase: Phase;
  outcome?: ProcessOutcome;
}

/** How the give-up of a prepare is worded. */
const PREPARE_WORDS: WorkWords = {
  noun: 'prepare',
  doing: 'preparing',
  again: 'The agent finishes the prepare and keeps it: snapshot again',
};

/** Turns whatever an agent sent as an error into a ProcessError of a known kind. */
export function normalizeError(e: unknown): ProcessError {
  const o = (typeof e === 'object' && e !== null ? e : {}) as { kind?: unknown; message?: unknown };
  const kind = typeof o.kind === 'string' && KINDS.has(o.kind) ? (o.kind as ProcessErrorKind) : 'INTERNAL';
  const message = typeof o.message === 'string' ? o.message.slice(0, 2000) : 'the agent gave no reason';
  return { kind, message };
}

/** A cheap shape check of a snapshot from an agent, so garbage is a per-process error, not a crash. */
export function snapshotShapeProblem(s: unknown): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not an object';
  const o = s as Record<string, unknown>;
  if (typeof o.pid !== 'number') return 'no numeric "pid"';
  if (!Array.isArray(o.goroutines)) return 'no "goroutines" list';
  for (const g of o.goroutines as unknown[]) {
    const go = g as { id?: unknown; stack?: { frames?: unknown } } | null;
    if (
      typeof go !== 'object' ||
      go === null ||
      typeof go.id !== 'number' ||
      !Array.isArray(go.stack?.frames)
    )
      return 'a goroutine without "id" or "stack.frames"';
  }
  if (typeof o.takenAt !== 'string' || typeof o.pauseNs !== 'number') return 'no "takenAt" or "pauseNs"';
  return undefined;
}

/** The state of one snapshot request across the fleet. */
export class SnapshotRun {
  private readonly slots = new Map<string, Slot>();
  /** Each asked agent's progress on its prepare (set when the prepare is sent). */
  private readonly progress = new Map<string, AgentProgress>();
  private wake: (() => void) | undefined;

  constructor(
    readonly requestId: string,
    targets: readonly RunTarget[],
    private readonly send: (agentId: string, msg: ServerMessage) => boolean,
    private readonly opts: RunOptions,
  ) {
    for (const t of targets)
      this.slots.set(slotKey(t.agentId, t.process.key), { target: t, phase: 'preparing' });
  }

  /** Runs both phases and returns every process's outcome. */
  async run(): Promise<ProcessOutcome[]> {
    await this.prepare();
    return this.capture();
  }

  /** The first phase: prepare on every agent; ends when all answered or the prepare timeout passed. */
  async prepare(): Promise<void> {
    const bounds = progressBounds(this.opts.prepareTimeoutMs, this.opts.prepareMaxMs);
    const t0 = performance.now();
    const progressOf = (agentId: string): AgentProgress => {
      const known = this.progress.get(agentId);
      if (known) return known;
      const p = new AgentProgress(bounds, t0);
      this.progress.set(agentId, p);
      return p;
    };
    for (const [agentId, keys] of this.byAgent('preparing')) {
      progressOf(agentId);
      const msg: ServerMessage = {
        type: 'prepare',
        requestId: this.requestId,
        keys,
        specVersion: this.opts.specVersion,
        ...(this.opts.noPause ? { noPause: true } : {}),
        progressMs: progressEveryMs(this.opts.prepareTimeoutMs),
      };
      if (!this.send(agentId, msg))
        this.failAgent(agentId, 'AGENT_DISCONNECTED', 'the agent was not connected');
    }
    // Each agent's processes wait until it went idleMs without progress, or maxMs passed.
    const deadline = (agentId: string) => progressOf(agentId).deadline;
    for (;;) {
      const now = performance.now();
      for (const slot of this.slots.values())
        if (slot.phase === 'preparing' && deadline(slot.target.agentId) <= now)
          this.finish(slot, {
            target: slot.target,
            error: {
              kind: 'TIMEOUT',
              message: progressOf(slot.target.agentId).giveUpText(PREPARE_WORDS, now),
            },
          });
      const waiting = [...this.slots.values()].filter((s) => s.phase === 'preparing');
      if (waiting.length === 0) return;
      const next = Math.min(...waiting.map((s) => deadline(s.target.agentId)));
      // Woken by every message; a report of progress moves the deadline, so look again.
      await this.until(() => true, Math.max(1, next - now), true);
    }
  }

  /** Handles an agent's `prepare-progress`: a change of its CPU time moves its deadline. */
  prepareProgress(agentId: string, msg: PrepareProgressMessage): void {
    const p = this.progress.get(agentId);
    if (!p) return; // not an agent this run asked
    p.report(msg);
    this.wake?.();
  }

  /** The second phase: capture every prepared process at once; returns every process's outcome. */
  async capture(): Promise<ProcessOutcome[]> {
    for (const slot of this.slots.values()) if (slot.phase === 'prepared') slot.phase = 'capturing';
    // All capture messages leave in one synchronous loop, so agents start as close in time as possible.
    for (const [agentId, keys] of this.byAgent('capturing')) {
      if (!this.send(agentId, { type: 'capture', requestId: this.requestId, keys }))
        this.failAgent(agentId, 'AGENT_DISCONNECTED', 'the agent disconnected before capture');
    }
    await this.until(() => this.none('capturing'), this.opts.captureTimeoutMs);
    this.timeout('capturing', `no capture result within ${this.opts.captureTimeoutMs} ms`);
    return [...this.slots.values()].map(
      (s) => s.outcome ?? { target: s.target, error: internal('no outcome') },
    );
  }

  /** Handles an agent's `prepared`; keys it does not mention are failed. */
  prepared(agentId: string, msg: PreparedMessage): void {
    const results = Array.isArray(msg.results) ? msg.results : [];
    const seen = new Set<string>();
    for (const r of results) {
      const slot = typeof r?.key === 'string' ? this.slots.get(slotKey(agentId, r.key)) : undefined;
      if (slot?.phase !== 'preparing') continue;
      seen.add(r.key);
      if (r.error) this.finish(slot, { target: slot.target, error: normalizeError(r.error) });
      else slot.phase = 'prepared';
    }
    for (const slot of this.slots.values()) {
      if (slot.target.agentId === agentId && slot.phase === 'preparing' && !seen.has(slot.target.process.key))
        this.finish(slot, {
          target: slot.target,
          error: internal('the agent did not report on this process'),
        });
    }
    this.wake?.();
  }

  /** Handles an agent's `captured` for one process. */
  captured(agentId: string, msg: CapturedMessage): void {
    const slot = typeof msg.key === 'string' ? this.slots.get(slotKey(agentId, msg.key)) : undefined;
    if (slot?.phase !== 'capturing') return;
    const startedAt =
      typeof msg.startedAt === 'number' && Math.abs(msg.startedAt) < 8.64e15 ? msg.startedAt : undefined;
    const base = { target: slot.target, ...(startedAt !== undefined ? { startedAt } : {}) };
    let snapshot: ProcessSnapshot | undefined;
    try {
      snapshot = capturedSnapshot(msg);
    } catch (e) {
      this.finish(slot, {
        ...base,
        error: internal(`the agent's deflated snapshot is unreadable: ${(e as Error).message}`),
      });
      this.wake?.();
      return;
    }
    if (msg.error !== undefined && msg.error !== null)
      this.finish(slot, { ...base, error: normalizeError(msg.error) });
    else if (snapshot !== undefined) {
      const problem = snapshotShapeProblem(snapshot);
      if (problem)
        this.finish(slot, { ...base, error: internal(`the agent sent a malformed snapshot: ${problem}`) });
      else this.finish(slot, { ...base, snapshot });
    } else this.finish(slot, { ...base, error: internal('the agent sent neither a snapshot nor an error') });
    this.wake?.();
  }

  /** The agent's connection ended: its unfinished processes fail with AGENT_DISCONNECTED. */
  agentGone(agentId: string): void {
    this.failAgent(agentId, 'AGENT_DISCONNECTED', 'the agent disconnected during the snapshot');
    this.wake?.();
  }

  /** The agent stopped answering heartbeats: its unfinished processes fail with AGENT_UNRESPONSIVE. */
  agentUnresponsive(agentId: string, message: string): void {
    this.failAgent(agentId, 'AGENT_UNRESPONSIVE', message);
    this.wake?.();
  }

  /** Agents that still owe answers (to send them `abort`). */
  agents(): string[] {
    return [...new Set([...this.slots.values()].map((s) => s.target.agentId))];
  }

  private failAgent(agentId: string, kind: ProcessErrorKind, message: string): void {
    for (const slot of this.slots.values())
      if (slot.target.agentId === agentId && slot.phase !== 'done')
        this.finish(slot, { target: slot.target, error: { kind, message } });
  }

  private timeout(phase: Phase, message: string): void {
    for (const slot of this.slots.values())
      if (slot.phase === phase)
        this.finish(slot, { target: slot.target, error: { kind: 'TIMEOUT', message } });
  }

  private finish(slot: Slot, outcome: ProcessOutcome): void {
    slot.phase = 'done';
    slot.outcome = outcome;
  }

  private none(phase: Phase): boolean {
    for (const s of this.slots.values()) if (s.phase === phase) return false;
    return true;
  }

  private byAgent(phase: Phase): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const s of this.slots.values()) {
      if (s.phase !== phase) continue;
      const list = out.get(s.target.agentId) ?? [];
      list.push(s.target.process.key);
      out.set(s.target.agentId, list);
    }
    return out;
  }

  /** Waits until `cond` holds when a message wakes the run (or at once, unless `onWake`), or `ms` passed. */
  private until(cond: () => boolean, ms: number, onWake = false): Promise<void> {
    if (!onWake && cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = () => {
        if (cond()) done();
      };
    });
  }
}

function slotKey(agentId: string, key: string): string {
  return `${agentId}\u0000${key}`;
}

function internal(message: string): ProcessError {
  return { kind: 'INTERNAL', message };
}
