/**
 * Discovery of the Go processes on this machine. The kernel tells of every exec and exit
 * (the proc connector, `proc/proc-events.ts`): an exec has that one pid looked at, an exit
 * drops it, and a full pass over /proc every `rescanMs` (and at once after the kernel
 * dropped events) is the safety net. Where the connector cannot be used (no CAP_NET_ADMIN
 * before Linux 6.6, not in the initial PID namespace, switched off), it polls instead: a
 * listing of /proc several times a second (new and exited pids are examined at once) and a
 * full pass every `intervalMs`. Each process is labelled once and matched against the
 * spec's program rules; what is known is kept per pid and per executable identity
 * (`process-table.ts`), so an idle machine costs almost nothing.
 */
import { readdirSync } from 'node:fs';
import { type ProcEventBatch, ProcEvents } from '../proc/proc-events.js';
import type { ProcessDescription } from '../protocol/messages.js';
import type { ProgramSpec } from '../spec/spec-types.js';
import { type CompiledProgram, compilePrograms, matchPrograms } from './labels.js';
import { ProcessTable } from './process-table.js';

export { statFacts } from './process-table.js';

/** How discovery runs. */
export interface DiscoveryOptions {
  /** This machine's name (the agent's --hostname): part of every process key. */
  readonly node: string;
  /** Environment variables whose values become `env.NAME` labels. */
  readonly envAllow: readonly string[];
  /** Learn of new processes from the kernel's process events where it allows (default true); false: poll /proc. */
  readonly procEvents?: boolean;
  /** With process events: a full pass over /proc every this many ms, the safety net (default 60000). */
  readonly rescanMs?: number;
  /** Polling: a full pass every this many ms (default 2000). */
  readonly intervalMs?: number;
  /** Polling: look for new and exited pids every this many ms (default 250). */
  readonly quickMs?: number;
  /** Agent-local rules (--match): a process must match all of them to be reported at all. */
  readonly localMatch?: Readonly<Record<string, string>>;
  /** Called with the reported processes whenever that list changes. */
  readonly onChange?: (processes: readonly ProcessDescription[]) => void;
  /** One line when the way discovery works is settled or changes, and when events were lost. */
  readonly log?: (line: string) => void;
}

/** How discovery is working: before start, waiting for the kernel's answer, on events, polling, stopped. */
export type DiscoveryMode = 'idle' | 'starting' | 'events' | 'polling' | 'stopped';

/** Counters, for tests and the benchmark. */
export interface DiscoveryStats {
  readonly mode: DiscoveryMode;
  readonly fullPasses: number;
  readonly quickPasses: number;
  readonly execEvents: number;
  readonly exitEvents: number;
  readonly overruns: number;
  /** Pids known (every live one, Go or not, kernel threads included). */
  readonly known: number;
  /** Processes examined (executable identified), and whole binaries read (each Go binary once). */
  readonly examined: number;
  readonly binariesRead: number;
}

/** Discovers, labels and matches the Go processes of this machine. */
export class Discovery {
  private readonly table: ProcessTable;
  private readonly local: CompiledProgram[];
  private programs: CompiledProgram[] = [];
  private reported: ProcessDescription[] = [];
  private signature = '';
  private timers: NodeJS.Timeout[] = [];
  private events: ProcEvents | undefined;
  private state: DiscoveryMode = 'idle';
  private readonly counts = { fullPasses: 0, quickPasses: 0, execEvents: 0, exitEvents: 0, overruns: 0 };

  constructor(private readonly opts: DiscoveryOptions) {
    this.table = new ProcessTable({ node: opts.node, envAllow: new Set(opts.envAllow) });
    this.local = opts.localMatch ? compilePrograms([{ name: 'local', match: opts.localMatch }]) : [];
  }

  /** Scans now, then keeps the list current until stop(). */
  start(): void {
    if (this.state !== 'idle') return;
    this.scan(true);
    if (this.opts.procEvents === false) {
      this.poll('kernel process events switched off');
      return;
    }
    this.state = 'starting';
    this.events = ProcEvents.start({
      ready: () => this.eventsReady(),
      batch: (b) => this.onEvents(b),
      failed: (reason) => this.eventsFailed(reason),
    });
  }

