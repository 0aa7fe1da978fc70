/**
 * Taking a snapshot of one process: prepare outside the pause, pause (ptrace, no signal
 * reaches the target), copy goroutine headers and used stacks, capture the spec's values,
 * resume, and only then decode. With `noPause`, read while the process runs and mark the
 * goroutines that changed under us.
 */
import { type Address, addr } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import {
  captureGoroutines,
  decodeGoroutines,
  type Goroutine,
  type GoroutineCapture,
  type GoroutineSnapshot,
  reserveForCapture,
  stackNotCopied,
} from '../goruntime/goroutines/index.js';
import { redactLabels } from '../goruntime/values/index.js';
import type { PauseOptions } from '../proc/pause.js';
import { processExists } from '../proc/process-info.js';
import { VmReader } from '../proc/vm-reader.js';
import { type EffectiveSpec, STACKS_ONLY } from '../spec/effective-spec.js';
import { type BinaryCache, threadBinaries } from './binary-cache.js';
import { type CapturePlan, prepareCapture } from './capture-plan.js';
import { captureValues } from './capture-values.js';
import { type CopiedProcess, pauseAndCopy, warmUpCapture } from './paused-capture.js';
import { valuesFromKept } from './planned-values.js';
import { snapshotGoroutine } from './snapshot-goroutine.js';
import type { FrameCapture, PartialSnapshot, ProcessSnapshot, SnapshotGoroutine } from './snapshot-types.js';
import { identifySockets, linkNotes } from './socket-identity.js';

/** The captures of a goroutine without any: one array for all of them. */
const NO_CAPTURES: readonly FrameCapture[] = Object.freeze([]);

/** How to take a snapshot. */
export interface SnapshotOptions {
  /** The spec in effect (spec/effective-spec.ts); default: stacks only. */
  readonly spec?: EffectiveSpec;
  /** Read while the process runs (no ptrace): nothing stops, but stacks may be inconsistent. */
  readonly noPause?: boolean;
  readonly pause?: PauseOptions;
  /** Logical frames kept per goroutine (default 1024). */
  readonly maxFrames?: number;
  /**
   * Most time a pause spends on the spec's values, ms (default 5): the values of frames past
   * it are read right after the resume and marked `afterPause`.
   */
  readonly valuesBudgetMs?: number;
  /**
   * The pause's hard cap, ms (default DEFAULT_PAUSE_CAP_MS, 100): the process is resumed by
   * then whatever happens inside the pause, and the snapshot is marked `partial` with what
   * was left (stacks not copied, values read after the resume).
   */
  readonly pauseCapMs?: number;
  /**
   * When the stop alone took half the cap and the pause was cut (or gave up) at it, pause once
   * more (default true; the first pause's hold is reported as discardedPauseNs). false keeps
   * the first, partial, pause (or its error).
   */
  readonly retrySlowStop?: boolean;
  /**
   * Before this thread's first pause, run the code of the pause on the live process until
   * it is compiled (default true; false only to measure what the warm-up buys).
   */
  readonly warmUp?: boolean;
  /**
   * Testing aid: keep the process paused this long after copying (to test that killing the
   * snapshotting process mid-pause never leaves the target stopped).
   */
  readonly holdPauseMs?: number;
}

/**
 * Prepares a capture of `pid`: finds its binary in `binaries` (read and loaded on first use),
 * compiles the spec. `programs`: the spec's program rules the process matches (for `redaction.off`).
 */
export function prepareProcess(
  pid: number,
  spec: EffectiveSpec = STACKS_ONLY,
  binaries: BinaryCache = threadBinaries,
  programs: readonly string[] = [],
): PreparedProcess {
  if (!processExists(pid))
    throw new PeriscopeError('not-found', `process ${pid} does not exist (it may have exited)`);
  const { bin, image } = binaries.forProcess(pid);
  const plan = prepareCapture(bin, spec, image.bias, programs);
  binaries.persist(bin);
  bin.trim(); // the compiled plan holds what it needs of the location lists
  return { ...plan, executable: image.path };
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
  if (opts.warmUp !== false) warmUpCapture(pid, plan, opts);
  return snapshotPaused(pid, plan, opts);
}

/** The fields of a ProcessSnapshot that do not depend on how it was read. */
function describe(
  pid: number,
  plan: PreparedProcess,
  takenAt: string,
  decoded: GoroutineSnapshot<SnapshotGoroutine>,
): Pick<
  ProcessSnapshot,
  | 'pid'
  | 'executable'
  | 'buildId'
  | 'goVersion'
  | 'takenAt'
  | 'allglen'
  | 'truncated'
  | 'specFunctionsAbsent'
  | 'captureErrors'
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
    captureErrors: plan.captureErrors,
  };
}

function snapshotPaused(pid: number, plan: PreparedProcess, opts: SnapshotOptions): ProcessSnapshot {
  return finishSnapshot(pauseAndCopy(pid, plan, opts), opts);
}

