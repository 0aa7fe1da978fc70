/**
 * How long the server waits for an agent's work that may first have to load a large binary —
 * a snapshot's prepare, a spec check, a function description — when the agent reports its
 * progress (`prepare-progress`: the CPU time its capture thread has had, every `progressMs`):
 * `idleMs` (--prepare-timeout) after the last report whose CPU time moved, or after the request
 * for an agent that reports none (agents before the reports); at most `maxMs`
 * (--prepare-max-wait) after the request. One tracker per agent and request.
 */
import type { PrepareProgressMessage } from '../protocol/messages.js';

/** The bounds of a wait, ms: without progress (--prepare-timeout), and in all (--prepare-max-wait). */
export interface ProgressBounds {
  readonly idleMs: number;
  readonly maxMs: number;
}

/** The bounds from the server's options: the hard bound never shorter than the idle one. */
export function progressBounds(idleMs: number, maxMs?: number): ProgressBounds {
  return { idleMs, maxMs: Math.max(idleMs, maxMs ?? idleMs) };
}

/** How often agents are asked to report progress: 4 reports per idle wait, 100 ms to 5 s apart. */
export function progressEveryMs(idleMs: number): number {
  return Math.max(100, Math.min(5000, Math.round(idleMs / 4)));
}

/** How the give-up text names the work: `prepare`, `preparing`, and what to do after it. */
export interface WorkWords {
  /** `prepare`, `spec check`. */
  readonly noun: string;
  /** `preparing`, `checking the spec`. */
  readonly doing: string;
  /** What the user may do once the agent has finished: `The agent finishes the prepare and keeps it: snapshot again`. */
  readonly again: string;
}

/** One agent's progress on one request, and when the server stops waiting for it. */
export class AgentProgress {
  /** performance.now() of the request, and of the last report whose CPU time moved. */
  private at: number;
  /** CPU time of the first report and of the last, ms; undefined before any report. */
  private firstCpuMs: number | undefined;
  private cpuMs = 0;

  constructor(
    private readonly bounds: ProgressBounds,
    private readonly t0 = performance.now(),
  ) {
    this.at = t0;
  }

  /** Takes a report (a malformed one changes nothing): a change of its CPU time moves the deadline. */
  report(msg: Pick<PrepareProgressMessage, 'cpuMs'>): void {
    const cpuMs = msg.cpuMs;
    if (typeof cpuMs !== 'number' || !Number.isFinite(cpuMs)) return;
    if (this.firstCpuMs === undefined) {
      this.firstCpuMs = cpuMs;
      this.at = performance.now();
    } else if (cpuMs !== this.cpuMs) this.at = performance.now();
    this.cpuMs = cpuMs;
  }

  /** When the server stops waiting (a performance.now() time). */
  get deadline(): number {
    return Math.min(this.t0 + this.bounds.maxMs, this.at + this.bounds.idleMs);
  }

  /** Why the wait was given up: which bound it hit, and which flag to raise. */
  giveUpText(w: WorkWords, now = performance.now()): string {
    const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
    const waitedMs = now - this.t0;
    if (this.firstCpuMs === undefined)
      return (
        `no answer to ${w.noun} within ${s(waitedMs)} and no report of progress (the agent is stuck, ` +
        `stopped, or of a version that does not report progress): raise the server's --prepare-timeout ` +
        `(now ${this.bounds.idleMs} ms), or upgrade the agent so that it reports progress`
      );
    const cpu = `its capture thread got ${Math.round(this.cpuMs - this.firstCpuMs)} ms of CPU`;
    // Which bound the deadline was: decided from the bounds, not from the clock at the timer's
    // firing (Node's timers can fire a millisecond or two before the time asked for).
    if (this.t0 + this.bounds.maxMs <= this.at + this.bounds.idleMs)
      return (
        `the agent was still ${w.doing} after ${s(waitedMs)} (--prepare-max-wait, now ${this.bounds.maxMs} ms), ` +
        `and ${cpu} from its first report of progress on: the binary is large or the machine too busy. ` +
        `${w.again}, or raise --prepare-max-wait`
      );
    return (
      `the agent's ${w.noun} made no progress (no CPU) for ${s(now - this.at)} (before that ${cpu} ` +
      `in ${s(waitedMs)}): it may be stuck reading the process or its binary (the agent's log says ` +
      `more); raise the server's --prepare-timeout (now ${this.bounds.idleMs} ms) if it is only slow`
    );
  }
}
