/**
 * Asking the agents whether a new spec fits their binaries, before it becomes current: one
 * `check-spec` to every connected agent (with the stored snapshots' binaries that ran on its
 * host), then every `spec-checked` collected until all answered or the time is up. What the
 * answers mean is spec-report.ts's job.
 */
import { randomBytes } from 'node:crypto';
import type { AgentView, ProcessView } from '../api/responses.js';
import type { SpecCheckedMessage, StoredBinaryRef } from '../protocol/messages.js';
import type { StoredBinary } from '../store/store.js';
import type { Registry } from './registry.js';

/** One agent asked, with its processes at the time and its answer (undefined: none in time). */
export interface AgentAnswer {
  readonly agent: AgentView;
  readonly processes: readonly ProcessView[];
  readonly answer?: SpecCheckedMessage;
}

interface Pending {
  readonly answers: Map<string, SpecCheckedMessage | undefined>;
  readonly done: () => void;
}

/** The spec checks in flight, and the routing of agents' answers to them. */
export class SpecChecks {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly registry: Registry,
    /** How long to wait for the agents (they may have to load large binaries first). */
    private readonly timeoutMs: number,
  ) {}

  /** Sends the spec to every connected agent and resolves with each one's answer (or none). */
  async ask(spec: string, source: string, stored: readonly StoredBinary[]): Promise<AgentAnswer[]> {
    const requestId = `check-${randomBytes(6).toString('hex')}`;
    const all = this.registry.processes({ text: '', terms: [] });
    const asked: { agent: AgentView; processes: ProcessView[] }[] = [];
    const answers = new Map<string, SpecCheckedMessage | undefined>();
    for (const agent of this.registry.agents()) {
      const conn = agent.connected ? this.registry.connection(agent.id) : undefined;
      if (!conn) continue;
      const here: StoredBinaryRef[] = stored.flatMap((b) =>
        b.buildId && b.hostnames.includes(agent.hostname)
          ? [{ buildId: b.buildId, executable: b.executable }]
          : [],
      );
      if (
        !conn.send({ type: 'check-spec', requestId, spec, source, ...(here.length ? { stored: here } : {}) })
      )
        continue;
      answers.set(agent.id, undefined);
      asked.push({ agent, processes: all.filter((p) => p.agentId === agent.id) });
    }
    if (asked.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.pending.set(requestId, { answers, done: resolve });
        timer = setTimeout(resolve, this.timeoutMs);
      });
      clearTimeout(timer);
      this.pending.delete(requestId);
    }
    return asked.map(({ agent, processes }) => {
      const answer = answers.get(agent.id);
      return answer ? { agent, processes, answer } : { agent, processes };
    });
  }

  /** Routes an agent's `spec-checked` to its check (unknown or late answers are ignored). */
  answered(agentId: string, msg: SpecCheckedMessage): void {
    const p = this.pending.get(String(msg.requestId));
    if (!p?.answers.has(agentId) || !Array.isArray(msg.binaries)) return;
    p.answers.set(agentId, msg);
    if ([...p.answers.values()].every((a) => a !== undefined)) p.done();
  }

  /** How long a check waits for the agents, ms. */
  get waitMs(): number {
    return this.timeoutMs;
  }
}
