/**
 * Asking an agent for a function's lines and the variables live at each (the Spec view):
 * one `describe-function` to an agent that runs the binary (else one on a host where a
 * stored snapshot's process ran it, which may still have the file), its answer routed back.
 * The server keeps no binaries, so a binary no connected agent can reach is not described.
 * Only an agent whose hello lists the `describe-function` capability is asked: an older one
 * ignores the question, so when only such agents have the binary the answer says so at once.
 * With servers sharing PostgreSQL, when no agent of this server can reach the binary, the
 * server of one that can is asked (fleet-asks.ts) and its answer, or its refusal, passed on.
 * An agent that reports progress (loading a large binary on a busy machine) is waited for as a
 * snapshot's prepare is (agent-progress.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FunctionParams } from '../api/requests.js';
import type { FunctionDescribedMessage, PrepareProgressMessage } from '../protocol/messages.js';
import type { FunctionLines } from '../snapshot/function-lines.js';
import type { StoredBinary } from '../store/store.js';
import { AgentProgress, type ProgressBounds, progressEveryMs, type WorkWords } from './agent-progress.js';
import { ASK_SLACK_MS, answerHttpError, type FleetAsks, isAnswerError } from './fleet-asks.js';
import type { FleetView } from './fleet-view.js';
import { HttpError } from './http-errors.js';
import type { Registry } from './registry.js';

type Answer = (msg: FunctionDescribedMessage | undefined) => void;

/** How the give-up of a description is worded. */
const DESCRIBE_WORDS: WorkWords = {
  noun: 'function description',
  doing: 'describing the function',
  again: 'The agent keeps the binary it loaded: ask again',
};

/** The function descriptions in flight, and the routing of agents' answers to them. */
export class FunctionDescriptions {
  private readonly pending = new Map<
    string,
    { agentId: string; answer: Answer; progress: AgentProgress; wake: () => void }
  >();
  private fleet: { readonly asks: FleetAsks; readonly view: FleetView } | undefined;

  constructor(
    private readonly registry: Registry,
    /** How long to wait for the agent (it may have to load a large binary first). */
    private readonly bounds: ProgressBounds,
  ) {}

  /** Lets descriptions come from the agents of other servers (scaled-out store), and answers theirs. */
  attachFleet(asks: FleetAsks, view: FleetView): void {
    this.fleet = { asks, view };
    asks.handle('describe-function', async (q) => {
      const { params, stored } = q as { params?: FunctionParams; stored?: StoredBinary[] };
      if (
        typeof params?.buildId !== 'string' ||
        typeof params.function !== 'string' ||
        !Array.isArray(stored)
      )
        throw new Error('malformed describe-function question');
      return this.askHere(params, stored);
    });
  }

  /**
   * Asks one agent that can reach the binary: this server's, else (scaled-out) another
   * server's through that server; an HttpError says why there is no answer.
   */
  async ask(
    q: FunctionParams,
    stored: readonly StoredBinary[],
  ): Promise<{ agentId: string; lines: FunctionLines }> {
    // This server's agents first: another server is asked only when none of them can reach the binary.
    const server = this.fleet && this.reach(q, stored).length === 0 ? this.serverFor(q, stored) : undefined;
    if (!server || !this.fleet) return this.askHere(q, stored);
    const [reply] = await this.fleet.asks.ask(
      'describe-function',
      { params: q, stored },
      [server],
      this.bounds.maxMs + ASK_SLACK_MS,
    );
    if (!reply || reply.lost)
      throw new HttpError(504, 'timeout', reply?.lost ?? `server ${server} did not answer`);
    if (isAnswerError(reply.answer)) throw answerHttpError(reply.answer, server);
    const a = reply.answer as { agentId?: unknown; lines?: unknown } | null;
    if (typeof a?.agentId !== 'string' || typeof a.lines !== 'object' || a.lines === null)
      throw new HttpError(502, 'internal', `server ${server} sent a malformed description of ${q.function}`);
    return { agentId: a.agentId, lines: a.lines as FunctionLines };
  }

  /** Another live server one of whose agents runs the binary, else one on a host that ran it. */
  private serverFor(q: FunctionParams, stored: readonly StoredBinary[]): string | undefined {
    const servers = this.fleet?.view.remoteServers() ?? [];
    const running = servers.find((s) =>
      s.agents.some((a) => a.processes.some((p) => p.buildId === q.buildId)),
    );
    if (running) return running.serverId;
    const old = stored.find((b) => b.buildId === q.buildId);
    return old
      ? servers.find((s) => s.agents.some((a) => old.hostnames.includes(a.view.hostname)))?.serverId
      : undefined;
  }

