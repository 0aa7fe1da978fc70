/**
 * The paused part of a snapshot: pause the process (ptrace, no signal reaches it), copy
 * goroutine headers and used stacks, read the spec's values, resume. Decoding is left to
 * take-snapshot's finishSnapshot, after the process runs again, so that a caller with many
 * processes (an agent) can pause and copy them all first, close together in time, and
 * decode afterwards. Also the warm-up that makes the code of the pause run compiled.
 */
import type { Address } from '../common/address.js';
import { collectGarbageNow } from '../common/gc.js';
import {
  captureGoroutines,
  type GoroutineCapture,
  planGoroutineCapture,
  reserveForCapture,
} from '../goruntime/goroutines/index.js';
import { settleOwnThreads } from '../proc/own-threads.js';
import { PauseTimeoutError, pauseProcess } from '../proc/pause.js';
import { rehearsePause } from '../proc/pause-rehearsal.js';
import { startPauseWatchdog } from '../proc/pause-watchdog.js';
import type { Registers } from '../proc/regs.amd64.js';
import { settleLingering } from '../proc/release.js';
import { HELPER_MIN_BYTES, VmReader } from '../proc/vm-reader.js';
import type { CapturePlan } from './capture-plan.js';
import { captureValues, valueCandidates } from './capture-values.js';
import { type KeptValues, type PausedValues, readValuesInPause, valuesInPause } from './planned-values.js';
import { readPlansFor } from './read-plan.js';
import type { FrameCapture } from './snapshot-types.js';
import type { PreparedProcess, SnapshotOptions } from './take-snapshot.js';

/** What a pause copied, ready to decode. */
export interface CopiedProcess {
  readonly pid: number;
  readonly plan: PreparedProcess;
  readonly takenAt: string;
  /** Date.now() when the pause began. */
  readonly startedAtMs: number;
  readonly capture: GoroutineCapture;
  /** The spec's values, per goroutine address (read during the pause). */
  readonly captures: ReadonlyMap<Address, FrameCapture[]>;
  /** Goroutines whose values the pause had no time for (a mask over capture.gs): read them after. */
  readonly pendingValues: Uint8Array | undefined;
  /** Goroutines whose memory the pause read by plan: evaluated after the resume from these bytes. */
  readonly kept?: KeptValues;
  /** performance.now() at the first interrupt, all stopped, copied, values read, resumed. */
  readonly at: {
    readonly started: number;
    readonly stopped: number;
    readonly copied: number;
    readonly valued: number;
    readonly resumed: number;
  };
  readonly resumeNs: number;
  readonly threads: number;
  readonly bytesRead: number;
  /** A first pause, discarded because its stop was slow (see pauseAndCopy), ms it held the process. */
  readonly discardedPauseMs?: number;
  /** The pause reached its cap: what it left (see ProcessSnapshot.partial). */
  readonly cut?: {
    readonly capMs: number;
    readonly stacksNotCopied: number;
    readonly valuesSkipped: boolean;
  };
}

/** Options of pauseAndCopy beyond the snapshot's. */
export interface PauseCopyOptions {
  /** Collect our own garbage before the pause (default true; a batch does it once for all). */
  readonly collect?: boolean;
  /**
   * Wait for this process's other threads to stop running before the pause (default true; a
   * batch waits once, after its collection, so that a thread of ours that stays busy does not
   * delay every process of the batch by the wait's limit).
   */
  readonly settle?: boolean;
}

/**
 * How long a pause may spend on the spec's values (default of SnapshotOptions.valuesBudgetMs).
 * Evaluating costs about 0.1 ms per captured frame: a server with 10,000 connections in
 * net/http.(*conn).serve (a frame the built-in spec captures) would otherwise stay paused
 * for a second. Frames past the budget are read right after the resume, and marked.
 */
export const DEFAULT_VALUES_BUDGET_MS = 5;

/**
 * The pause's hard cap, ms (default of SnapshotOptions.pauseCapMs): past it the copy stops,
 * values are left for after the resume, and the snapshot is marked partial. 100 ms: twice
 * the quiet pause of 100k goroutines (47 ms measured, bench/pause.ts), so that a large
 * service on a moderately busy machine still gets whole snapshots (at 50 ms it was cut
 * whenever the machine was busy at all), ten times a 10k one; and about the most a request
 * path tolerates (services' p99 budgets are commonly 100 ms and up). The cap is the
 * safety net against holds of hundreds of ms under contention (419 ms p99 measured).
 */
