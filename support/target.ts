/**
 * Test support: runs a fixture program, records its stdout lines with the time they
 * arrived, and kills it at the end (never leaving it stopped). The fixture runs under a
 * `sh` that waits for it, so, as in production, it is not a child of the process pausing it
 * (Node's own child reaping would otherwise compete with our waitpid for its ptrace stops).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** One line of the target's output and when it arrived (performance.now() ms). */
export interface Line {
  readonly t: number;
  readonly text: string;
}

/** A running fixture. */
export interface Target {
  /** The `sh` running the fixture; it exits with the fixture's exit status. */
  readonly child: ChildProcess;
  /** The fixture's pid (from its "ready PID" line). */
  readonly pid: number;
  readonly lines: Line[];
  /** Resolves with the first line (arrived at or after `since`) matching `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number, since?: number): Promise<Line>;
  /** Whether the process has exited. */
  exited(): boolean;
  /** Resolves with the fixture's exit code (or the signal that killed it). */
  exitStatus(): Promise<number | string>;
  /** SIGKILLs the target (if still running) and waits for its exit. */
  kill(): Promise<void>;
}

/**
 * Starts a fixture and waits for its ready line (default /^ready/, up to `readyMs`); one that
 * is not ready in time is killed. The fixture's pid comes from a "ready PID" line, else from
 * the children of the `sh` that runs it.
 */
export async function startTarget(
  path: string,
  args: string[] = [],
  env: Record<string, string> = {},
  ready: RegExp = /^ready/,
  readyMs = 20_000,
): Promise<Target> {
  const child = spawn('sh', ['-c', '"$0" "$@"; exit $?', path, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'], // stdin stays open: some fixtures wait on it
    env: { ...process.env, ...env },
  });
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  const exitP = new Promise<number | string>((resolve) =>
    child.once('close', (code, sig) =>
      resolve(code !== null && code > 128 ? `signal ${code - 128}` : (code ?? `${sig}`)),
    ),
  );
  let pid = 0;
  const forget = killOnTerm(() => {
    signal(pid || childOf(child.pid ?? 0)); // the fixture, not only its sh
    signal(child.pid);
  });
  child.once('close', () => {
    forget();
    done = true;
    for (const w of waiters) w();
  });
  const onLine = (text: string): void => {
    lines.push({ t: performance.now(), text });
    for (const w of waiters) w();
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', onLine);
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (s) => onLine(`stderr: ${s}`));
  const target: Target = {
    child,
    get pid() {
      return pid;
    },
    lines,
    waitFor(re, ms = 5000, since = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find((l) => l.t >= since && re.test(l.text));
          if (hit) finish(() => resolve(hit));
          else if (done)
            finish(() => reject(new Error(`target exited before printing ${re}: ${tail(lines)}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`no ${re} within ${ms} ms: ${tail(lines)}`))),
          ms,
        );
        const finish = (f: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    exited: () => done,
    exitStatus: () => exitP,
    async kill() {
      if (!done && pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      if (!done) child.kill('SIGKILL');
      await exitP;
    },
  };
  const line = await target.waitFor(ready, readyMs).catch(async (e: unknown) => {
    pid = childOf(child.pid ?? 0); // kill the fixture, not only its sh
    await target.kill();
    throw e;
  });
  pid = Number(/^ready (\d+)/.exec(line.text)?.[1] ?? childOf(child.pid ?? 0));
  return target;
}

/** SIGKILLs a process, if it is still there. */
function signal(pid: number | undefined): void {
  try {
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** How to kill each fixture still running. */
const running = new Set<() => void>();

/**
 * Kills the fixture by `kill` if this process is terminated (SIGTERM) before it ends; returns
 * what forgets it. The test runner ends a file that ran past its timeout with SIGTERM
 * (scripts/test.js): its fixtures, not children of this process but of their `sh`, would run
 * on through the rest of the run, taking CPU from every later test.
 */
function killOnTerm(kill: () => void): () => void {
  if (!termHandled) {
    termHandled = true;
    process.once('SIGTERM', () => {
      for (const k of running) k();
      process.exit(143);
    });
  }
  running.add(kill);
  return () => running.delete(kill);
}
let termHandled = false;

/** The first child process of `ppid` (the fixture under its `sh`), or 0. */
function childOf(ppid: number): number {
  try {
    const kids = readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim().split(/\s+/);
    return Number(kids[0] ?? 0);
  } catch {
    return 0;
  }
}

function tail(lines: Line[]): string {
  return JSON.stringify(lines.slice(-5).map((l) => l.text));
}

/** Signal-related lines a fixture printed (it prints "got signal X" when notified of one). */
export function signalLines(t: Target): string[] {
  return t.lines.filter((l) => /got signal/.test(l.text)).map((l) => l.text);
}
