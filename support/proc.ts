/**
 * Timing and memory of child processes: spawn-and-time, peak RSS and CPU time read from
 * /proc (Linux), and clean shutdown of the processes a benchmark started.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Memory figures of a live process from /proc/PID/status, in KiB. */
export interface ProcMemory {
  /** Peak resident set size (VmHWM). */
  readonly peakRssKiB: number;
  /** Current resident set size (VmRSS). */
  readonly rssKiB: number;
}

/** Reads VmHWM and VmRSS of a live process; undefined when it is gone. */
export function procMemory(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { peakRssKiB: field('VmHWM'), rssKiB: field('VmRSS') };
}

let clockTicks: number | undefined;

/** User plus system CPU time a live process has used so far, in ms; undefined when it is gone. */
export function procCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicks;
}

/** PIDs of the direct children of a live process (all its threads' children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // The process is gone: no children to report.
  }
  return out;
}

/** Whether a process with this PID still exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves with the exit code (or signal name) once the child exits, or 'timeout' after ms. */
export function waitForExit(child: ChildProcess, ms: number): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? 'unknown');
    });
  });
}

/** Polls until none of the PIDs exists, SIGKILLing survivors after ms; returns those that had to be killed. */
export async function reap(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = performance.now() + ms;
  while (pids.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const killed = pids.filter(alive);
  for (const pid of killed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** Outcome of a timed child process. */
export interface TimedRun {
  /** Wall time from just before spawn to the child's exit, in ms. */
  readonly wallMs: number;
  /** Wall time from just before spawn until stdout first satisfied `readyWhen` (undefined: never). */
  readonly readyMs: number | undefined;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Spawns a program, waits for it to exit and returns its output with the wall time from
 * spawn to exit and from spawn to the moment its stdout so far first satisfies `readyWhen`.
 */
export function timeChild(
  command: string,
  args: readonly string[],
  readyWhen: (stdoutSoFar: string) => boolean = () => false,
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let readyMs: number | undefined;
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      if (readyMs === undefined && readyWhen(Buffer.concat(out).toString('utf8')))
        readyMs = performance.now() - t0;
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({
        wallMs: performance.now() - t0,
        readyMs,
        exitCode: code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/**
 * Runs a compiled Node script in a fresh process (cold: module loading and JIT included)
 * that prints one JSON object on its last stdout line; `readyMs` is when that line arrived.
 */
export async function timeNodeScript(
  script: string,
  args: readonly string[],
): Promise<TimedRun & { json: unknown }> {
  const r = await timeChild(process.execPath, [script, ...args], (so) => /^\{.*\}\n/m.test(so));
  if (r.exitCode !== 0) {
    throw new Error(`${script} exited with ${r.exitCode}:\n${(r.stderr || r.stdout).trim()}`);
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...r, json: JSON.parse(last) as unknown };
  } catch {
    throw new Error(`${script} did not print a JSON result line; stdout was:\n${r.stdout}`);
  }
}

/**
 * CPU time a live process has used so far, in ns, summed over its threads' schedstat
 * (nanosecond resolution, where /proc/PID/stat counts 10 ms ticks); time of threads that
 * have already exited is not included. Undefined when the process is gone.
 */
export function procCpuNs(pid: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const tid of tids) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return sum;
}
