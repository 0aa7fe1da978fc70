/**
 * Snapshot orchestration: select processes, prepare and capture them on their agents (see
 * SnapshotRun), store what came back with per-process errors and the capture skew, and return
 * the snapshot id. Concurrent requests are independent: each has its own request id, and agent
 * messages are routed by it.
 */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import type { ProcessResult, ProcessView, SnapshotTaken } from '../api/responses.js';
import type {
  CapturedMessage,
  PreparedMessage,
  PrepareProgressMessage,
  ProcessDescription,
} from '../protocol/messages.js';
import type { FailedProcessInput, SpecVersion, Store, StoredProcessInput } from '../store/store.js';
import { fleetLinkNotes } from './fleet-link-notes.js';
import { HttpError } from './http-errors.js';
import type { Registry } from './registry.js';
import type { Selector } from './selector.js';
import type { SnapshotMeta, SnapshotMetaLog } from './snapshot-meta.js';
import { type ProcessOutcome, type RunTarget, SnapshotRun } from './snapshot-run.js';

/** What a user asks for. */
export interface SnapshotRequest {
  readonly selector: Selector;
  /** Only the selected processes this holds for (a token limited to programs). */
  readonly within?: (p: ProcessDescription) => boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly noPause?: boolean;
  /** Name of the token that asked. */
  readonly requestedBy: string;
}

/** Timeouts of the two phases. */
export interface OrchestratorOptions {
  /** How long a prepare may go without progress (snapshot-run.ts). */
  readonly prepareTimeoutMs: number;
  /** The hard bound of a prepare however it progresses (default: prepareTimeoutMs). */
  readonly prepareMaxMs?: number;
  readonly captureTimeoutMs: number;
  /** Told of each stored snapshot: its processes' outcomes, seconds from request to store, whether it paused (metrics). */
  readonly onStored?: (outcomes: readonly ProcessOutcome[], seconds: number, paused: boolean) => void;
  /**
   * Sends a spec to every connected agent. Called before a request when the current spec is
   * not the one this server last saw: servers sharing a store (--store) see specs set on the
   * others only here, and the agents must have it before they prepare.
   */
  readonly pushSpec?: (version: number, yaml: string) => Promise<void>;
}

/** A selected process of the fleet and the server its agent is connected to. */
export interface FleetTarget extends ProcessView {
  readonly server: string;
}

/** Snapshots across servers sharing PostgreSQL (fleet-snapshot.ts); absent on a lone server. */
export interface FleetCoordinator {
  /** This server's id in the fleet registry. */
  readonly serverId: string;
  /** The processes of every live server's agents that match. */
  targets(sel: Selector): FleetTarget[];
  /** Takes a snapshot whose targets include other servers' agents. */
  snapshot(req: SnapshotRequest, targets: readonly FleetTarget[]): Promise<SnapshotTaken>;
}

