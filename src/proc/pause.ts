/**
 * Pausing a live process with ptrace, invisibly to it: PTRACE_SEIZE and PTRACE_INTERRUPT
 * every thread (no signal is ever sent), collect every thread's registers, and detach.
 * The target is never left stopped: errors and the deadline detach everything, and if this
 * process dies the kernel detaches its tracees, which run on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PeriscopeError } from '../common/errors.js';
import { Errno, libc } from './libc.js';
import { armPauseWatchdog, disarmPauseWatchdog, startPauseWatchdog } from './pause-watchdog.js';
import { tracerOf } from './process-info.js';
import { getRegs, interrupt, pollStop, seize, stopWithoutStatus } from './ptrace.js';
import type { Registers } from './regs.amd64.js';
import { type HeldThread, type ReleaseResult, releaseThreads, settleLingering } from './release.js';
import { boostStraggler, restoreStraggler, settleGoneStraggler } from './stop-boost.js';
import { listTids, threadInfo } from './threads.js';

/** Tuning of one pause. */
export interface PauseOptions {
  /**
   * Longest the stopping of all threads may take before we give up and resume, in ms
   * (default: capMs when given, else 2000).
   */
  readonly budgetMs?: number;
  /**
   * The pause's hard cap, ms from the first interrupt: the stop gives up at it (unless
   * budgetMs says otherwise), and the caller is to resume by it (paused-capture.ts stops
   * copying there). Threads stopped early are held while the rest stop, so the stop counts.
   */
  readonly capMs?: number;
  /**
   * Longest the pause may be held before it is resumed automatically (needs the event loop to
   * turn; default 2000). If this thread is stuck instead, the pause watchdog kills this
   * process once the stop's budget plus twice this has passed, and the kernel releases the
   * target.
   */
  readonly maxHoldMs?: number;
  /**
   * Run this thread SCHED_FIFO until the last detach, from the first interrupt (stopWait
   * `realtime`, the default) or else from the last stop, when permitted (default true; false
   * keeps its scheduling, e.g. to measure what real-time priority buys).
   */
  readonly realtime?: boolean;
  /**
   * How this thread waits for the target's threads to stop. `realtime` (default): it runs
   * SCHED_FIFO from the first interrupt (when permitted, and unless `realtime` is false), so
   * that neither the interrupt loop nor a poll is preempted, and sleeps 50 us between polls,
   * so that it takes a CPU from the threads it waits for only for the polls themselves;
   * without the permission it only sleeps. `sleep`: polls and sleeps between polls at
   * ordinary priority. `yield`: polls and yields the CPU between polls (before 2026-12-06).
   * Measured with bench/pause.ts --contention-only (docs/performance.md).
   */
  readonly stopWait?: 'yield' | 'sleep' | 'realtime';
  /**
   * Ms after its interrupt at which a thread of the target that has not stopped yet gets nice
   * -20 until it stops (proc/stop-boost.ts; its own value is written back as soon as it is seen
   * stopped, before it runs again); false: never. Default DEFAULT_BOOST_AFTER_MS, 0: at the
   * first poll that finds it not stopped (measured against 1 ms, 3 ms and none with
   * bench/pause.ts --contention-only: docs/performance.md).
   */
  readonly boostAfterMs?: number | false;
}

/** PauseOptions.boostAfterMs by default. */
export const DEFAULT_BOOST_AFTER_MS = 0;

/** One stopped thread. */
export interface PausedThread {
  readonly tid: number;
  /** interrupt: stopped by us; signal: stopped while a signal was being delivered (held, re-injected on resume); group-stop: the process was stopped by a stop signal (stays stopped after resume). */
  readonly stop: HeldThread['stop'];
  /** The signal held for re-injection (0 for none). */
  readonly signal: number;
  readonly regs: Registers;
}

