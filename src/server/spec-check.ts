/**
 * Asking the agents whether a new spec fits their binaries, before it becomes current: one
 * `check-spec` to every connected agent (with the stored snapshots' binaries that ran on its
 * host), then every `spec-checked` collected until all answered or the time is up. An agent
 * the heartbeats already know to be unresponsive is not asked (it would only hold the request
 * for the whole wait), and one that becomes unresponsive or goes while it is waited for is no
 * longer waited for; both are reported as not checked. With servers sharing PostgreSQL, the
 * agents of the other servers are asked too, through their servers (fleet-asks.ts): each
 * asks its own agents as here and answers with what they said; a server that dies or does
 * not answer in time has its agents reported as not checked, naming it. An agent that reports
 * progress (its capture thread loading a large binary on a busy machine) is waited for as a
 * snapshot's prepare is (agent-progress.ts). What the answers mean is spec-report.ts's job.
 */
import { randomBytes } from 'node:crypto';
import type { AgentView, ProcessView } from '../api/responses.js';
import type { PrepareProgressMessage, SpecCheckedMessage, StoredBinaryRef } from '../protocol/messages.js';
import type { StoredBinary } from '../store/store.js';
import { AgentProgress, type ProgressBounds, progressEveryMs, type WorkWords } from './agent-progress.js';
import { ASK_SLACK_MS, type FleetAsks } from './fleet-asks.js';
import type { FleetView } from './fleet-view.js';
import type { Registry } from './registry.js';

/** One agent asked, with its processes at the time and its answer (undefined: none in time). */
export interface AgentAnswer {
  readonly agent: AgentView;
  readonly processes: readonly ProcessView[];
  readonly answer?: SpecCheckedMessage;
  /**
   * Why it was not waited for: `unresponsive` (heartbeats unanswered), `gone` (disconnected),
   * `server` (the other server it is connected to did not answer: `serverNote` says why).
   */
  readonly lost?: Lost;
  readonly serverNote?: string;
  /** Without an answer: why the wait for it was given up (which bound, which flag to raise). */
  readonly waitNote?: string;
}

/** Why an agent's answer was not waited for. */
export type Lost = 'unresponsive' | 'gone' | 'server';

/** The question another server's agents are asked. */
interface CheckQuestion {
  readonly spec: string;
  readonly source: string;
  readonly stored: readonly StoredBinary[];
}

interface Pending {
  readonly answers: Map<string, SpecCheckedMessage | Lost | undefined>;
  /** Each asked agent's progress on the check. */
  readonly progress: Map<string, AgentProgress>;
  readonly done: () => void;
}

/** How the give-up of a spec check is worded. */
const CHECK_WORDS: WorkWords = {
  noun: 'spec check',
  doing: 'checking the spec',
  again: 'The agent keeps the binaries it loaded: set the spec again',
};

/** The spec checks in flight, and the routing of agents' answers to them. */
export class SpecChecks {
  private readonly pending = new Map<string, Pending>();
  private fleet: { readonly asks: FleetAsks; readonly view: FleetView } | undefined;

  constructor(
    private readonly registry: Registry,
    /** How long to wait for the agents (they may have to load large binaries first). */
    private readonly bounds: ProgressBounds,
  ) {
    registry.onUnresponsive((agentId) => this.lose(agentId, 'unresponsive'));
    registry.onDisconnect((agentId) => this.lose(agentId, 'gone'));
  }

  /** Lets checks reach the agents of other servers (scaled-out store), and answers theirs. */
  attachFleet(asks: FleetAsks, view: FleetView): void {
    this.fleet = { asks, view };
    asks.handle('check-spec', async (q) => {
      const { spec, source, stored } = q as CheckQuestion;
      if (typeof spec !== 'string' || typeof source !== 'string' || !Array.isArray(stored))
        throw new Error('malformed check-spec question');
      return this.askHere(spec, source, stored);
    });
  }

  /** Sends the spec to every agent of the fleet and resolves with each one's answer (or none). */
  async ask(spec: string, source: string, stored: readonly StoredBinary[]): Promise<AgentAnswer[]> {
    const fleet = this.fleet;
    const servers = fleet?.view.remoteServers().filter((s) => s.agents.length > 0) ?? [];
    if (!fleet || servers.length === 0) return this.askHere(spec, source, stored);
    const question: CheckQuestion = { spec, source, stored };
    const [here, there] = await Promise.all([
      this.askHere(spec, source, stored),
      fleet.asks.ask(
        'check-spec',
        question,
        servers.map((s) => s.serverId),
        this.bounds.maxMs + ASK_SLACK_MS,
      ),
    ]);
    const seen = new Set(here.map((a) => a.agent.id));
    const out = [...here];
    for (const reply of there) {
      const server = servers.find((s) => s.serverId === reply.serverId);
      const answers = Array.isArray(reply.answer) ? reply.answer.filter(isAgentAnswer) : undefined;
      if (answers) {
        for (const a of answers) if (!seen.has(a.agent.id)) out.push(a);
        continue;
      }
      const why = reply.lost ?? `server ${reply.serverId} could not check: ${errorText(reply.answer)}`;
      for (const a of server?.agents ?? [])
        if (!seen.has(a.view.id))
          out.push({
            agent: a.view,
            processes: a.processes.map((p) => ({ ...p, agentId: a.view.id })),
            lost: 'server',
            serverNote: why,
          });
    }
    return out;
  }