/** Runs snapshot requests across the agents of a registry and stores the results. */
export class Orchestrator {
  private readonly runs = new Map<string, SnapshotRun>();
  private storing: Promise<unknown> = Promise.resolve();
  /** The spec version this server last sent its agents (undefined before the first look). */
  private seenSpec: number | undefined;
  /** The look under way: looks run one at a time, so versions reach the agents in order. */
  private syncing: Promise<unknown> = Promise.resolve();
  private fleet: FleetCoordinator | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly store: Store,
    private readonly meta: SnapshotMetaLog,
    private readonly opts: OrchestratorOptions,
  ) {
    registry.onDisconnect((agentId) => {
      for (const run of this.runs.values()) run.agentGone(agentId);
    });
    registry.onUnresponsive((agentId) => {
      const message = this.unresponsiveMessage(agentId);
      if (message) for (const run of this.runs.values()) run.agentUnresponsive(agentId, message);
    });
  }

  /** Lets requests reach the agents of other servers (scaled-out store). */
  attachFleet(fleet: FleetCoordinator): void {
    this.fleet = fleet;
  }

  /**
   * The current spec, sent to this server's agents first when it changed on another server
   * (before a snapshot request, and on every look of fleet-spec.ts).
   */
  syncedSpec(): Promise<SpecVersion | undefined> {
    const next = this.syncing.then(async () => {
      const spec = await this.store.currentSpec();
      const version = spec?.version ?? 0;
      if (this.seenSpec !== version && this.opts.pushSpec)
        await this.opts.pushSpec(version, spec?.yaml ?? '');
      this.seenSpec = version;
      return spec;
    });
    this.syncing = next.catch(() => undefined);
    return next;
  }

  /**
   * Sends a spec version this server just stored to its agents with `send`, in turn with the
   * looks of syncedSpec: never before an older version, never after a newer one was sent.
   */
  async specStored(version: number, send: () => Promise<void>): Promise<void> {
    const next = this.syncing.then(async () => {
      if (this.seenSpec !== undefined && this.seenSpec > version) return;
      await send();
      this.seenSpec = version;
    });
    this.syncing = next.catch(() => undefined);
    await next;
  }

  /** Starts tracking a run over this server's agents (their messages are routed to it by request id). */
  startRun(
    requestId: string,
    targets: readonly RunTarget[],
    specVersion: number,
    noPause: boolean,
  ): SnapshotRun {
    const run = new SnapshotRun(
      requestId,
      targets,
      (agentId, msg) => this.registry.connection(agentId)?.send(msg) ?? false,
      {
        prepareTimeoutMs: this.opts.prepareTimeoutMs,
        ...(this.opts.prepareMaxMs !== undefined ? { prepareMaxMs: this.opts.prepareMaxMs } : {}),
        captureTimeoutMs: this.opts.captureTimeoutMs,
        specVersion,
        ...(noPause ? { noPause: true } : {}),
      },
    );
    for (const agentId of run.agents()) {
      const message = this.unresponsiveMessage(agentId);
      if (message) run.agentUnresponsive(agentId, message);
    }
    this.runs.set(requestId, run);
    return run;
  }

  /** Stops tracking a run and tells its agents to drop what they still hold for it. */
  endRun(run: SnapshotRun): void {
    this.runs.delete(run.requestId);
    for (const agentId of run.agents())
      this.registry.connection(agentId)?.send({ type: 'abort', requestId: run.requestId });
  }

  /** Takes a snapshot of every selected process and stores it; one process failing never fails it. */
  async snapshot(req: SnapshotRequest): Promise<SnapshotTaken> {
    const t0 = performance.now();
    if (this.fleet) {
      const fleet = this.fleet;
      const all = fleet.targets(req.selector).filter((p) => req.within?.(p) ?? true);
      if (all.some((t) => t.server !== fleet.serverId)) return fleet.snapshot(req, all);
    }
    const targets = this.registry
      .processes(req.selector)
      .filter((p) => req.within?.(p) ?? true)
      .map((p) => ({ agentId: p.agentId, process: p }));
    if (targets.length === 0) {
      const what = req.selector.text ? `matches "${req.selector.text}"` : 'is monitored';
      throw new HttpError(
        422,
        'no-processes',
        `no process of a connected agent ${what}; GET /v1/processes (or \`periscope processes\`) shows what is monitored`,
      );
    }
    const spec = await this.syncedSpec();
    const requestId = randomUUID();
    const run = this.startRun(requestId, targets, spec?.version ?? 0, req.noPause === true);
    let outcomes: ProcessOutcome[];
    try {
      outcomes = await run.run();
    } finally {
      this.endRun(run);
    }
    const saved = await saveFailingUnstorable(this.store, outcomes, (o) =>
      this.save(o, req, spec?.yaml ?? ''),
    );
    const snapshotId = saved.stored;
    outcomes = saved.outcomes;
    const meta: SnapshotMeta = {
      snapshotId,
      requestId,
      selector: req.selector.text,
      requestedBy: req.requestedBy,
      captureSkewMs: skew(outcomes),
      durationMs: Math.round(performance.now() - t0),
      processes: outcomes.map(result),
    };
    await this.meta.add(meta);
    this.opts.onStored?.(outcomes, (performance.now() - t0) / 1000, req.noPause !== true);
    const notes = fleetLinkNotes(
      outcomes.flatMap((o) =>
        o.snapshot?.linkNotes?.length
          ? [{ program: result(o).program ?? '', notes: o.snapshot.linkNotes }]
          : [],
      ),
    );
    return {
      ...meta,
      labels: req.labels,
      specVersion: spec?.version ?? null,
      ...(notes.length > 0 ? { linkNotes: notes } : {}),
    };
  }

  /** Counts a stored snapshot's outcomes of this server's agents in the metrics (a fleet snapshot's origin). */
  noteStored(outcomes: readonly ProcessOutcome[], seconds: number, paused: boolean): void {
    this.opts.onStored?.(outcomes, seconds, paused);
  }

  /** Routes an agent's `prepared` to its request (unknown request ids are ignored). */
  prepared(agentId: string, msg: PreparedMessage): void {
    this.runs.get(String(msg.requestId))?.prepared(agentId, msg);
  }

  /** Routes an agent's `prepare-progress` to its run. */
  prepareProgress(agentId: string, msg: PrepareProgressMessage): void {
    this.runs.get(String(msg.requestId))?.prepareProgress(agentId, msg);
  }

  /** Routes an agent's `captured` to its request (unknown request ids are ignored). */
  captured(agentId: string, msg: CapturedMessage): void {
    this.runs.get(String(msg.requestId))?.captured(agentId, msg);
  }

  private unresponsiveMessage(agentId: string): string | undefined {
    const since = this.registry.unresponsiveSince(agentId);
    if (!since) return undefined;
    const s = ((Date.now() - since.getTime()) / 1000).toFixed(1);
    return (
      `the agent has not answered heartbeats since ${since.toISOString()} (${s} s): it is connected but ` +
      "hung or stopped; see `periscope agents` and the agent's log"
    );
  }

  /** Requests in flight. */
  inFlight(): number {
    return this.runs.size;
  }

  private save(outcomes: readonly ProcessOutcome[], req: SnapshotRequest, specText: string): Promise<number> {
    const { processes, failed } = outcomeInput(outcomes);
    // One write at a time: the embedded store has a single writer.
    const next = this.storing.then(() =>
      this.store.addSnapshot({ processes, failed, labels: req.labels, specText }),
    );
    this.storing = next.catch(() => undefined);
    return next;
  }
}

