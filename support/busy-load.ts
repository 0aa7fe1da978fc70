/**
 * CPU contention for benchmarks: K processes that spin forever (a shell loop each), which
 * can be frozen (SIGSTOP) and thawed (SIGCONT) so that quiet and busy measurements can be
 * interleaved in one run, and killed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';

/** K spinning processes. */
export interface BusyLoad {
  readonly pids: readonly number[];
  /** Lets them spin (and waits `settleMs` for the scheduler to spread them). */
  run(settleMs?: number): Promise<void>;
  /** Stops them (SIGSTOP): the machine is as quiet as it was without them. */
  freeze(settleMs?: number): Promise<void>;
  /** Kills them. */
  stop(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts `k` spinning processes, frozen; `run()` lets them spin. */
export function startBusyLoad(k: number): BusyLoad {
  const children: ChildProcess[] = [];
  for (let i = 0; i < k; i++) {
    const c = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    children.push(c);
  }
  const pids = children.map((c) => c.pid as number);
  const signal = (s: NodeJS.Signals): void => {
    for (const pid of pids) {
      try {
        process.kill(pid, s);
      } catch {
        // Exited: nothing to signal.
      }
    }
  };
  signal('SIGSTOP');
  return {
    pids,
    async run(settleMs = 50) {
      signal('SIGCONT');
      await sleep(settleMs);
    },
    async freeze(settleMs = 30) {
      signal('SIGSTOP');
      await sleep(settleMs);
    },
    stop() {
      signal('SIGKILL');
    },
  };
}