export const DEFAULT_PAUSE_CAP_MS = 100;

/**
 * Longest wait, ms, before a pause for this process's other threads to stop running
 * (proc/own-threads.ts). Sweeping after a collection of a few hundred MB takes a few ms; a
 * thread busy for longer (an agent's event loop under a burst of messages) is not waited out.
 */
const SETTLE_OWN_THREADS_MS = 20;

/** SETTLE_OWN_THREADS_MS, or PERISCOPE_SETTLE_MS (0 turns the wait off, for comparisons). */
export function settleMs(): number {
  const v = Number(process.env.PERISCOPE_SETTLE_MS);
  return process.env.PERISCOPE_SETTLE_MS !== undefined && Number.isFinite(v) && v >= 0
    ? v
    : SETTLE_OWN_THREADS_MS;
}

/** Longest the copy helper spins during one pause (it is disarmed as soon as the pause ends). */
const HELPER_ARM_MS = 1000;

/**
 * Pauses the process, copies what its snapshot needs (and the spec's values), resumes it.
 * When the pause reached its cap, or gave up stopping the threads at it, because the stop
 * alone took half the cap or more — threads waiting for a CPU to enter their stop on a busy
 * machine, not a process too big to copy in time — it pauses once more: the next stop is
 * usually quick (measured: stops of 12–43 ms at load 13 on 2 cores, most under 1 ms), and
 * each pause is still held at most the cap.
 */
export function pauseAndCopy(
  pid: number,
  plan: PreparedProcess,
  opts: SnapshotOptions = {},
  how: PauseCopyOptions = {},
): CopiedProcess {
  const capMs = opts.pauseCapMs ?? DEFAULT_PAUSE_CAP_MS;
  let discardedPauseMs = capMs;
  try {
    const first = pauseAndCopyOnce(pid, plan, opts, how);
    if (!first.cut || opts.retrySlowStop === false || first.at.stopped - first.at.started < capMs / 2)
      return first;
    discardedPauseMs = first.at.resumed - first.at.started;
  } catch (e) {
    // A stop budget of the caller's own is theirs to keep. The threads that had not stopped
    // are released in the background as they get a CPU: pause again only once they all are.
    if (!(e instanceof PauseTimeoutError) || opts.pause?.budgetMs !== undefined) throw e;
    if (opts.retrySlowStop === false) throw e;
    if (!settleLingering(pid, SETTLE_BEFORE_RETRY_MS)) throw e;
  }
  return { ...pauseAndCopyOnce(pid, plan, opts, how), discardedPauseMs };
}

/**
 * Longest wait, ms, for the threads of a stop given up at the cap to be released before the
 * second pause (they run meanwhile: only the ones that had stopped were held, and those are
 * detached already). On a busy machine they take a few scheduler slices.
 */
const SETTLE_BEFORE_RETRY_MS = 500;