/** How long each phase took, in nanoseconds. */
export interface PauseTimings {
  /**
   * performance.now() when the first thread was asked to stop: where the target's pause
   * begins (the checks before it, e.g. for another tracer, stop nothing).
   */
  readonly startedAt: number;
  /** From the first PTRACE_SEIZE to every thread stopped. */
  readonly stopNs: number;
  /** Reading every thread's registers. */
  readonly regsNs: number;
  /** Detaching every thread (0 until resumed). */
  resumeNs: number;
  /**
   * performance.now() when the last thread was detached (0 until resumed): where the target's
   * pause ends. Restoring this thread's priority comes after, and on a busy machine the
   * scheduler may preempt us right there for milliseconds, while the target already runs.
   */
  resumedAt: number;
  /** Passes over /proc/PID/task until no new thread appeared. */
  readonly rounds: number;
}

/** A paused process; call resume() (idempotent, never throws) as soon as possible. */
export interface Paused {
  readonly pid: number;
  readonly threads: readonly PausedThread[];
  readonly timings: PauseTimings;
  /** Whether resume() has run (by the caller or by the hold watchdog). */
  readonly resumed: boolean;
  /** Detaches every thread and reports what happened; later calls return the first result. */
  resume(): ReleaseResult;
}

/** Signals that the pause took longer than its budget; everything was resumed. */
export class PauseTimeoutError extends PeriscopeError {
  constructor(message: string) {
    super('timeout', message);
    this.name = 'PauseTimeoutError';
  }
}

const now = (): number => Number(process.hrtime.bigint());
const nap = new Int32Array(new SharedArrayBuffer(4));

function exited(pid: number): PeriscopeError {
  return new PeriscopeError('not-found', `process ${pid} exited`);
}

function traced(pid: number, tracer: { pid: number; name: string }): PeriscopeError {
  if (tracer.pid === process.pid) {
    return new PeriscopeError(
      'bad-usage',
      `process ${pid} is already paused by this process; resume it first`,
    );
  }
  return new PeriscopeError(
    'bad-usage',
    `process ${pid} is being traced by PID ${tracer.pid} (${tracer.name}), e.g. a debugger; detach it first`,
  );
}

/**
 * Finishes the release of an earlier pause of `pid` whose threads had not all stopped; throws
 * when one is still held (a thread blocked in the kernel), since it cannot be seized again yet.
 */
function settleEarlierPause(pid: number): void {
  if (settleLingering(pid, 100)) return;
  throw new PeriscopeError(
    'bad-usage',
    `process ${pid} is still being released from an earlier pause that timed out (a thread is blocked in the kernel); retry later`,
  );
}

function notPermitted(pid: number): PeriscopeError {
  settleEarlierPause(pid);
  const tracer = tracerOf(pid);
  if (!tracer) return exited(pid);
  if (tracer.pid) return traced(pid, tracer);
  let yama = '';
  try {
    yama = readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim();
  } catch {
    // No Yama on this kernel.
  }
  if (yama === '3') {
    return new PeriscopeError(
      'bad-usage',
      `cannot pause process ${pid}: ptrace is disabled on this machine (kernel.yama.ptrace_scope = 3, which only a reboot resets)`,
    );
  }
  const yamaNote = yama && yama !== '0' ? ` (kernel.yama.ptrace_scope = ${yama} also requires it)` : '';
  return new PeriscopeError(
    'permission',
    `not permitted to pause process ${pid}: run as root or with CAP_SYS_PTRACE${yamaNote}; a security module (SELinux, AppArmor) may also forbid ptrace`,
  );
}

