/**
 * The work of discovery on whichever thread runs it: passes over /proc (quick: new and gone
 * pids; full: every known pid re-checked), the kernel's exec and exit events applied to the
 * process table, and the list of Go processes (those matching the agent-local rules) with
 * a signature that says when it changed. Counters go to an Int32Array the owner may share
 * with another thread.
 */
import { readdirSync } from 'node:fs';
import type { ProcEventBatch } from '../proc/proc-event-reader.js';
import type { ProcessDescription } from '../protocol/messages.js';
import { type CompiledProgram, compilePrograms, matchPrograms } from './labels.js';
import { ProcessTable } from './process-table.js';

/** A Go process found (before the spec's program rules), with its start time. */
export interface GoProcess {
  readonly base: Omit<ProcessDescription, 'programs'>;
  readonly startTime: number;
}

/** Indices of the counters. */
export const Counter = {
  FULL_PASSES: 0,
  QUICK_PASSES: 1,
  EXEC_EVENTS: 2,
  EXIT_EVENTS: 3,
  OVERRUNS: 4,
  KNOWN: 5,
  EXAMINED: 6,
  BINARIES_READ: 7,
} as const;
/** Number of counters. */
export const COUNTERS = 8;

/** What a watch needs to know. */
export interface WatchOptions {
  readonly node: string;
  readonly envAllow: readonly string[];
  readonly localMatch?: Readonly<Record<string, string>>;
  /** The agent's own pid, never looked at. */
  readonly self: number;
}

/** The processes of this machine as one thread sees them. */
export class ProcessWatch {
  readonly table: ProcessTable;
  private readonly local: CompiledProgram[];
  private signature = '';

  constructor(
    private readonly opts: WatchOptions,
    private readonly counters: Int32Array,
  ) {
    this.table = new ProcessTable({ node: opts.node, envAllow: new Set(opts.envAllow) });
    this.local = opts.localMatch ? compilePrograms([{ name: 'local', match: opts.localMatch }]) : [];
  }

  /**
   * One pass over /proc: a quick one examines only pids that appeared and forgets those
   * that went; a full one also re-checks every known pid (pid reuse, exec of another
   * program) by its start time and executable identity. True when a Go process came, went
   * or changed.
   */
  scan(full: boolean): boolean {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return false;
    }
    this.count(full ? Counter.FULL_PASSES : Counter.QUICK_PASSES, 1);
    const { tracked } = this.table;
    const seen = new Set<number>();
    let changed = false;
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      if (pid === this.opts.self) continue;
      seen.add(pid);
      const known = tracked.get(pid);
      if (!known) changed = this.table.add(pid) || changed;
      else if (full) changed = this.table.recheck(pid, known) || changed;
    }
    for (const pid of tracked.keys()) {
      if (!seen.has(pid)) changed = this.table.drop(pid) || changed;
    }
    this.sync();
    return changed;
  }

  /** Applies a batch of kernel events (an overrun rescans); true when a Go process came, went or changed. */
  apply(b: ProcEventBatch): boolean {
    this.count(Counter.EXEC_EVENTS, b.execs.length);
    this.count(Counter.EXIT_EVENTS, b.exits.length);
    let changed = false;
    for (const pid of b.exits) changed = this.table.drop(pid) || changed;
    for (const pid of b.execs) if (pid !== this.opts.self) changed = this.table.refresh(pid) || changed;
    if (b.overrun) {
      this.count(Counter.OVERRUNS, 1);
      changed = this.scan(true) || changed;
    }
    this.sync();
    return changed;
  }

  /** The Go processes matching the agent-local rules, when that list differs from the last one returned. */
  changedList(): GoProcess[] | undefined {
    const out: GoProcess[] = [];
    for (const t of this.table.tracked.values()) {
      if (!t.base) continue;
      if (this.local.length > 0 && matchPrograms(t.base.labels, this.local).length === 0) continue;
      out.push({ base: t.base, startTime: t.startTime });
    }
    out.sort((a, b) => a.base.pid - b.base.pid);
    // The executable is part of it: a process that exec'd another Go program keeps its key.
    const signature = out.map((p) => `${p.base.key}=${p.base.executable}@${p.base.buildId}`).join(';');
    if (signature === this.signature) return undefined;
    this.signature = signature;
    return out;
  }

  private count(i: number, n: number): void {
    if (n !== 0) Atomics.add(this.counters, i, n);
  }

  private sync(): void {
    Atomics.store(this.counters, Counter.KNOWN, this.table.tracked.size);
    Atomics.store(this.counters, Counter.EXAMINED, this.table.examined);
    Atomics.store(this.counters, Counter.BINARIES_READ, this.table.exes.reads);
  }
}
