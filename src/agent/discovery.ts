/**
 * Discovery of the Go processes on this machine, labelled and matched against the spec's
 * program rules. The work runs on a thread of its own (discovery.worker.ts): the kernel
 * tells it of every exec and exit (the proc connector), an exec has that one pid looked at,
 * an exit drops it; a listing of /proc every `checkMs`, a full pass every `rescanMs` and one
 * at once when the kernel reports dropped events (an overrun) are the safety net. Where the connector cannot be used (no CAP_NET_ADMIN before
 * Linux 6.6, not in the initial PID and user namespaces, switched off), the thread polls
 * /proc: a listing every `quickMs` (new and gone pids) and a full pass every `intervalMs`.
 * What is known is kept per pid and per executable identity (process-table.ts), so a pid
 * costs nothing until it changes, and this thread hears only of changes to the list of Go
 * processes. Where no thread can be started, the same passes run on this thread.
 */
import type { ProcessDescription } from '../protocol/messages.js';
import type { ProgramSpec } from '../spec/spec-types.js';
import { DiscoveryThread } from './discovery-thread.js';
import { type CompiledProgram, compilePrograms, matchPrograms } from './labels.js';
import { COUNTERS, Counter, type GoProcess, ProcessWatch } from './process-watch.js';

export { statFacts } from './process-table.js';

/** How discovery runs. */
export interface DiscoveryOptions {
  /** This machine's name (the agent's --hostname): part of every process key. */
  readonly node: string;
  /** Environment variables whose values become `env.NAME` labels. */
  readonly envAllow: readonly string[];
  /** Learn of new processes from the kernel's process events where it allows (default true); false: poll /proc. */
  readonly procEvents?: boolean;
  /**
   * With process events, the safety net: a full pass over /proc (every pid re-checked) every
   * this many ms (default 600000; ~20 ms of CPU at 500 processes), and at once when the
   * kernel reports lost events.
   */
  readonly rescanMs?: number;
  /** With process events, the safety net: a listing of /proc (new and gone pids; ~1 ms at 500) every this many ms (default 60000). */
  readonly checkMs?: number;
  /**
   * With process events: after a batch, wait this long for more before the next (default
   * 1000). A busy machine's churn (thread exits, mostly) then costs one wake-up a second;
   * the first event after a quiet spell is handled at once.
   */
  readonly coalesceMs?: number;
  /** With process events: the socket's receive buffer in bytes (default 4 MiB; tests make it tiny to cause overruns). */
  readonly rcvbuf?: number;
  /** Polling: a full pass every this many ms (default 2000). */
  readonly intervalMs?: number;
  /** Polling: look for new and exited pids every this many ms (default 250). */
  readonly quickMs?: number;
  /** Agent-local rules (--match): a process must match all of them to be reported at all. */
  readonly localMatch?: Readonly<Record<string, string>>;
  /** Called with the reported processes whenever that list changes. */
  readonly onChange?: (processes: readonly ProcessDescription[]) => void;
  /** One line when the way discovery works is settled or changes. */
  readonly log?: (line: string) => void;
}

/** How discovery works: before start, waiting for the kernel's answer, on events, polling, stopped. */
export type DiscoveryMode = 'idle' | 'starting' | 'events' | 'polling' | 'stopped';

/** Counters, for tests and the benchmark. */
export interface DiscoveryStats {
  readonly mode: DiscoveryMode;
  /** Where the work runs: its own thread, or the agent's main thread (no thread could be started). */
  readonly thread: 'own' | 'main';
  readonly fullPasses: number;
  readonly quickPasses: number;
  readonly execEvents: number;
  readonly exitEvents: number;
  readonly overruns: number;
  /** Pids known (every live one, Go or not, kernel threads included). */
  readonly known: number;
  /** Processes examined (executable identified), and Go binaries read (each once). */
  readonly examined: number;
  readonly binariesRead: number;
}

/** After a batch of events, wait this long for more before the next one. */
const COALESCE_MS = 1000;
const RESCAN_MS = 600_000;
const CHECK_MS = 60_000;

/** Discovers, labels and matches the Go processes of this machine. */
export class Discovery {
  private readonly localCounters = new Int32Array(COUNTERS);
  /** The passes on this thread: for tests (scan) and where no thread can be started. */
  private readonly local: ProcessWatch;
  private thread: DiscoveryThread | undefined;
  private programs: CompiledProgram[] = [];
  private go: readonly GoProcess[] = [];
  private reported: ProcessDescription[] = [];
  private signature = '';
  private timers: NodeJS.Timeout[] = [];
  private state: DiscoveryMode = 'idle';

  constructor(private readonly opts: DiscoveryOptions) {
    this.local = new ProcessWatch(
      { node: opts.node, envAllow: opts.envAllow, localMatch: opts.localMatch, self: process.pid },
      this.localCounters,
    );
  }