/** Decodes what a pause copied (after the process runs again) into its snapshot. */
export function finishSnapshot(copied: CopiedProcess, opts: SnapshotOptions = {}): ProcessSnapshot {
  const { pid, plan, capture, at } = copied;
  const tResumed = performance.now();
  const pending = withPendingValues(copied, opts);
  const captures = identifySockets(plan, pid, pending.captures);
  const { late } = pending;
  const notes = linkNotes(plan, captures);
  const decoded = decodeGoroutines(plan.bin, capture, { maxFrames: opts.maxFrames }, (g) =>
    snapshotGoroutine(g, labelsOf(g, plan), captures.get(g.address) ?? NO_CAPTURES),
  );
  const tDecoded = performance.now();
  const goroutines: SnapshotGoroutine[] = decoded.goroutines;
  const hasValues = plan.functions.size > 0;
  return {
    ...describe(pid, plan, copied.takenAt, decoded),
    mode: 'paused',
    pauseNs: Math.round((at.resumed - at.started) * 1e6),
    phasesNs: {
      stop: Math.round((at.stopped - at.started) * 1e6),
      copy: Math.round((at.copied - at.stopped) * 1e6),
      values: Math.round((at.valued - at.copied) * 1e6),
      resume: copied.resumeNs,
    },
    bytesRead: copied.bytesRead,
    decodeNs:
      Math.round((tDecoded - tResumed) * 1e6) + (hasValues ? Math.round((at.valued - at.copied) * 1e6) : 0),
    threads: copied.threads,
    goroutines,
    ...(late > 0 ? { valuesAfterPause: late } : {}),
    ...(notes.length > 0 ? { linkNotes: notes } : {}),
    ...(copied.cut ? { partial: partialOf(copied.cut, goroutines) } : {}),
    ...(copied.discardedPauseMs !== undefined
      ? { discardedPauseNs: Math.round(copied.discardedPauseMs * 1e6) }
      : {}),
  };
}

/** A goroutine's labels with the spec's redaction applied (most have none: no copy made then). */
function labelsOf(g: Goroutine, plan: CapturePlan): Goroutine['labels'] {
  return g.labels.length === 0 ? g.labels : redactLabels(g.labels, plan.redaction);
}

/** The partial mark of a pause its cap cut short. */
function partialOf(
  cut: NonNullable<CopiedProcess['cut']>,
  goroutines: readonly SnapshotGoroutine[],
): PartialSnapshot {
  // Counted as reported (dead and duplicate g's left out), not as the copy marked them.
  const stacksNotCopied = goroutines.filter(stackNotCopied).length;
  const left = [
    ...(stacksNotCopied > 0 ? [`${stacksNotCopied} goroutine stacks not copied`] : []),
    ...(cut.valuesSkipped ? ['values read after the resume'] : []),
  ];
  return {
    capMs: cut.capMs,
    stacksNotCopied,
    valuesAfterCap: cut.valuesSkipped,
    reason: `the pause reached its cap of ${cut.capMs} ms and the process was resumed: ${left.join(', ')}`,
  };
}

/**
 * The pause's values plus those it had no time for, read now from the running process
 * (marked afterPause); `late` counts those frames.
 */
function withPendingValues(
  copied: CopiedProcess,
  opts: SnapshotOptions,
): { captures: ReadonlyMap<Address, FrameCapture[]>; late: number } {
  if (!copied.pendingValues && !copied.kept) return { captures: copied.captures, late: 0 };
  const captures = new Map(copied.captures);
  const live = new VmReader(copied.pid); // a few small reads: nothing to reserve
  let late = 0;
  try {
    if (copied.kept) {
      // From the bytes the pause kept; only a plan's miss reads the live process (and is marked).
      const r = valuesFromKept(copied.plan, copied.pid, copied.capture, copied.kept, live, opts.maxFrames);
      for (const [a, fc] of r.captures) captures.set(a, fc);
      late += r.missed;
    }
    if (!copied.pendingValues) return { captures, late };
    const r = captureValues(copied.plan, copied.capture, live, new Map(), opts.maxFrames, {
      only: copied.pendingValues,
      afterPause: true,
      prior: copied.captures,
    });
    for (const [a, fc] of r.captures) captures.set(a, fc);
    return { captures, late: late + r.frames };
  } catch {
    return { captures, late }; // the process exited meanwhile: those frames have no values
  } finally {
    live.close();
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
    const captures = identifySockets(
      plan,
      pid,
      plan.functions.size > 0
        ? captureValues(plan, capture, reader, new Map(), opts.maxFrames).captures
        : new Map<Address, FrameCapture[]>(),
    );
    const notes = linkNotes(plan, captures);
    const decoded = decodeGoroutines(plan.bin, capture, { maxFrames: opts.maxFrames }, (g) =>
      // A running goroutine has no saved registers to read without stopping its thread.
      snapshotGoroutine(
        g,
        labelsOf(g, plan),
        captures.get(g.address) ?? NO_CAPTURES,
        moved.has(g.address) || g.status === 'running',
      ),
    );
    const goroutines: SnapshotGoroutine[] = decoded.goroutines;
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
      ...(notes.length > 0 ? { linkNotes: notes } : {}),
    };
  } finally {
    reader.close();
  }
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
