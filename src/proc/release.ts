/**
 * Letting go of traced threads: detach the stopped ones (re-injecting any signal we held),
 * reap the ones that died while traced (so their real parent hears of it), and keep polling
 * in the background for threads that had not stopped yet when we gave up on them.
 */
import { existsSync } from 'node:fs';
import { Errno } from './libc.js';
import { detach, pollStop, reap, signalToReinject, stopWithoutStatus } from './ptrace.js';
import { type Boostable, restoreStraggler, settleGoneStraggler } from './stop-boost.js';

/** A thread we are the tracer of, and what we know about it. */
export interface HeldThread extends Boostable {
  readonly tid: number;
  /** attached: seized and interrupted, stop not seen yet; stopped: in a ptrace stop; gone: exited. */
  state: 'attached' | 'stopped' | 'gone';
  /** Signal dequeued by a signal-delivery-stop, to re-inject on detach (0 for none). */
  signal: number;
  /** Once stopped: by our interrupt, in a signal-delivery-stop, or in a group-stop. */
  stop: 'interrupt' | 'signal' | 'group-stop';
}

/** What releasing a set of threads did. */
export interface ReleaseResult {
  /** Threads detached and running again. */
  readonly detached: number;
  /** Threads found dead (their exit was collected, or will be in the background). */
  readonly gone: number;
  /** Threads not stopped yet, handed to the background poller to detach when they stop. */
  readonly lingering: number;
}

/** Threads to detach or reap in the background: tid -> its process and the signal to re-inject. */
const lingering = new Map<number, { pid: number; signal: number }>();
let timer: NodeJS.Timeout | undefined;

/** How long release() waits, synchronously, for threads killed mid-pause to finish dying. */
const REAP_SYNC_MS = 20;

/**
 * Detaches every stopped thread, reaps dead ones; never throws. A thread still boosted
 * (proc/stop-boost.ts) gets its nice value back first, while it is still ours.
 */
export function releaseThreads(pid: number, threads: Iterable<HeldThread>): ReleaseResult {
  let detached = 0;
  let gone = 0;
  const dying: number[] = [];
  const late: HeldThread[] = [];
  for (const t of threads) {
    if (t.state === 'gone') settleGoneStraggler(pid, t);
    else restoreStraggler(t);
    if (t.state === 'stopped') {
      const r = detach(t.tid, t.signal);
      if (r.ok) detached++;
      else if (r.errno === Errno.ESRCH) dying.push(t.tid);
    } else if (t.state === 'attached') late.push(t);
    t.state = 'gone';
  }
  // Threads killed while stopped (e.g. SIGKILL of the process) report their exit to us.
  const until = Date.now() + REAP_SYNC_MS;
  let rest = dying;
  while (rest.length > 0 && Date.now() < until) rest = rest.filter((tid) => !reap(tid));
  gone += dying.length;
  for (const tid of rest) lingering.set(tid, { pid, signal: 0 });
  for (const t of late) lingering.set(t.tid, { pid, signal: t.signal });
  if (lingering.size > 0 && !timer) {
    timer = setInterval(pollLingering, 5);
    timer.unref();
  }
  return { detached, gone, lingering: late.length };
}

/**
 * Background step: detach lingering threads that have stopped, forget the ones that died.
 * It does not rely on waitpid alone: when the target is a child of this process, Node's own
 * child reaping may consume the stop status, so a stop is also recognised by PTRACE_GETSIGINFO.
 */
function pollLingering(): void {
  for (const [tid, { signal: held }] of lingering) {
    const o = pollStop(tid);
    if (o.kind === 'gone') {
      lingering.delete(tid);
      continue;
    }
    if (o.kind !== 'running') {
      detach(tid, signalToReinject(o, held));
      lingering.delete(tid);
      continue;
    }
    const asked = stopWithoutStatus(tid);
    if (asked.kind !== 'running') {
      if (detach(tid, signalToReinject(asked, held)).ok) lingering.delete(tid);
    } else if (!existsSync(`/proc/${tid}`)) lingering.delete(tid);
  }
  if (lingering.size === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}

/**
 * Finishes, synchronously, the background release of a process's threads (polling for up to
 * `ms`); true when none is left, so that a new pause of the process can start.
 */
export function settleLingering(pid: number, ms: number): boolean {
  const until = Date.now() + ms;
  const mine = (): boolean => [...lingering.values()].some((l) => l.pid === pid);
  while (mine() && Date.now() < until) pollLingering();
  return !mine();
}

/** Thread ids still waiting to be detached or reaped in the background (for tests and diagnostics). */
export function lingeringThreads(): number[] {
  return [...lingering.keys()];
}
