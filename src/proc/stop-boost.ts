/**
 * Giving a target's straggling threads the CPU they need to stop. A thread that has been
 * sent PTRACE_INTERRUPT but has not stopped yet (at the first poll after the interrupts, or
 * after PauseOptions.boostAfterMs) is runnable and waiting for a CPU; once it
 * gets one it runs only kernel code (the pending interrupt is handled before any return to
 * user mode) and stops. Raising its nice value to -20 for that moment makes the scheduler
 * give it a CPU sooner against the ordinary threads it competes with in its own cgroup.
 * The previous value is read first and written back as soon as the thread is seen stopped
 * (before it runs again), when the pause gives up on it, and by the pause watchdog before it
 * kills this process. Only threads we are the tracer of and have not reaped are touched (their
 * tids cannot be reused meanwhile), or, when waitpid says a boosted one is gone, a thread still
 * alive in the target's /proc/PID/task. Threads of a real-time policy, SCHED_IDLE, or already at
 * -20 are left alone. If this process dies between the raise and the restore, the kernel
 * detaches the thread with its nice still -20 (docs/performance.md).
 */
import { getPriority, setPriority } from 'node:os';
import { libc } from './libc.js';
import { threadInfo } from './threads.js';

/** The nice value a straggler is raised to. */
const BOOST_NICE = -20;
/** Scheduling policies whose weight the nice value sets: SCHED_OTHER, SCHED_BATCH. */
const NICE_POLICIES = new Set([0, 3]);
/**
 * Thread `tid`'s nice value: getpriority(PRIO_PROCESS, tid), which on Linux is that one
 * thread's (Node's os.getPriority, as the pause watchdog's thread uses os.setPriority: no
 * native module of ours there); undefined when it cannot be read (gone).
 */
function threadNice(tid: number): number | undefined {
  try {
    return getPriority(tid);
  } catch {
    return undefined;
  }
}

/** Sets thread `tid`'s nice value; false when refused (lowering it needs CAP_SYS_NICE) or gone. */
function setThreadNice(tid: number, nice: number): boolean {
  try {
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/** Threads that can be boosted at once (each one recorded for the watchdog). */
const SLOTS = 1024;

/**
 * The threads boosted now, shared with the pause watchdog's thread so that it can restore
 * them before it kills this process: [2k] tid (0: free slot), [2k + 1] nice to restore.
 */
export const boostTable = new Int32Array(new SharedArrayBuffer(4 * 2 * SLOTS));

/** What a pause knows about a thread's boost. */
export interface Boostable {
  readonly tid: number;
  /** The nice value to restore (undefined: not boosted now). */
  boostedFrom?: number;
  /** Whether a boost was tried during this pause (tried once per thread). */
  boostTried?: boolean;
}

/**
 * Raises thread `t` (of the target: seized and interrupted by this thread, not reaped) to nice -20
 * when its policy uses nice; once per pause. True when it was raised.
 */
export function boostStraggler(t: Boostable): boolean {
  if (t.boostTried) return false;
  t.boostTried = true;
  if (!NICE_POLICIES.has(libc().threadPolicy(t.tid))) return false; // a syscall: /proc would cost 10x
  const before = threadNice(t.tid);
  if (before === undefined || before <= BOOST_NICE) return false;
  let slot = -1;
  for (let i = 0; i < SLOTS; i++) {
    if (Atomics.load(boostTable, 2 * i) === 0) {
      slot = i;
      break;
    }
  }
  if (slot < 0) return false; // not restorable by the watchdog: leave it
  // Recorded before the raise, so the watchdog never misses a raised thread.
  Atomics.store(boostTable, 2 * slot + 1, before);
  Atomics.store(boostTable, 2 * slot, t.tid);
  if (!setThreadNice(t.tid, BOOST_NICE)) {
    Atomics.store(boostTable, 2 * slot, 0); // refused (no CAP_SYS_NICE) or gone
    return false;
  }
  t.boostedFrom = before;
  return true;
}

/**
 * Writes back the nice value `t` had before its boost (no-op when not boosted). Call while
 * the thread is still ours: stopped, or interrupted and not reaped.
 */
export function restoreStraggler(t: Boostable): void {
  if (t.boostedFrom === undefined) return;
  setThreadNice(t.tid, t.boostedFrom);
  forgetStraggler(t);
}

/**
 * For a thread waitpid called gone: restores it if it is in fact still a live thread of `pid`
 * (a tid cannot be reused while its thread exists), else only forgets it (reaped: its tid may
 * be reused, so it is not written to).
 */
export function settleGoneStraggler(pid: number, t: Boostable): void {
  if (t.boostedFrom === undefined) return;
  const info = threadInfo(pid, t.tid);
  if (info && info.state !== 'Z' && info.state !== 'X') restoreStraggler(t);
  else forgetStraggler(t);
}

/** Forgets the boost of a thread that is gone without writing to it. */
function forgetStraggler(t: Boostable): void {
  if (t.boostedFrom === undefined) return;
  t.boostedFrom = undefined;
  for (let i = 0; i < SLOTS; i++) {
    if (Atomics.load(boostTable, 2 * i) === t.tid) {
      Atomics.store(boostTable, 2 * i, 0);
      break;
    }
  }
}