function pauseAndCopyOnce(
  pid: number,
  plan: PreparedProcess,
  opts: SnapshotOptions,
  how: PauseCopyOptions,
): CopiedProcess {
  const reader = new VmReader(pid);
  const takenAt = new Date().toISOString();
  try {
    // Fault in the buffers the copy will land in (first touches of fresh pages cost
    // microseconds each on VMs), then collect our own garbage, the new buffers counted:
    // otherwise a collection may start inside the pause.
    const reserved = reserveForCapture(plan.goroutines, reader);
    if (how.collect !== false) collectGarbageNow();
    // Let our own background threads (the collection's sweeping, V8's compiler) finish first:
    // running during the stop, they took the CPU from the target's threads and from us.
    if (how.settle !== false) settleOwnThreads(settleMs());
    const startedAtMs = Date.now();
    const capMs = opts.pauseCapMs ?? DEFAULT_PAUSE_CAP_MS;
    const paused = pauseProcess(pid, { capMs, ...opts.pause });
    // The pause starts when the first thread is asked to stop (the checks before stop nothing).
    const started = paused.timings.startedAt;
    const capAt = started + capMs;
    // The copy helper spins (instead of sleeping) while the target is stopped, when there is
    // enough to copy to share: the second core is idle then. Armed after the stop, so that it
    // does not compete with the target's threads for a core while they enter their stops.
    reader.armHelper(HELPER_ARM_MS, reserved.bytes);
    const stopped = performance.now();
    let capture: GoroutineCapture;
    let captures = new Map<Address, FrameCapture[]>();
    let pendingValues: Uint8Array | undefined;
    let kept: KeptValues | undefined;
    let valuesSkipped = false;
    let copied = stopped;
    let valued = stopped;
    try {
      const threads = paused.threads.map((t) => ({ tid: t.tid, pc: t.regs.pc, sp: t.regs.sp }));
      capture = captureGoroutines(plan.goroutines, reader, threads, {
        scratch: reserved.scratch,
        deadline: capAt,
      });
      copied = performance.now();
      if (plan.functions.size > 0 && copied >= capAt) {
        // No time left: every value is read after the resume (and marked so).
        pendingValues = valueCandidates(plan, capture);
        valuesSkipped = true;
      } else if (plan.functions.size > 0) {
        // Values must be consistent with the stacks: read what the expressions reach while
        // the process is still stopped (by plan, evaluated after the resume; or evaluated
        // here, for frames without a plan yet).
        const regs = new Map<number, Registers>(paused.threads.map((t) => [t.tid, t.regs]));
        const budget = opts.valuesBudgetMs ?? DEFAULT_VALUES_BUDGET_MS;
        const deadline = Math.min(performance.now() + budget, capAt);
        const r = valuesInPause()
          ? captureValues(plan, capture, reader, regs, opts.maxFrames, { deadline })
          : readValuesInPause(plan, pid, capture, reader, regs, opts.maxFrames, deadline);
        captures = r.captures;
        if ('kept' in r) kept = (r as PausedValues).kept;
        pendingValues = r.pending;
        valuesSkipped = r.pending !== undefined && performance.now() >= capAt;
      }
      valued = performance.now();
      if (opts.holdPauseMs) busyWait(opts.holdPauseMs);
    } finally {
      reader.disarmHelper(); // before the target's threads run again and want both cores
      paused.resume();
    }
    return {
      pid,
      plan,
      takenAt,
      startedAtMs,
      capture,
      captures,
      pendingValues,
      ...(kept ? { kept } : {}),
      at: { started, stopped, copied, valued, resumed: paused.timings.resumedAt },
      resumeNs: paused.timings.resumeNs,
      threads: paused.threads.length,
      bytesRead: reader.stats().bytesRead,
      ...(capture.notCopiedCount || valuesSkipped
        ? { cut: { capMs, stacksNotCopied: capture.notCopiedCount ?? 0, valuesSkipped } }
        : {}),
    };
  } finally {
    reader.close();
  }
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Deliberately synchronous: the pause must not yield to the event loop.
  }
}

/** Captures run on the live process to warm up a thread's code, and the most the runs after the first spend. */
const WARM_UP_RUNS = 30;
const WARM_UP_BUDGET_MS = 150;
/**
 * Runs after the first that the warm-up makes even past WARM_UP_BUDGET_MS (within
 * WARM_UP_MIN_RUNS_CAP_MS). On a busy machine (load 4-10) the budget let 3-4 runs through
 * where a quiet one makes all 30, and V8 was still compiling (and deoptimizing: its OSR code
 * of the copy's loops, compiled during the one full run, lacked feedback for what follows
 * them) inside the pause: the first pause's copy took 13.9-15.8 ms against 8.5-9.5 ms with
 * at least 15 runs (throw-away script, 10k goroutines, medians of 6, interleaved).
 */
const WARM_UP_MIN_RUNS = 15;
const WARM_UP_MIN_RUNS_CAP_MS = 1000;

/** WARM_UP_MIN_RUNS, or PERISCOPE_WARM_UP_MIN_RUNS (0: the runs stop at WARM_UP_BUDGET_MS whatever their number, as before 2026-12-06 noon, for comparisons). */
function warmUpMinRuns(): number {
  return numberFromEnv('PERISCOPE_WARM_UP_MIN_RUNS', WARM_UP_MIN_RUNS);
}

/** Goroutines read by each warm-up run after the first. */
const WARM_UP_GOROUTINES = 2000;
/**
 * Runs of the pause's path for values (reads by plan) on the first warm-up run's capture, and
 * the time they may start in (each scans every copied stack: 100 MB of big stacks take tens
 * of milliseconds a run, which the target's threads would wait for on a busy machine). In a
 * fresh process at 10k goroutines a run took 2-20 ms cold and ~1 ms once compiled, after
 * about 8 runs: 20 ms let 2-3 run, and the one-shot CLI's pause spent 2.2-4.9 ms on values
 * (2026-12-06; the agent, warm from earlier pauses, 0.9).
 */
const WARM_UP_PLANNED_RUNS = 30;
const WARM_UP_PLANNED_MS = 60;