  /** Stops watching. */
  stop(): void {
    this.state = 'stopped';
    this.events?.close();
    this.events = undefined;
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

  /** The pid and start time behind a reported key, or undefined when it is not (or no longer) reported. */
  lookup(key: string): { pid: number; startTime: number } | undefined {
    const d = this.reported.find((p) => p.key === key);
    if (!d) return undefined;
    const t = this.table.tracked.get(d.pid);
    return t ? { pid: t.pid, startTime: t.startTime } : undefined;
  }

  /** Whole binaries read so far (each Go binary once). */
  get binariesRead(): number {
    return this.table.exes.reads;
  }

  /** How discovery works now and what it has done. */
  stats(): DiscoveryStats {
    return {
      mode: this.state,
      ...this.counts,
      known: this.table.tracked.size,
      examined: this.table.examined,
      binariesRead: this.table.exes.reads,
    };
  }

  /**
   * One pass over /proc: a quick one examines only pids that appeared and forgets those
   * that went; a full one also re-checks every known pid (pid reuse, exec of another
   * program) by its start time and executable identity.
   */
  scan(full: boolean): void {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return;
    }
    if (full) this.counts.fullPasses++;
    else this.counts.quickPasses++;
    const { tracked } = this.table;
    const seen = new Set<number>();
    let changed = false;
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      if (pid === process.pid) continue;
      seen.add(pid);
      const known = tracked.get(pid);
      if (!known) changed = this.table.add(pid) || changed;
      else if (full) changed = this.table.recheck(pid, known) || changed;
    }
    for (const pid of tracked.keys()) {
      if (!seen.has(pid)) changed = this.table.drop(pid) || changed;
    }
    if (changed) this.publish();
  }

  private onEvents(b: ProcEventBatch): void {
    if (this.state !== 'events') return;
    this.counts.execEvents += b.execs.length;
    this.counts.exitEvents += b.exits.length;
    let changed = false;
    for (const pid of b.exits) changed = this.table.drop(pid) || changed;
    for (const pid of b.execs) if (pid !== process.pid) changed = this.table.refresh(pid) || changed;
    if (changed) this.publish();
    if (b.overrun) {
      if (this.counts.overruns++ === 0)
        this.opts.log?.(
          'discovery: the kernel dropped process events (socket buffer full); rescanning /proc',
        );
      this.scan(true);
    }
  }

  private eventsReady(): void {
    if (this.state !== 'starting') return;
    this.state = 'events';
    const every = this.opts.rescanMs ?? 60_000;
    this.opts.log?.(
      `discovery: kernel process events (proc connector), a full pass over /proc every ${every / 1000} s`,
    );
    this.scan(true); // what started between the first pass and the subscription
    this.every(every, () => this.scan(true));
  }

  private eventsFailed(reason: string): void {
    if (this.state !== 'starting' && this.state !== 'events') return;
    this.events?.close();
    this.events = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.poll(`kernel process events unavailable: ${reason}`);
    this.scan(true);
  }

  private poll(why: string): void {
    this.state = 'polling';
    const quick = this.opts.quickMs ?? 250;
    const full = this.opts.intervalMs ?? 2000;
    this.opts.log?.(`discovery: ${why}; polling /proc every ${quick} ms, a full pass every ${full / 1000} s`);
    this.every(full, () => this.scan(true));
    this.every(quick, () => this.scan(false));
  }

  private every(ms: number, f: () => void): void {
    const t = setInterval(f, ms);
    t.unref();
    this.timers.push(t);
  }

  private publish(): void {
    const out: ProcessDescription[] = [];
    for (const t of this.table.tracked.values()) {
      if (!t.base) continue;
      if (this.local.length > 0 && matchPrograms(t.base.labels, this.local).length === 0) continue;
      const programs = matchPrograms(t.base.labels, this.programs);
      if (this.programs.length > 0 && programs.length === 0) continue;
      out.push({ ...t.base, programs });
    }
    out.sort((a, b) => a.pid - b.pid);
    // The executable is part of it: a process that exec'd another Go program keeps its key.
    const signature = out
      .map((p) => `${p.key}=${p.executable}@${p.buildId}=${p.programs.join(',')}`)
      .join(';');
    this.reported = out;
    if (signature === this.signature) return;
    this.signature = signature;
    this.opts.onChange?.(out);
  }
}
