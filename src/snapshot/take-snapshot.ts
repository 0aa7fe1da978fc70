/**
 * Taking a snapshot of one process: prepare outside the pause, pause (ptrace, no signal
 * reaches the target), copy goroutine headers and used stacks, capture the spec's values,
 * resume, and only then decode. With `noPause`, read while the process runs and mark the
 * goroutines that changed under us.
 */
import { type Address, addr } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { collectGarbageNow } from '../common/gc.js';
import { mayHaveFrames } from '../goruntime/frame-hosts.js';
import type { GoroutineSnapshot } from '../goruntime/goroutines.js';
import {
  captureGoroutines,
  type GoroutineCapture,
  reserveForCapture,
} from '../goruntime/goroutines-capture.js';
import { decodeGoroutines } from '../goruntime/goroutines-decode.js';
import { makeValueContext } from '../goruntime/value-context.js';
import { executableImage } from '../proc/maps.js';
import { type PauseOptions, pauseProcess } from '../proc/pause.js';
import { processExists } from '../proc/process-info.js';
import type { Registers } from '../proc/regs.amd64.js';
import { VmReader } from '../proc/vm-reader.js';
import { EMPTY_SPEC, type Spec } from '../spec/spec-types.js';
import { binaryFor } from './binary-cache.js';
import { type CapturePlan, prepareCapture } from './capture-plan.js';
import { captureFrames } from './capture-values.js';
import { PauseMemory } from './pause-memory.js';
import type { FrameCapture, ProcessSnapshot, SnapshotGoroutine } from './snapshot-types.js';

/** How to take a snapshot. */
export interface SnapshotOptions {
  readonly spec?: Spec;
  /** Read while the process runs (no ptrace): nothing stops, but stacks may be inconsistent. */
  readonly noPause?: boolean;
  readonly pause?: PauseOptions;
  /** Logical frames kept per goroutine (default 1024). */
  readonly maxFrames?: number;
  /**
   * Testing aid: keep the process paused this long after copying (to test that killing the
   * snapshotting process mid-pause never leaves the target stopped).
   */
  readonly holdPauseMs?: number;
}

/** Prepares a capture of `pid`: reads its executable, loads the binary (cached), compiles the spec. */
export function prepareProcess(pid: number, spec: Spec = EMPTY_SPEC): PreparedProcess {
  if (!processExists(pid))
    throw new PeriscopeError('not-found', `process ${pid} does not exist (it may have exited)`);
  const image = executableImage(pid);
  const bin = binaryFor(image.elf);
  return { ...prepareCapture(bin, spec, image.bias), executable: image.path };
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Deliberately synchronous: the pause must not yield to the event loop.
  }
}

/** Takes a snapshot of one process: prepare, then capture. */
export function snapshotProcess(pid: number, opts: SnapshotOptions = {}): ProcessSnapshot {
  return captureProcess(pid, prepareProcess(pid, opts.spec), opts);
}

/** A prepared process, ready to be captured (possibly many times, e.g. by an agent). */
export type PreparedProcess = CapturePlan & { readonly executable: string };

/**
 * The capture phase alone, for a process prepared earlier (the fleet prepares every process
 * first, then captures them all close in time).
 */
export function captureProcess(
  pid: number,
  plan: PreparedProcess,
  opts: SnapshotOptions = {},
): ProcessSnapshot {
  if (opts.noPause) return snapshotRunning(pid, plan, opts);
  warmUp(pid, plan, opts);
  return snapshotPaused(pid, plan, opts);
}

/** Captures run on the live process to warm up a thread's code, and the most it spends on them. */
const WARM_UP_RUNS = 3;
const WARM_UP_BUDGET_MS = 250;

let warmedThread = false;
const warmed = new WeakSet<CapturePlan>();

/** Longest the copy helper spins during one pause (it is disarmed as soon as the pause ends). */
const HELPER_ARM_MS = 1000;

/**
 * The first captures in a Node thread (and the first capture of values with a plan) run cold
 * code: interpreted, then compiled on the fly, they took 3–4x longer (at 10k goroutines, a
 * 10 ms pause became 30–50 ms in a fresh process). So before the first pause, the code that
 * runs inside it — the copy, the stack scan, the values — runs a few times on the live
 * process (which costs the target nothing), until it is compiled or the budget is spent.
 */