  /** Asks one agent of this server that can reach the binary; an HttpError says why there is no answer. */
  async askHere(
    q: FunctionParams,
    stored: readonly StoredBinary[],
  ): Promise<{ agentId: string; lines: FunctionLines }> {
    const { agentId, executable } = this.agentFor(q, stored);
    const conn = this.registry.connection(agentId);
    const requestId = `describe-${randomBytes(6).toString('hex')}`;
    const progress = new AgentProgress(this.bounds);
    let timer: NodeJS.Timeout | undefined;
    const msg = await new Promise<FunctionDescribedMessage | undefined>((resolve) => {
      // Until it answers, or went idleMs without progress, or maxMs passed (a report moves the timer).
      const wake = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve(undefined), Math.max(0, progress.deadline - performance.now()));
      };
      this.pending.set(requestId, { agentId, answer: resolve, progress, wake });
      wake();
      if (
        !conn?.send({
          type: 'describe-function',
          requestId,
          buildId: q.buildId,
          executable,
          function: q.function,
          progressMs: progressEveryMs(this.bounds.idleMs),
        })
      )
        resolve(undefined);
    });
    clearTimeout(timer);
    this.pending.delete(requestId);
    if (!msg)
      throw new HttpError(
        504,
        'timeout',
        `agent ${agentId} did not describe ${q.function}: ${progress.giveUpText(DESCRIBE_WORDS)}`,
      );
    if (!msg.lines || typeof msg.lines !== 'object')
      throw new HttpError(404, 'not-found', `agent ${agentId}: ${String(msg.error ?? 'no answer')}`);
    return { agentId, lines: msg.lines };
  }

  /** Handles an agent's `prepare-progress` for a description: a change of its CPU time moves its deadline. */
  progress(agentId: string, msg: PrepareProgressMessage): void {
    const p = this.pending.get(String(msg.requestId));
    if (p?.agentId !== agentId) return;
    p.progress.report(msg);
    p.wake();
  }

  /** Routes an agent's `function-described` to its question (unknown, late or foreign answers are ignored). */
  answered(agentId: string, msg: FunctionDescribedMessage): void {
    const p = this.pending.get(String(msg.requestId));
    if (p?.agentId === agentId) p.answer(msg);
  }

  /** This server's agents that can reach the binary: those that run it, then those on a host that ran it. */
  private reach(
    q: FunctionParams,
    stored: readonly StoredBinary[],
  ): { agentId: string; executable: string }[] {
    const { buildId } = q;
    const running = this.registry
      .processes({ text: '', terms: [] })
      .filter((p) => p.buildId === buildId && this.registry.connection(p.agentId))
      .map((p) => ({ agentId: p.agentId, executable: p.executable }));
    const old = stored.find((b) => b.buildId === buildId);
    const ran = old
      ? this.registry
          .agents()
          .filter((a) => a.connected && old.hostnames.includes(a.hostname))
          .map((a) => ({ agentId: a.id, executable: old.executable }))
      : [];
    return [...running, ...ran];
  }

  /** The first agent that can describe the binary's function: one that runs it, else one on a host that ran it. */
  private agentFor(
    q: FunctionParams,
    stored: readonly StoredBinary[],
  ): { agentId: string; executable: string } {
    const reach = this.reach(q, stored);
    const able = reach.find((c) => this.registry.can(c.agentId, 'describe-function'));
    if (able) return able;
    if (reach.length === 0)
      throw new HttpError(
        404,
        'not-found',
        `no connected agent runs or ran a binary with build ID ${q.buildId}; start a process of it where an agent watches`,
      );
    const which = [...new Set(reach.map((c) => c.agentId))].map(
      (id) => `agent ${id} runs Periscope ${this.registry.versionOf(id) ?? '?'}`,
    );
    const one = which.length === 1;
    throw new HttpError(
      409,
      'conflict',
      `${which.join(', ')}, which cannot describe functions (${one ? 'its hello lists' : 'their hellos list'} no describe-function capability); upgrade ${one ? 'it' : 'them'} to see ${q.function} of build ID ${q.buildId}`,
    );
  }
}
