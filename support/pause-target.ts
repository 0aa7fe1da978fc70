/**
 * The target of the pause benchmark (testdata/pausebench): starts it with N parked
 * goroutines and talks to it over HTTP on 127.0.0.1 — the longest gap its ticker thread saw,
 * runtime.Stack(all) on request, and net/http/pprof's goroutine?debug=2.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { buildFixture } from './go-fixtures.js';
import { alive } from './proc.js';

/** The longest gap the target's ticker thread saw in one window (CLOCK_MONOTONIC ns). */
export interface Gap {
  /** Longest time between two consecutive clock readings of the ticker. */
  readonly maxNs: number;
  /** When that gap ended. */
  readonly endNs: number;
  /** Clock readings in the window (how often the ticker looked). */
  readonly loops: number;
}

/** A running pausebench process. */
export interface PauseTarget {
  readonly pid: number;
  readonly port: number;
  readonly goroutines: number;
  /** Ends the current gap window and starts a new one; returns the ended window's longest gap. */
  gap(): Promise<Gap>;
  /** Runs runtime.Stack(buf, true) in the target; returns its duration (ns) and dump size. */
  stackAll(): Promise<{ ns: number; bytes: number; startNs: number }>;
  /** GET /debug/pprof/goroutine?debug=2; returns the bytes received and the request's wall time (ns). */
  debug2(): Promise<{ bytes: number; ns: number }>;
  /** Kills the target (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

const hrNs = (): number => Number(process.hrtime.bigint());

/**
 * Sets the nice value of every thread of a process (setpriority is per thread on Linux);
 * returns false when not permitted. Threads created later inherit it from their creator.
 */
export function reniceThreads(pid: number, nice: number): boolean {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) setPriority(Number(tid), nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds and starts testdata/pausebench with n goroutines; resolves once they are all parked.
 * With `nice`, every thread of the target runs at that nice value (on a busy machine, so
 * that the ticker is not descheduled by other work: the gaps it sees are then ours). With
 * `big`, that many more goroutines each park under about 1 MiB of used stack (a slow copy);
 * `env` is added to its environment (e.g. the tag an agent's --match selects).
 */
export async function startPauseTarget(
  n: number,
  nice?: number,
  big = 0,
  env: Record<string, string> = {},
): Promise<PauseTarget> {
  const { path } = await buildFixture('pausebench');
  // Under sh, so that it is not our child, as in production: libuv reaps its children, and a
  // ptrace stop it happens to see (a thread that stops after a pause gave up on it, reaped by
  // the background release) was reported as the child's exit, which closed the target's
  // stdin and so ended it (bench/pause.ts --contention lost its target that way).
  const child: ChildProcess = spawn(
    'sh',
    ['-c', '"$0" "$@"; exit $?', path, '-n', String(n), '-big', String(big)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString('utf8');
      const m = /^ready (\d+)$/m.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`pausebench exited (${code}) before it was ready`)));
    child.once('error', reject);
  });
  const pid = childOf(child.pid as number);
  if (!pid) throw new Error('pausebench is ready but not found under its sh');
  if (nice !== undefined) reniceThreads(pid, nice);
  const base = `http://127.0.0.1:${port}`;
  const json = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${base}${path}`);
    if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  };
  return {
    pid,
    port,
    goroutines: n + big,
    gap: () => json<Gap>('/gap'),
    stackAll: () => json<{ ns: number; bytes: number; startNs: number }>('/stack'),
    async debug2() {
      const t0 = hrNs();
      const r = await fetch(`${base}/debug/pprof/goroutine?debug=2`);
      const body = await r.arrayBuffer();
      if (!r.ok) throw new Error(`GET goroutine?debug=2: HTTP ${r.status}`);
      return { bytes: body.byteLength, ns: hrNs() - t0 };
    },
    async stop() {
      // By pid, and waiting on /proc rather than on Node's 'exit': a pause taken from a
      // worker thread lets libuv reap a ptrace stop of this child, which it reports as the
      // child's exit (bench/pause-ab.ts does that), after which child.kill() sends nothing.
      // Its sh goes first: left to see the target killed, it prints "Killed" on our stderr.
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return; // already gone
      }
      for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

/** The first child process of `ppid` (the target under its `sh`), or 0. */
function childOf(ppid: number): number {
  try {
    const kids = readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim().split(/\s+/);
    return Number(kids[0] ?? 0);
  } catch {
    return 0;
  }
}