function warmUp(pid: number, plan: PreparedProcess, opts: SnapshotOptions): void {
  const values = plan.functions.size > 0 && !warmed.has(plan);
  if (warmedThread && !values) return;
  warmedThread = true;
  warmed.add(plan);
  const until = performance.now() + WARM_UP_BUDGET_MS;
  try {
    for (let run = 0; run < WARM_UP_RUNS && performance.now() < until; run++) {
      const reader = new VmReader(pid);
      try {
        const { scratch } = reserveForCapture(plan.goroutines, reader);
        const capture = captureGoroutines(plan.goroutines, reader, [], { scratch });
        if (plan.functions.size > 0) captureValues(plan, capture, reader, new Map(), opts.maxFrames);
      } finally {
        reader.close();
      }
    }
  } catch {
    // Only a warm-up: the real capture reports its own errors.
  }
}

/** The fields of a ProcessSnapshot that do not depend on how it was read. */
function describe(
  pid: number,
  plan: PreparedProcess,
  takenAt: string,
  decoded: GoroutineSnapshot,
): Pick<
  ProcessSnapshot,
  'pid' | 'executable' | 'buildId' | 'goVersion' | 'takenAt' | 'allglen' | 'truncated' | 'specFunctionsAbsent'
> {
  return {
    pid,
    executable: plan.executable,
    buildId: plan.bin.buildId,
    goVersion: plan.bin.goVersion,
    takenAt,
    allglen: decoded.stats.allglen,
    truncated: decoded.truncated,
    specFunctionsAbsent: plan.functionsAbsent,
  };
}

function snapshotPaused(pid: number, plan: PreparedProcess, opts: SnapshotOptions): ProcessSnapshot {
  const reader = new VmReader(pid);
  const takenAt = new Date().toISOString();
  try {
    // Fault in the buffers the copy will land in (first touches of fresh pages cost
    // microseconds each on VMs), then collect our own garbage, the new buffers counted:
    // otherwise a collection may start inside the pause.
    const reserved = reserveForCapture(plan.goroutines, reader);
    collectGarbageNow();
    const paused = pauseProcess(pid, opts.pause);
    // The pause starts when the first thread is asked to stop (the checks before stop nothing).
    const t0 = paused.timings.startedAt;
    // The copy helper spins (instead of sleeping) while the target is stopped, when there is
    // enough to copy to share: the second core is idle then. Armed after the stop, so that it
    // does not compete with the target's threads for a core while they enter their stops.
    reader.armHelper(HELPER_ARM_MS, reserved.bytes);
    const tStopped = performance.now();
    let capture: GoroutineCapture;
    let captures = new Map<Address, FrameCapture[]>();
    let tCopied = tStopped;
    let tValues = tStopped;
    try {
      const threads = paused.threads.map((t) => ({ tid: t.tid, pc: t.regs.pc, sp: t.regs.sp }));
      capture = captureGoroutines(plan.goroutines, reader, threads, { scratch: reserved.scratch });
      tCopied = performance.now();
      if (plan.functions.size > 0) {
        // Values must be consistent with the stacks: read what the expressions reach while
        // the process is still stopped.
        const regs = new Map<number, Registers>(paused.threads.map((t) => [t.tid, t.regs]));
        captures = captureValues(plan, capture, reader, regs, opts.maxFrames);
      }
      tValues = performance.now();
      if (opts.holdPauseMs) busyWait(opts.holdPauseMs);
    } finally {
      reader.disarmHelper(); // before the target's threads run again and want both cores
      paused.resume();
    }
    const tResumed = performance.now();
    const decoded = decodeGoroutines(plan.bin, capture, { maxFrames: opts.maxFrames });
    const tDecoded = performance.now();
    const goroutines: SnapshotGoroutine[] = decoded.goroutines.map((g) => ({
      ...g,
      captures: captures.get(g.address) ?? [],
    }));
    return {
      ...describe(pid, plan, takenAt, decoded),
      mode: 'paused',
      pauseNs: Math.round((tResumed - t0) * 1e6),
      phasesNs: {
        stop: Math.round((tStopped - t0) * 1e6),
        copy: Math.round((tCopied - tStopped) * 1e6),
        values: Math.round((tValues - tCopied) * 1e6),
        resume: paused.timings.resumeNs,
      },
      bytesRead: reader.stats().bytesRead,
      decodeNs:
        Math.round((tDecoded - tResumed) * 1e6) +
        (plan.functions.size > 0 ? Math.round((tValues - tCopied) * 1e6) : 0),
      threads: paused.threads.length,
      goroutines,
    };
  } finally {
    reader.close();
  }
}

