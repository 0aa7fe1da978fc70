/**
 * Waiting, before a pause, for this process's own other threads to stop running. The
 * threads of a paused target must get a CPU to reach their stops, and the pausing thread must
 * get one to interrupt them; anything else of ours that runs then (V8's garbage-collection
 * helpers sweeping after the collection made just before the pause, its compiler threads,
 * a busy event loop) takes that CPU. Traced in an agent at 10k goroutines (perf sched, load
 * ~15 on 2 cores): one of V8's worker threads ran 3.2 ms in the middle of the stop, on the
 * pausing thread's CPU, while 3 of the target's 7 threads were stopped and 4 were not.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** How a wait for our own threads ended. */
export interface SettleResult {
  /** No other thread of this process was running or runnable at the last look. */
  readonly idle: boolean;
  /** Time spent waiting, ms. */
  readonly waitedMs: number;
  /** Looks taken at the threads' states. */
  readonly looks: number;
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/** This thread's id (from /proc/thread-self, which names PID/task/TID). */
export function ownTid(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

/** Whether a thread of this process other than `self` is running or waiting for a CPU (state R). */
function othersRunning(self: number | undefined): boolean {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return false;
  }
  for (const tid of tids) {
    if (Number(tid) === self) continue;
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      // The state follows the command name, which may hold spaces and parentheses.
      if (stat.charAt(stat.lastIndexOf(')') + 2) === 'R') return true;
    } catch {
      // Exited meanwhile.
    }
  }
  return false;
}

/** Sleep between looks, ms: short enough to catch the end of a sweep, long enough to let it run. */
const LOOK_EVERY_MS = 0.25;

/**
 * Idle looks in a row that count as settled: a busy thread can be seen asleep for an instant
 * (a JavaScript thread waiting, mid-loop, for its own collection's helper threads), so one
 * idle look after a busy one is not enough. Measured: test/proc/own-threads.test.ts's spinning
 * worker was seen idle at a single look in 1 of 14 runs at load ~4 (a likely cause, not
 * proven). A second look costs 0.25 ms before the pause, none in it.
 */
const IDLE_LOOKS = 2;

/**
 * Waits, up to `maxMs`, until no other thread of this process is running or runnable, sleeping
 * between looks (so that they have the CPU to finish). Call it outside a pause, right before
 * one. Never throws; where /proc cannot be read it returns at once.
 */
export function settleOwnThreads(maxMs: number): SettleResult {
  const t0 = performance.now();
  const self = ownTid();
  let looks = 0;
  let idleLooks = 0;
  for (;;) {
    looks++;
    const busy = othersRunning(self);
    idleLooks = busy ? 0 : idleLooks + 1;
    const waitedMs = performance.now() - t0;
    if (idleLooks >= IDLE_LOOKS || waitedMs >= maxMs) return { idle: !busy, waitedMs, looks };
    Atomics.wait(nap, 0, 0, LOOK_EVERY_MS);
  }
}