/** Stops every thread of a process without sending it a signal and reads their registers. */
export function pauseProcess(pid: number, opts: PauseOptions = {}): Paused {
  const budgetMs = opts.budgetMs ?? opts.capMs ?? 2000;
  if (pid === process.pid)
    throw new PeriscopeError('bad-usage', `cannot pause this process itself (pid ${pid})`);
  settleEarlierPause(pid);
  const tracer = tracerOf(pid);
  if (!tracer)
    throw new PeriscopeError(
      'not-found',
      `process ${pid} does not exist (it may have exited); check the pid`,
    );
  if (tracer.pid) throw traced(pid, tracer);

  startPauseWatchdog(); // before anything stops: starting a thread takes milliseconds
  const hold = opts.maxHoldMs ?? 2000;
  const t0 = now();
  const deadline = t0 + budgetMs * 1e6;
  const held = new Map<number, HeldThread>();
  let rounds = 0;
  let startedAt = 0;
  const wait = opts.stopWait ?? 'realtime';
  try {
    // Raised before the first interrupt: the stop's own loop is then never preempted.
    if (wait === 'realtime' && opts.realtime !== false) raisePriority();
    for (;;) {
      const tids = listTids(pid);
      if (!tids || !existsSync(`/proc/${pid}/exe`)) throw exited(pid);
      const fresh = tids.filter((t) => !held.has(t));
      if (fresh.length === 0) break;
      rounds++;
      // Seizing stops nothing: seize every new thread first, then interrupt them back to
      // back, so that the first thread stops only microseconds before the last.
      const seized = fresh.filter((tid) => attach(pid, tid, held));
      if (startedAt === 0) {
        startedAt = performance.now();
        armPauseWatchdog(pid, budgetMs + 2 * hold);
      }
      for (const tid of seized) interrupt(tid); // ESRCH: already exiting, its exit is reported to us
      const boostAfter = opts.boostAfterMs ?? DEFAULT_BOOST_AFTER_MS;
      waitForStops(pid, held, deadline, budgetMs, wait !== 'yield' || raised, boostAfter);
    }
    const t1 = now();
    const threads: PausedThread[] = [];
    for (const t of held.values()) {
      if (t.state !== 'stopped') continue;
      const regs = getRegs(t.tid);
      if (!regs) continue; // killed while stopped: resume() collects its exit
      threads.push({ tid: t.tid, stop: t.stop, signal: t.signal, regs });
    }
    if (threads.length === 0) throw exited(pid);
    if (opts.realtime !== false && !raised) raisePriority();
    const t2 = now();
    return makePaused(
      pid,
      threads,
      held,
      { startedAt, stopNs: t1 - t0, regsNs: t2 - t1, resumeNs: 0, resumedAt: 0, rounds },
      opts,
    );
  } catch (e) {
    releaseThreads(pid, held.values());
    disarmPauseWatchdog();
    restorePriority();
    throw e;
  }
}

/** Seizes one thread (it runs on); false for a thread that is exiting (skipped). */
function attach(pid: number, tid: number, held: Map<number, HeldThread>): boolean {
  const r = seize(tid);
  if (!r.ok) {
    const info = threadInfo(pid, tid);
    if (r.errno === Errno.ESRCH || !info || info.state === 'Z' || info.state === 'X') {
      held.set(tid, { tid, state: 'gone', signal: 0, stop: 'interrupt' }); // exited meanwhile
      return false;
    }
    if (r.errno === Errno.EPERM) throw notPermitted(pid);
    throw new PeriscopeError(
      'unsupported',
      `PTRACE_SEIZE of thread ${tid} of process ${pid} failed (errno ${r.errno})`,
    );
  }
  held.set(tid, { tid, state: 'attached', signal: 0, stop: 'interrupt' });
  return true;
}

/** Polls without progress after which a pending thread is also asked directly whether it has stopped. */
const ASK_THREAD_AFTER = 8;

