/**
 * Discovery of the Go processes on this machine: a cheap look at the list of pids several
 * times a second (new and exited processes are examined at once), and a full pass every
 * interval that also notices a process that exec'd another program. Each process is
 * labelled once and matched against the spec's program rules.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ProcessDescription } from '../protocol/messages.js';
import type { ProgramSpec } from '../spec/spec-types.js';
import { ExeCache } from './exe-cache.js';
import { type CompiledProgram, compilePrograms, matchPrograms, readLabels } from './labels.js';

const PF_KTHREAD = 0x00200000;

/** How discovery runs. */
export interface DiscoveryOptions {
  /** This machine's name (the agent's --hostname): part of every process key. */
  readonly node: string;
  /** Environment variables whose values become `env.NAME` labels. */
  readonly envAllow: readonly string[];
  /** Full pass every this many ms (default 2000). */
  readonly intervalMs?: number;
  /** Look for new and exited pids every this many ms (default 250). */
  readonly quickMs?: number;
  /** Agent-local rules (--match): a process must match all of them to be reported at all. */
  readonly localMatch?: Readonly<Record<string, string>>;
  /** Called with the reported processes whenever that list changes. */
  readonly onChange?: (processes: readonly ProcessDescription[]) => void;
}

interface Tracked {
  readonly pid: number;
  readonly startTime: number;
  readonly comm: string;
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

/** Discovers, labels and matches the Go processes of this machine. */
export class Discovery {
  private readonly tracked = new Map<number, Tracked>();
  private readonly exes = new ExeCache();
  private readonly envAllow: ReadonlySet<string>;
  private readonly local: CompiledProgram[];
  private programs: CompiledProgram[] = [];
  private reported: ProcessDescription[] = [];
  private signature = '';
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly opts: DiscoveryOptions) {
    this.envAllow = new Set(opts.envAllow);
    this.local = opts.localMatch ? compilePrograms([{ name: 'local', match: opts.localMatch }]) : [];
  }

  /** Scans now, then keeps scanning until stop(). */
  start(): void {
    this.scan(true);
    this.timers.push(
      setInterval(() => this.scan(true), this.opts.intervalMs ?? 2000),
      setInterval(() => this.scan(false), this.opts.quickMs ?? 250),
    );
    for (const t of this.timers) t.unref();
  }

  /** Stops scanning. */
  stop(): void {
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
    const t = this.tracked.get(d.pid);
    return t ? { pid: t.pid, startTime: t.startTime, programs: d.programs } : undefined;
  }

  /** Whole binaries read so far (each Go binary once). */
  get binariesRead(): number {
    return this.exes.fullReads;
  }

  /**
   * One pass: a quick one examines only pids that appeared and forgets those that went;
   * a full one also re-checks every known pid (pid reuse, exec of another program).
   */
  scan(full: boolean): void {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return;
    }
    const seen = new Set<number>();
    let changed = false;
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      if (pid === process.pid) continue;
      seen.add(pid);
      const known = this.tracked.get(pid);
      if (known && !full) continue;
      const st = statFacts(pid);
      if (!st || st.kernel || st.zombie) {
        if (known) changed = this.tracked.delete(pid) || changed;
        continue;
      }
      if (known && known.startTime === st.startTime && known.comm === st.comm) continue;
      const t = this.examine(pid, st);
      if (t) this.tracked.set(pid, t);
      else this.tracked.delete(pid);
      changed = changed || t?.base !== undefined || known?.base !== undefined;
    }
    for (const [pid, t] of this.tracked) {
      if (seen.has(pid)) continue;
      this.tracked.delete(pid);
      if (t.base) changed = true;
    }
    if (changed) this.publish();
  }

  private examine(pid: number, st: StatFacts): Tracked | undefined {
    const facts = this.exes.factsFor(pid);
    if (!facts) return undefined; // exe unreadable (exited, or no permission): look again next pass
    if (!facts.isGo) return { pid, startTime: st.startTime, comm: st.comm };
    let executable: string;
    try {
      executable = readExeLink(pid);
    } catch {
      return undefined;
    }
    const { cmdline, hostname, labels } = readLabels({
      pid,
      executable,
      node: this.opts.node,
      envAllow: this.envAllow,
      goVersion: facts.goVersion,
      buildId: facts.buildId,
      stripped: facts.stripped,
    });
    return {
      pid,
      startTime: st.startTime,
      comm: st.comm,
      base: {
        key: `${this.opts.node}:${pid}:${st.startTime}`,
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

  private publish(): void {
    const out: ProcessDescription[] = [];
    for (const t of this.tracked.values()) {
      if (!t.base) continue;
      if (this.local.length > 0 && matchPrograms(t.base.labels, this.local).length === 0) continue;
      const programs = matchPrograms(t.base.labels, this.programs);
      if (this.programs.length > 0 && programs.length === 0) continue;
      out.push({ ...t.base, programs });
    }
    out.sort((a, b) => a.pid - b.pid);
    const signature = out.map((p) => `${p.key}=${p.programs.join(',')}`).join(';');
    this.reported = out;
    if (signature === this.signature) return;
    this.signature = signature;
    this.opts.onChange?.(out);
  }
}

function readExeLink(pid: number): string {
  const link = readlinkSync(`/proc/${pid}/exe`);
  return link.endsWith(' (deleted)') ? link.slice(0, -' (deleted)'.length) : link;
}