/**
 * Most time the warm-up spends evaluating the spec's values to learn their read plans, ms (a
 * frame not learned then is evaluated inside the pause, within its budget for values).
 */
const WARM_UP_LEARN_MS = 50;

/**
 * Most time the planned runs go on while a spec'd frame is still evaluated instead of read by
 * plan, ms (its evaluation cut before the end, cold, so not learned); past WARM_UP_PLANNED_MS.
 */
const WARM_UP_LEARN_CAP_MS = 300;

/** WARM_UP_LEARN_CAP_MS, or PERISCOPE_WARM_UP_LEARN_CAP_MS (0: the planned runs stop at WARM_UP_PLANNED_MS whatever they learned, as before 2026-12-06 noon, for comparisons). */
function warmUpLearnCapMs(): number {
  return numberFromEnv('PERISCOPE_WARM_UP_LEARN_CAP_MS', WARM_UP_LEARN_CAP_MS);
}

/** WARM_UP_LEARN_MS, or PERISCOPE_WARM_UP_LEARN_MS (5, the pause's budget, as before 2026-12-06, for comparisons). */
function warmUpLearnMs(): number {
  return numberFromEnv('PERISCOPE_WARM_UP_LEARN_MS', WARM_UP_LEARN_MS);
}

/** WARM_UP_PLANNED_MS, or PERISCOPE_WARM_UP_PLANNED_MS (20, as before 2026-12-06, for comparisons). */
function warmUpPlannedMs(): number {
  return numberFromEnv('PERISCOPE_WARM_UP_PLANNED_MS', WARM_UP_PLANNED_MS);
}

/** The environment variable `name` as a number (>= 0: ms, runs), else `fallback`. */
function numberFromEnv(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
}

/** Whether the warm-up arms the copy helper for its first run (PERISCOPE_WARM_UP_ARM=0: not, as before 2026-12-06, for comparisons). */
function warmUpArms(): boolean {
  return process.env.PERISCOPE_WARM_UP_ARM !== '0';
}

/** Whether the warm-up starts the pause's watchdog thread (PERISCOPE_WARM_UP_WATCHDOG=0: not, as before 2026-12-06, for comparisons). */
function warmUpStartsWatchdog(): boolean {
  return process.env.PERISCOPE_WARM_UP_WATCHDOG !== '0';
}

/** Whether the warm-up rehearses the pause on a throw-away child (PERISCOPE_WARM_UP_REHEARSAL=0: not, as before 2026-12-06, for comparisons). */
function warmUpRehearses(): boolean {
  return process.env.PERISCOPE_WARM_UP_REHEARSAL !== '0';
}

/** Longest wait for the copy helper before a thread's first pause, ms. */
const HELPER_READY_WAIT_MS = 2000;

let warmedThread = false;
const warmed = new WeakSet<CapturePlan>();

/**
 * The first captures in a Node thread (and the first capture of values with a plan) run cold
 * code: interpreted, then compiled on the fly, they took 3–4x longer (at 10k goroutines, a
 * 10 ms pause became 30–50 ms in a fresh process). So before the first pause, the code that
 * runs inside it — the copy, the stack scan, the values — runs a few times on the live
 * process (which costs the target nothing), until it is compiled or the budget is spent.
 */