/** Polls the attached threads until each has stopped or exited, or the deadline passes. */
function waitForStops(
  pid: number,
  held: Map<number, HeldThread>,
  deadline: number,
  budgetMs: number,
  sleep: boolean,
  boostAfterMs: number | false,
): void {
  let pending = [...held.values()].filter((t) => t.state === 'attached');
  let idle = 0;
  const boostAt = boostAfterMs === false ? Number.POSITIVE_INFINITY : now() + boostAfterMs * 1e6;
  while (pending.length > 0) {
    const before = pending.length;
    const boost = now() >= boostAt;
    pending = pending.filter((t) => {
      let o = pollStop(t.tid);
      // Slow to report: perhaps stopped, its status taken by another waitpid (stopWithoutStatus).
      if (o.kind === 'running' && idle >= ASK_THREAD_AFTER) o = stopWithoutStatus(t.tid);
      if (o.kind === 'running') {
        if (boost) boostStraggler(t);
        return true;
      }
      if (o.kind === 'gone') {
        t.state = 'gone';
        settleGoneStraggler(pid, t); // restored only if still a live thread of pid
      } else {
        restoreStraggler(t); // stopped: its own nice back before it can run again
        t.state = 'stopped';
        if (o.kind === 'signal-stop') t.signal = o.signal;
        t.stop = o.kind === 'signal-stop' ? 'signal' : o.kind === 'group-stop' ? 'group-stop' : 'interrupt';
      }
      return false;
    });
    if (pending.length > 0 && now() > deadline) {
      const late = pending.map((t) => `${t.tid} (state ${threadInfo(pid, t.tid)?.state ?? '?'})`).join(', ');
      throw new PauseTimeoutError(
        `pausing process ${pid} took longer than ${budgetMs} ms (threads not stopped: ${late}); it was resumed. ` +
          'A thread in state D is blocked in the kernel, or the machine is too busy for the threads to stop: retry later, or raise the pause cap (--pause-cap-ms)',
      );
    }
    idle = pending.length === before ? idle + 1 : 0;
    // No progress: let the threads we wait for have this CPU (they must run to stop): sleep
    // (a SCHED_FIFO thread must: a yield would give the CPU to no ordinary thread), or yield
    // and after a while sleep.
    if (idle > 0 && sleep) Atomics.wait(nap, 0, 0, 0.05);
    else if (idle > 0) yieldCpu();
    if (idle > 1000) Atomics.wait(nap, 0, 0, 0.05);
  }
}

/** Real-time priority of this thread while the target is being stopped and is stopped. */
const PAUSE_PRIORITY = 1;
let raised = false;

/**
 * From the first interrupt (or once every thread is stopped), this thread runs SCHED_FIFO
 * until the last one is detached: on a busy machine an ordinary thread is preempted for
 * milliseconds at a time — by other work, and by the very threads it has just detached, or
 * in the middle of its interrupt loop — while the threads already stopped wait. During the
 * stop it sleeps between its polls (waitForStops): the target's threads must get a CPU to
 * stop, and a SCHED_FIFO thread that spun would keep one from them. Needs CAP_SYS_NICE (root
 * has it); without it nothing changes. Bounded: the pause has a budget, and the kernel keeps
 * 5% of each CPU for ordinary threads.
 */
function raisePriority(): void {
  try {
    raised = libc().setRealtime(PAUSE_PRIORITY);
  } catch {
    raised = false;
  }
}

function restorePriority(): void {
  if (!raised) return;
  raised = false;
  try {
    libc().setRealtime(0);
  } catch {
    // Nothing to restore.
  }
}

function yieldCpu(): void {
  libc().schedYield();
}

function makePaused(
  pid: number,
  threads: PausedThread[],
  held: Map<number, HeldThread>,
  timings: PauseTimings,
  opts: PauseOptions,
): Paused {
  let result: ReleaseResult | undefined;
  const watchdog = setTimeout(() => paused.resume(), opts.maxHoldMs ?? 2000);
  watchdog.unref();
  const paused: Paused = {
    pid,
    threads,
    timings,
    get resumed() {
      return result !== undefined;
    },
    resume() {
      if (result) return result;
      clearTimeout(watchdog);
      const t = now();
      result = releaseThreads(pid, held.values());
      timings.resumeNs = now() - t;
      timings.resumedAt = performance.now();
      disarmPauseWatchdog();
      restorePriority();
      return result;
    },
  };
  return paused;
}
