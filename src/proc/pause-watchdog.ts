/**
 * The last line of defence for a paused target: a thread that kills this process when a
 * pause outlives its deadline. ptrace ties the stop to the tracing thread, so only that
 * thread can resume the target, and the pause's own hold timer needs the event loop; if that
 * thread is stuck in synchronous code (a bug, a runaway decode), the target would stay
 * stopped until someone killed us. This thread sleeps on a shared word, and at the deadline
 * SIGKILLs the process: the kernel then detaches every tracee, which runs on (tested). Before
 * that it writes back the nice value of any target thread still boosted (proc/stop-boost.ts).
 */
import { Worker } from 'node:worker_threads';
import { boostTable } from './stop-boost.js';

/** Shared words: [0] the pause sequence armed (0: none), [1] the pid paused (for the message). */
const ctl = new Int32Array(new SharedArrayBuffer(16));
/** [0] Date.now() at which an armed pause must have ended. */
const deadline = new Float64Array(new SharedArrayBuffer(8));
let worker: Worker | undefined;
let seq = 0;

/**
 * Starts the watchdog thread if it is not running (a few ms; call it before stopping
 * anything). Returns false where threads cannot be made; pauses then go unguarded.
 */
export function startPauseWatchdog(): boolean {
  if (worker) return true;
  try {
    worker = new Worker(new URL('./pause-watchdog.worker.js', import.meta.url), {
      workerData: { ctl, deadline, boosted: boostTable },
    });
    worker.unref();
    worker.on('error', () => {
      worker = undefined;
    });
    return true;
  } catch {
    return false;
  }
}

/** Whether this thread's watchdog has been started (and has not failed). */
export function pauseWatchdogStarted(): boolean {
  return worker !== undefined;
}

/** Guards a pause of `pid` that began now: if it is not disarmed within `ms`, this process dies. */
export function armPauseWatchdog(pid: number, ms: number): void {
  if (!worker) return;
  seq = (seq % 0x7fff_fff0) + 1;
  deadline[0] = Date.now() + ms;
  Atomics.store(ctl, 1, pid);
  Atomics.store(ctl, 0, seq);
  Atomics.notify(ctl, 0);
}

/** The pause ended (resumed, or never started): stand down. */
export function disarmPauseWatchdog(): void {
  if (Atomics.load(ctl, 0) === 0) return;
  Atomics.store(ctl, 0, 0);
  Atomics.notify(ctl, 0);
}
