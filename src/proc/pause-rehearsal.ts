/**
 * A rehearsal of the pause on a throw-away child process of ours (`sleep`), before a thread's
 * first real pause: the stop (PTRACE_SEIZE and INTERRUPT, the polls, the straggler's boost and
 * restore, the register reads, SCHED_FIFO) and the resume (the detaches, the priority back)
 * run once for real, so that V8 has compiled their functions and koffi's call paths have been
 * taken before they run inside the target's pause. In a fresh process (a one-shot `periscope
 * snapshot --pid`) they otherwise ran there for the first time: a throw-away script's first
 * pause of a `sleep` stopped in 2.3–18 ms and resumed in 0.22–0.26 ms, the next ones in 0.1–0.2
 * and 0.03 ms. Calling each system call once on our own thread id, where it fails at once,
 * gained nothing (docs/performance.md): the path, not the system call, is what was cold.
 *
 * The child is spawned with posix_spawnp (no copy of this process's page tables, unlike a
 * fork of a process that may hold a gigabyte), its stdio on /dev/null and no environment,
 * paused REHEARSALS times, then SIGKILLed and reaped here, synchronously: it never outlives
 * the call (if this process dies first, `sleep` ends by itself within REHEARSAL_SLEEP_S and
 * init reaps it). Where `sleep` is missing (a minimal container) nothing is rehearsed. Only
 * our own child is ever touched.
 */
import { libc } from './libc.js';
import { type PauseOptions, pauseProcess } from './pause.js';
import { pollStop } from './ptrace.js';

/** What a rehearsal did (for tests and diagnostics). */
export interface PauseRehearsal {
  /** The throw-away child's pid (reaped: no longer a process). */
  readonly pid: number;
  /** Pauses of it that stopped every thread and resumed. */
  readonly paused: number;
  /** Its threads seen in the first pause. */
  readonly threads: number;
  /** Stop and resume of each pause, ns. */
  readonly stopNs: readonly number[];
  readonly resumeNs: readonly number[];
  /** Whether the child was reaped (false: still dying after REAP_MS; a zombie until this process exits). */
  readonly reaped: boolean;
}

/** Pauses of the child: the first runs the code cold, the second and third with V8's feedback. */
const REHEARSALS = 3;
/** The child's own lifetime, seconds, should this process die before it kills it. */
const REHEARSAL_SLEEP_S = '2';
/** Longest wait for the SIGKILLed child's exit, ms. */
const REAP_MS = 1000;

let last: PauseRehearsal | undefined;
const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Rehearses the pause on a throw-away child with the real pause's options; undefined when no
 * child could be started. Never throws, and never leaves the child behind.
 */
export function rehearsePause(opts: PauseOptions = {}): PauseRehearsal | undefined {
  let pid: number;
  try {
    pid = libc().spawnp('sleep', ['sleep', REHEARSAL_SLEEP_S]);
  } catch {
    return undefined;
  }
  if (pid <= 0) return undefined;
  const stopNs: number[] = [];
  const resumeNs: number[] = [];
  let threads = 0;
  try {
    for (let i = 0; i < REHEARSALS; i++) {
      const paused = pauseProcess(pid, opts);
      paused.resume();
      if (i === 0) threads = paused.threads.length;
      stopNs.push(paused.timings.stopNs);
      resumeNs.push(paused.timings.resumeNs);
    }
  } catch {
    // Only a rehearsal (the child exited early on a very busy machine, or ptrace is refused:
    // the real pause reports that itself).
  }
  const reaped = killAndReap(pid);
  last = { pid, paused: stopNs.length, threads, stopNs, resumeNs, reaped };
  return last;
}

/** The last rehearsal of this thread, if any. */
export function lastPauseRehearsal(): PauseRehearsal | undefined {
  return last;
}

/** SIGKILLs our child `pid` and collects its exit (ptrace.ts's poll, which never blocks); true once collected. */
function killAndReap(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Exited already: collected below.
  }
  const until = performance.now() + REAP_MS;
  for (;;) {
    const o = pollStop(pid);
    if (o.kind === 'gone') return true; // collected (or ECHILD: nothing of ours is left to collect)
    if (performance.now() >= until) return false;
    if (o.kind === 'running') Atomics.wait(nap, 0, 0, 0.1);
  }
}