/**
 * Stores outcomes with `save`; when that fails, finds the processes whose rows cannot be
 * written (damaged values the shape check let through: `Store.processProblem`), fails them
 * alone with an INTERNAL error saying why, and saves the rest (a failed save stored nothing).
 * Fails as `save` did when no single process is the cause, or at once when `rowsFailed` says
 * the failure was not the rows'. The embedded store's snapshots and every server's part of a
 * fleet snapshot (fleet-snapshot.ts) go through it.
 */
export async function saveFailingUnstorable<T>(
  store: Pick<Store, 'processProblem'>,
  outcomes: ProcessOutcome[],
  save: (outcomes: ProcessOutcome[]) => Promise<T>,
  rowsFailed: (e: unknown) => boolean = () => true,
): Promise<{ stored: T; outcomes: ProcessOutcome[] }> {
  try {
    return { stored: await save(outcomes), outcomes };
  } catch (e) {
    // A failure that is not the rows' (an object store away) fails at once: each process's
    // check costs a scratch database.
    if (!rowsFailed(e)) throw e;
    const damaged = new Map<ProcessOutcome, string>();
    for (const o of outcomes) {
      if (!o.snapshot) continue;
      const problem = await store.processProblem({
        hostname: o.target.process.hostname,
        snapshot: o.snapshot,
      });
      if (problem) damaged.set(o, problem);
    }
    if (damaged.size === 0) throw e;
    const rest = outcomes.map((o): ProcessOutcome => {
      const problem = damaged.get(o);
      if (!problem) return o;
      const { snapshot: _dropped, ...kept } = o;
      return {
        ...kept,
        error: { kind: 'INTERNAL', message: `the agent sent a snapshot that cannot be stored: ${problem}` },
      };
    });
    return { stored: await save(rest), outcomes: rest };
  }
}

/** The store's input for a run's outcomes: the captured processes and the failed ones with their errors. */
export function outcomeInput(outcomes: readonly ProcessOutcome[]): {
  processes: StoredProcessInput[];
  failed: FailedProcessInput[];
} {
  const processes: StoredProcessInput[] = [];
  const failed: FailedProcessInput[] = [];
  for (const o of outcomes) {
    const p = o.target.process;
    const program = p.programs[0];
    if (o.snapshot)
      processes.push({ hostname: p.hostname, ...(program ? { program } : {}), snapshot: o.snapshot });
    else
      failed.push({
        hostname: p.hostname,
        pid: p.pid,
        executable: p.executable,
        ...(program ? { program } : {}),
        error: `${o.error?.kind ?? 'INTERNAL'}: ${o.error?.message ?? 'unknown'}`,
      });
  }
  return { processes, failed };
}

function skew(outcomes: readonly ProcessOutcome[]): number {
  const starts = outcomes.flatMap((o) => (o.snapshot && o.startedAt !== undefined ? [o.startedAt] : []));
  return starts.length < 2 ? 0 : Math.max(...starts) - Math.min(...starts);
}

/** What a fleet snapshot's answer says of one process. */
export function result(o: ProcessOutcome): ProcessResult {
  const p = o.target.process;
  return {
    key: p.key,
    agentId: o.target.agentId,
    hostname: p.hostname,
    pid: p.pid,
    // The name the store's `processes` table gives it: the first program rule, else the base
    // name of the executable (the snapshot's when captured).
    program: p.programs[0] ?? basename(o.snapshot?.executable ?? p.executable),
    executable: p.executable,
    ok: o.snapshot !== undefined,
    ...(o.error ? { error: o.error } : {}),
    ...(o.startedAt !== undefined ? { startedAt: new Date(o.startedAt).toISOString() } : {}),
    ...(o.snapshot ? { pauseNs: o.snapshot.pauseNs, goroutines: o.snapshot.goroutines.length } : {}),
    ...(o.snapshot?.captureErrors?.length ? { captureErrors: o.snapshot.captureErrors.length } : {}),
  };
}