  /**
   * Lists the processes now, on this thread, then watches from the discovery thread until
   * stop(). The first list is there when start() returns: the agent's first report to the
   * server, and the requests that follow it, must not wait for the thread to start and
   * subscribe (tens of ms to 2 s); the thread's own first list replaces it.
   */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'starting';
    this.scan(true);
    const { opts } = this;
    try {
      this.thread = DiscoveryThread.start(
        {
          watch: { node: opts.node, envAllow: opts.envAllow, localMatch: opts.localMatch, self: process.pid },
          events: opts.procEvents !== false,
          rescanMs: opts.rescanMs ?? RESCAN_MS,
          checkMs: opts.checkMs ?? CHECK_MS,
          intervalMs: opts.intervalMs ?? 2000,
          quickMs: opts.quickMs ?? 250,
          coalesceMs: opts.coalesceMs ?? COALESCE_MS,
          ...(opts.rcvbuf === undefined ? {} : { rcvbuf: opts.rcvbuf }),
        },
        {
          mode: (mode, reason) => this.settled(mode, reason),
          list: (processes) => this.received(processes),
          failed: (reason) => this.onThisThread(`the discovery thread stopped (${reason})`),
        },
      );
    } catch (e) {
      this.onThisThread(`no discovery thread (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /** Stops watching. */
  stop(): void {
    this.state = 'stopped';
    this.thread?.close();
    this.thread = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Uses the spec's program rules from now on (none: report every Go process). */
  setPrograms(programs: readonly ProgramSpec[]): void {
    this.programs = compilePrograms(programs);
    this.publish();
  }

  /** The processes reported to the server right now. */
  processes(): readonly ProcessDescription[] {
    return this.reported;
  }

  /**
   * The pid, start time and matching program rules behind a reported key, or undefined when it
   * is not (or no longer) reported.
   */
  lookup(key: string): { pid: number; startTime: number; programs: readonly string[] } | undefined {
    const d = this.reported.find((p) => p.key === key);
    if (!d) return undefined;
    const g = this.go.find((p) => p.base.key === key);
    return g ? { pid: g.base.pid, startTime: g.startTime, programs: d.programs } : undefined;
  }

  /** Go binaries read so far (each once). */
  get binariesRead(): number {
    return this.stats().binariesRead;
  }

  /** How discovery works now and what it has done. */
  stats(): DiscoveryStats {
    const c = this.thread?.counters ?? this.localCounters;
    const at = (i: number): number => Atomics.load(c, i);
    return {
      mode: this.state,
      thread: this.thread ? 'own' : 'main',
      fullPasses: at(Counter.FULL_PASSES),
      quickPasses: at(Counter.QUICK_PASSES),
      execEvents: at(Counter.EXEC_EVENTS),
      exitEvents: at(Counter.EXIT_EVENTS),
      overruns: at(Counter.OVERRUNS),
      known: at(Counter.KNOWN),
      examined: at(Counter.EXAMINED),
      binariesRead: at(Counter.BINARIES_READ),
    };
  }

  /**
   * One pass over /proc on this thread (quick: new and gone pids; full: every known pid
   * re-checked); for tests, and the work of discovery where no thread can be started.
   */
  scan(full: boolean): void {
    this.local.scan(full);
    const list = this.local.changedList();
    if (list) this.received(list);
  }

  private settled(mode: 'events' | 'polling', reason?: string): void {
    if (this.state === 'stopped') return;
    this.state = mode;
    const { opts } = this;
    if (mode === 'events')
      opts.log?.(
        `discovery: kernel process events (proc connector); a listing of /proc every ${(opts.checkMs ?? CHECK_MS) / 1000} s and a full pass every ${(opts.rescanMs ?? RESCAN_MS) / 1000} s, at once when the kernel reports lost events`,
      );
    else
      opts.log?.(
        `discovery: ${reason}; polling /proc every ${opts.quickMs ?? 250} ms, a full pass every ${(opts.intervalMs ?? 2000) / 1000} s`,
      );
  }

  private onThisThread(why: string): void {
    if (this.state === 'stopped') return;
    this.thread = undefined;
    this.state = 'polling';
    const quick = this.opts.quickMs ?? 250;
    const full = this.opts.intervalMs ?? 2000;
    this.opts.log?.(`discovery: ${why}; polling /proc on the main thread every ${quick} ms`);
    this.scan(true);
    this.every(full, () => this.scan(true));
    this.every(quick, () => this.scan(false));
  }

  private every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    t.unref();
    this.timers.push(t);
  }

  private received(processes: readonly GoProcess[]): void {
    this.go = processes;
    this.publish();
  }

  private publish(): void {
    const out: ProcessDescription[] = [];
    for (const { base } of this.go) {
      const programs = matchPrograms(base.labels, this.programs);
      if (this.programs.length > 0 && programs.length === 0) continue;
      out.push({ ...base, programs });
    }
    const signature = out
      .map((p) => `${p.key}=${p.executable}@${p.buildId}=${p.programs.join(',')}`)
      .join(';');
    this.reported = out;
    if (signature === this.signature) return;
    this.signature = signature;
    this.opts.onChange?.(out);
  }
}