  /** Sends the spec to every agent connected to this server and resolves with each one's answer (or none). */
  async askHere(spec: string, source: string, stored: readonly StoredBinary[]): Promise<AgentAnswer[]> {
    const requestId = `check-${randomBytes(6).toString('hex')}`;
    const all = this.registry.processes({ text: '', terms: [] });
    const asked: { agent: AgentView; processes: ProcessView[] }[] = [];
    const answers = new Map<string, SpecCheckedMessage | Lost | undefined>();
    for (const agent of this.registry.agents()) {
      const conn = agent.connected ? this.registry.connection(agent.id) : undefined;
      if (!conn) continue;
      if (agent.state === 'unresponsive') {
        answers.set(agent.id, 'unresponsive');
        asked.push({ agent, processes: all.filter((p) => p.agentId === agent.id) });
        continue;
      }
      const here: StoredBinaryRef[] = stored.flatMap((b) =>
        b.buildId && b.hostnames.includes(agent.hostname)
          ? [{ buildId: b.buildId, executable: b.executable }]
          : [],
      );
      const progressMs = progressEveryMs(this.bounds.idleMs);
      if (
        !conn.send({
          type: 'check-spec',
          requestId,
          spec,
          source,
          ...(here.length ? { stored: here } : {}),
          progressMs,
        })
      )
        continue;
      answers.set(agent.id, undefined);
      asked.push({ agent, processes: all.filter((p) => p.agentId === agent.id) });
    }
    const t0 = performance.now();
    const progress = new Map([...answers.keys()].map((id) => [id, new AgentProgress(this.bounds, t0)]));
    const waiting = () => [...answers].flatMap(([id, a]) => (a === undefined ? [id] : []));
    // Until every agent answered, or went idleMs without progress, or maxMs passed.
    while (waiting().length > 0) {
      const next = Math.max(...waiting().map((id) => progress.get(id)?.deadline ?? t0));
      if (next <= performance.now()) break;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.pending.set(requestId, { answers, progress, done: resolve });
        timer = setTimeout(resolve, next - performance.now());
      });
      clearTimeout(timer);
    }
    this.pending.delete(requestId);
    const now = performance.now();
    return asked.map(({ agent, processes }) => {
      const answer = answers.get(agent.id);
      const waitNote = progress.get(agent.id)?.giveUpText(CHECK_WORDS, now);
      if (answer === undefined) return { agent, processes, ...(waitNote ? { waitNote } : {}) };
      return typeof answer === 'string' ? { agent, processes, lost: answer } : { agent, processes, answer };
    });
  }

  /** Handles an agent's `prepare-progress` for a check: a change of its CPU time moves its deadline. */
  progress(agentId: string, msg: PrepareProgressMessage): void {
    this.pending.get(String(msg.requestId))?.progress.get(agentId)?.report(msg);
  }

  /** Routes an agent's `spec-checked` to its check (unknown or late answers are ignored). */
  answered(agentId: string, msg: SpecCheckedMessage): void {
    const p = this.pending.get(String(msg.requestId));
    if (!p?.answers.has(agentId) || !Array.isArray(msg.binaries)) return;
    if (p.answers.get(agentId) !== undefined) return;
    p.answers.set(agentId, msg);
    if ([...p.answers.values()].every((a) => a !== undefined)) p.done();
  }

  /** Stops waiting for an agent that became unresponsive or went away. */
  private lose(agentId: string, why: Lost): void {
    for (const p of this.pending.values()) {
      if (!p.answers.has(agentId) || p.answers.get(agentId) !== undefined) continue;
      p.answers.set(agentId, why);
      if ([...p.answers.values()].every((a) => a !== undefined)) p.done();
    }
  }

  /** How long a check waits for an agent that reports no progress, ms. */
  get waitMs(): number {
    return this.bounds.idleMs;
  }
}

/** Whether another server's answer entry has the shape of an AgentAnswer (it is input). */
function isAgentAnswer(a: unknown): a is AgentAnswer {
  const x = a as AgentAnswer | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.agent?.id === 'string' &&
    typeof x.agent.hostname === 'string' &&
    Array.isArray(x.processes)
  );
}

function errorText(answer: unknown): string {
  const e = (answer as { error?: { message?: unknown } } | null)?.error;
  return typeof e?.message === 'string' ? e.message : 'no answer';
}