export function warmUpCapture(pid: number, plan: PreparedProcess, opts: SnapshotOptions = {}): void {
  const values = plan.functions.size > 0 && !warmed.has(plan);
  if (warmedThread && !values) return;
  const firstOfThread = !warmedThread;
  warmedThread = true;
  warmed.add(plan);
  // The pause's watchdog thread (proc/pause-watchdog.ts) is started by the first pause: in a
  // fresh process (a one-shot CLI) its start — a Node worker booting, tens of ms of CPU — then
  // ran during that pause, on the core the target's threads and the copy helper need. Started
  // here, it is up and idle by the pause.
  if (warmUpStartsWatchdog()) startPauseWatchdog();
  // The stop and the resume cannot run without stopping a process: they run on a throw-away
  // child of ours (proc/pause-rehearsal.ts), with the real pause's options, once per thread.
  if (firstOfThread && warmUpRehearses())
    rehearsePause({ capMs: opts.pauseCapMs ?? DEFAULT_PAUSE_CAP_MS, ...opts.pause });
  // One reader and one scratch arena for every run: faulting in fresh ones each time (tens
  // of megabytes at 10k goroutines) would leave the budget only a few runs.
  const reader = new VmReader(pid);
  try {
    const { scratch, bytes } = reserveForCapture(plan.goroutines, reader);
    // The reserve started the copy helper thread if the pause will share its copy: wait for
    // it here, so that the runs below exercise the two-thread copy and the pause has both
    // threads. A one-shot CLI used to pause before the helper was up (loading its native
    // binding takes 0.1–1 s on a busy machine) and copied on one thread, cold.
    if (bytes >= HELPER_MIN_BYTES) reader.helperReady(HELPER_READY_WAIT_MS);
    // The first run reads every goroutine (it sizes the pause's reserve); the others only
    // the first few thousand: the same code, compiled as soon, in a fraction of the time (at
    // 10k goroutines a full cold run took the whole budget, and the pause ran cold code).
    // Made like the full plan (not spread from it): an object of another shape here would
    // leave the capture's code compiled for that shape, and deoptimized inside the pause.
    const small = planGoroutineCapture(plan.bin, {
      bias: plan.bias,
      maxGoroutines: Math.min(plan.goroutines.maxGoroutines, WARM_UP_GOROUTINES),
    });
    const plans = readPlansFor(plan.bin, pid);
    const once = (goroutines: typeof small, plannedRuns: number, first = false): void => {
      scratch.reset();
      reader.recycleReserve();
      // The first (full) run copies as the pause does, with the helper armed: arming it places
      // it off this thread's CPU, whose system calls ran cold inside a one-shot CLI's first
      // pause (0.3-0.4 ms of its stop phase, against 0.07 ms warm).
      const arm = first && warmUpArms();
      if (arm) reader.armHelper(HELPER_ARM_MS, bytes);
      let capture: GoroutineCapture;
      try {
        capture = captureGoroutines(goroutines, reader, [], { scratch });
      } finally {
        if (arm) reader.disarmHelper();
      }
      if (plan.functions.size === 0) return;
      // The first pause then reads the frames learned here by plan. Not within the pause's
      // budget for values: cold, in a fresh process, the first frame alone took more than its
      // 5 ms, so the one-shot CLI learned one of the target's two spec'd frames and evaluated
      // the other inside its pause (values 2.5-5 ms against the agent's 0.9).
      captureValues(plan, capture, reader, new Map(), opts.maxFrames, {
        deadline: performance.now() + warmUpLearnMs(),
        learn: plans,
      });
      // The pause's own path for values (scan, unwinding, reads by plan) on those frames: it
      // runs once per snapshot, and would otherwise run interpreted inside the pause. A frame
      // still without a plan is evaluated by it, and learned when that evaluation completes:
      // until every frame is read by plan, each run has the learning's budget, and the runs go
      // on past their time (to WARM_UP_LEARN_CAP_MS). On a busy machine the first evaluation,
      // cold, outlasted the 50 ms (a socket frame: 160 ms at load 9) and was cut, unlearned, and
      // the single planned run that fitted in 60 ms cut it again: the pause evaluated it, past
      // its 5 ms budget (throw-away script, 10k goroutines, 3 runs of 3).
      const start = performance.now();
      const until = start + warmUpPlannedMs();
      const learnCap = warmUpLearnCapMs();
      const learnUntil = start + Math.max(warmUpPlannedMs(), learnCap);
      let learning = learnCap > 0;
      for (let i = 0; i < plannedRuns; i++) {
        const now = performance.now();
        if (now >= (learning ? learnUntil : until)) break;
        const r = readValuesInPause(
          plan,
          pid,
          capture,
          reader,
          new Map(),
          opts.maxFrames,
          now + (learning ? warmUpLearnMs() : DEFAULT_VALUES_BUDGET_MS),
        );
        learning &&= r.captures.size > 0 || r.pending !== undefined;
      }
    };
    once(plan.goroutines, valuesInPause() ? 0 : WARM_UP_PLANNED_RUNS, true);
    const t0 = performance.now();
    const until = t0 + WARM_UP_BUDGET_MS;
    const minRuns = warmUpMinRuns();
    for (let run = 1; run < WARM_UP_RUNS; run++) {
      const now = performance.now();
      if (now >= until && (run > minRuns || now >= t0 + WARM_UP_MIN_RUNS_CAP_MS)) break;
      once(small, 0);
    }
  } catch {
    // Only a warm-up: the real capture reports its own errors.
  } finally {
    reader.close();
    // Nothing read here is referenced any more: the pause's reserve can be this one, faulted
    // in and touched by the runs (where the thread pools its reserves).
    reader.returnReserve();
  }
}