/** --no-pause: copy while running, then re-read each g's status and saved SP to find what moved. */
function snapshotRunning(pid: number, plan: PreparedProcess, opts: SnapshotOptions): ProcessSnapshot {
  const reader = new VmReader(pid);
  const takenAt = new Date().toISOString();
  try {
    const t0 = performance.now();
    const { scratch } = reserveForCapture(plan.goroutines, reader);
    const capture = captureGoroutines(plan.goroutines, reader, [], { scratch });
    const tCopied = performance.now();
    const moved = changedGoroutines(plan, capture, reader);
    const captures =
      plan.functions.size > 0 ? captureValues(plan, capture, reader, new Map(), opts.maxFrames) : new Map();
    const decoded = decodeGoroutines(plan.bin, capture, { maxFrames: opts.maxFrames });
    const goroutines: SnapshotGoroutine[] = decoded.goroutines.map((g) => ({
      ...g,
      captures: captures.get(g.address) ?? [],
      // A running goroutine has no saved registers to read without stopping its thread.
      inconsistent: moved.has(g.address) || g.status === 'running',
    }));
    const tDone = performance.now();
    return {
      ...describe(pid, plan, takenAt, decoded),
      mode: 'no-pause',
      pauseNs: 0,
      phasesNs: { stop: 0, copy: Math.round((tCopied - t0) * 1e6), values: 0, resume: 0 },
      bytesRead: reader.stats().bytesRead,
      decodeNs: Math.round((tDone - tCopied) * 1e6),
      threads: 0,
      goroutines,
    };
  } finally {
    reader.close();
  }
}

/**
 * The spec's values on every frame of a spec'd function. Only the goroutines whose start pc
 * or copied stack holds a pc of such a function (or of one it was inlined into) are unwound
 * for it: inside a pause, unwinding every goroutine would cost more than the copy.
 */
function captureValues(
  plan: PreparedProcess,
  capture: GoroutineCapture,
  reader: VmReader,
  regs: ReadonlyMap<number, Registers>,
  maxFrames: number | undefined,
): Map<Address, FrameCapture[]> {
  const only = mayHaveFrames(
    capture.startPc,
    capture.packedStacks,
    capture.gs.length,
    plan.frameHosts,
    plan.bias,
  );
  if (!only.includes(1)) return new Map();
  const some = decodeGoroutines(plan.bin, capture, { maxFrames, only });
  const ctx = makeValueContext(plan.bin, new PauseMemory(capture.memory, reader), plan.bias, plan.limits);
  return new Map(some.goroutines.map((g) => [g.address, captureFrames(plan, ctx, g, regs)]));
}

/** The g's whose atomicstatus or sched.sp differ between the copy and a second read. */
function changedGoroutines(plan: CapturePlan, capture: GoroutineCapture, reader: VmReader): Set<Address> {
  const off = plan.bin.runtimeLayout().gOffsets;
  const ranges: { address: Address; size: number }[] = [];
  for (const g of capture.gs) {
    ranges.push(
      { address: addr(g + off.atomicstatus), size: 4 },
      { address: addr(g + off.schedSp), size: 8 },
    );
  }
  const again = reader.readBatch(ranges);
  const moved = new Set<Address>();
  for (let i = 0; i < capture.gs.length; i++) {
    const g = addr(capture.gs[i]!);
    for (const k of [2 * i, 2 * i + 1]) {
      const r = ranges[k]!;
      const now = again[k];
      if (!now) {
        moved.add(g);
        continue;
      }
      const before = capture.memory.has(r.address, r.size)
        ? capture.memory.read(r.address, r.size)
        : undefined;
      if (!before?.every((b, j) => b === now[j])) moved.add(g);
    }
  }
  return moved;
}
