/**
 * What discovery knows about each pid of the machine, and the per-pid work behind it. Every
 * live pid is kept, Go or not, so that a known process costs nothing until something
 * changes: a kernel thread is never looked at again, and a non-Go process only when its pid
 * is re-checked (a read of /proc/PID/stat and a stat of /proc/PID/exe, the executable's
 * identity then found in the ExeCache without reading the file). Labels (command line,
 * environment, cgroup, …) are read for Go processes only.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { ProcessDescription } from '../protocol/messages.js';
import { ExeCache, exeIdentity } from './exe-cache.js';
import { readLabels } from './labels.js';

const PF_KTHREAD = 0x00200000;

/** The identity of a pid that runs no executable we could read. */
const KERNEL = 'kernel';
const NO_EXE = '';

/** One pid as discovery knows it. */
export interface Tracked {
  readonly pid: number;
  readonly startTime: number;
  /** The executable's identity (ExeCache key); KERNEL for kernel threads, NO_EXE when unreadable (looked at again on the next full pass). */
  readonly exe: string;
  /** Present for Go processes (before program matching). */
  readonly base?: Omit<ProcessDescription, 'programs'>;
}

interface StatFacts {
  readonly startTime: number;
  readonly comm: string;
  readonly kernel: boolean;
  readonly zombie: boolean;
}

/** Reads the identity of a process from /proc/PID/stat; undefined when it is gone. */
export function statFacts(pid: number): StatFacts | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return {
    startTime: Number(f[19]),
    comm: text.slice(text.indexOf('(') + 1, close),
    kernel: (Number(f[6]) & PF_KTHREAD) !== 0,
    zombie: f[0] === 'Z' || f[0] === 'X',
  };
}

/** How a process is labelled. */
export interface LabelContext {
  readonly node: string;
  readonly envAllow: ReadonlySet<string>;
}

/** The pids of the machine and what is known about each. */
export class ProcessTable {
  readonly tracked = new Map<number, Tracked>();
  readonly exes = new ExeCache();
  /** Processes examined (their executable identified) so far. */
  examined = 0;

  constructor(private readonly ctx: LabelContext) {}

  /** Forgets a pid; true when it was a Go process. */
  drop(pid: number): boolean {
    const t = this.tracked.get(pid);
    if (!t) return false;
    this.tracked.delete(pid);
    return t.base !== undefined;
  }

  /**
   * Looks at one pid afresh (it is new, or exec'd another program); true when what is
   * reported may have changed (a Go process came, went or changed).
   */
  refresh(pid: number): boolean {
    const known = this.tracked.get(pid);
    const st = statFacts(pid);
    if (!st) return this.drop(pid);
    const t = this.examine(pid, st);
    this.tracked.set(pid, t);
    return t.base !== undefined || known?.base !== undefined;
  }

  /**
   * Re-checks a known pid cheaply: the same start time (not a reused pid) and the same
   * executable identity (no exec) keep it as it is; anything else examines it again.
   * True when what is reported may have changed.
   */
  recheck(pid: number, known: Tracked): boolean {
    const st = statFacts(pid);
    if (!st) return this.drop(pid);
    if (st.startTime === known.startTime) {
      if (known.exe === KERNEL) return false;
      if (known.exe !== NO_EXE && exeIdentity(pid) === known.exe) return false;
    }
    const t = this.examine(pid, st);
    this.tracked.set(pid, t);
    return t.base !== undefined || known.base !== undefined;
  }

  /** Looks at a pid not known yet (from a listing of /proc); true when it is a Go process. */
  add(pid: number): boolean {
    const st = statFacts(pid);
    if (!st) return false;
    const t = this.examine(pid, st);
    this.tracked.set(pid, t);
    return t.base !== undefined;
  }

  private examine(pid: number, st: StatFacts): Tracked {
    if (st.kernel) return { pid, startTime: st.startTime, exe: KERNEL };
    const none: Tracked = { pid, startTime: st.startTime, exe: NO_EXE };
    if (st.zombie) return none;
    this.examined++;
    const id = exeIdentity(pid);
    if (id === undefined) return none; // exited meanwhile, or not ours to read
    const facts = this.exes.facts(pid, id);
    if (!facts) return none;
    if (!facts.isGo) return { pid, startTime: st.startTime, exe: id };
    let executable: string;
    try {
      executable = readExeLink(pid);
    } catch {
      return none;
    }
    const { node } = this.ctx;
    const { cmdline, hostname, labels } = readLabels({
      pid,
      executable,
      node,
      envAllow: this.ctx.envAllow,
      goVersion: facts.goVersion,
      buildId: facts.buildId,
      stripped: facts.stripped,
    });
    return {
      pid,
      startTime: st.startTime,
      exe: id,
      base: {
        key: `${node}:${pid}:${st.startTime}`,
        hostname,
        pid,
        executable,
        cmdline,
        labels,
        ...(facts.goVersion ? { goVersion: facts.goVersion } : {}),
        ...(facts.buildId ? { buildId: facts.buildId } : {}),
      },
    };
  }
}

function readExeLink(pid: number): string {
  const link = readlinkSync(`/proc/${pid}/exe`);
  return link.endsWith(' (deleted)') ? link.slice(0, -' (deleted)'.length) : link;
}
