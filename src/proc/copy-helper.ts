/**
 * A second thread for large reads of a paused process: while the target is stopped, one of
 * our two cores would otherwise sit idle while the kernel copies range after range. Each
 * Node thread gets at most one helper (a worker_threads Worker, unref'd), started ahead of
 * time with startCopyHelper — never inside a pause, where its ~30 ms start would count.
 *
 * A split read cuts the ranges into blocks of about equal cost (bytes plus a per-range
 * charge) at range boundaries; the poster and the helper claim blocks one at a time from a
 * shared counter, so a helper that wakes late simply takes fewer. The helper writes straight
 * into the poster's buffer (one address space) and its ok flags into a shared array the
 * poster copies back. Only SharedArrayBuffers and Atomics are used while a job runs.
 *
 * The poster never hangs and never trusts a block the helper did not finish: when the helper
 * does not come back in time, the poster cancels, and reads every unfinished block itself.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { PeriscopeError } from '../common/errors.js';
import {
  CTL_WORDS,
  Ctl,
  type HelperInit,
  JobState,
  MAX_BLOCKS,
  NUM_SLOTS,
  Num,
  type SharedRanges,
  type SharedRangesMessage,
} from './copy-helper-layout.js';
import { bufferAddress, libc } from './libc.js';

/**
 * Reads below this many bytes stay on one thread while the helper spins (armed). In
 * isolation the hand-off pays from about 400 KiB (234 KiB of 600-byte ranges: 146 µs on one
 * thread, 144 µs on two; 469 KiB: 288 µs and 181 µs), but inside a whole snapshot of 1k
 * goroutines (1 MB copied) a split pause was no shorter and more often longer, on this
 * 2-core VM: the second core is also the one the target's threads and V8's own threads need.
 */
export const MIN_SPLIT_BYTES = 2 << 20;

/**
 * The same while the helper sleeps: waking it costs 50 µs to milliseconds, so only reads
 * that take longer are shared (measured: 938 KiB, 596 µs on one thread, 500 µs on two).
 */
export const MIN_SPLIT_BYTES_ASLEEP = 1 << 20;

/** Reads of fewer ranges stay on one thread. */
export const MIN_SPLIT_RANGES = 16;

/** What a range costs beyond its bytes, in bytes of copying (the kernel's per-range work). */
const RANGE_COST = 512;

/** Cost of one block: a job has about total/BLOCK_COST blocks (at least 2, at most MAX_BLOCKS). */
const BLOCK_COST = 1 << 20;

/** Initial capacity of the shared range arrays (grown by doubling). */
const INITIAL_CAPACITY = 1 << 16;

/** How long the helper spins after armCopyHelper unless told otherwise. */
export const DEFAULT_ARM_MS = 20;

/** Counters of the helper's part of a split read. */
export interface HelperCounts {
  readonly bytesRead: number;
  readonly gapBytes: number;
  readonly calls: number;
}

/** What this thread's split reads did so far (for tests and benchmarks). */
export interface SplitStats {
  /** Reads shared with the helper. */
  readonly splits: number;
  /** Blocks they were cut into, and how many of them the helper read. */
  readonly blocks: number;
  readonly helperBlocks: number;
}

const splitStats = { splits: 0, blocks: 0, helperBlocks: 0 };

/** Counters of this thread's split reads. */
export function copySplitStats(): SplitStats {
  return { ...splitStats };
}

/** Reads ranges first..end-1 on the calling thread into the destination from `destOffset`. */
export type ReadHere = (first: number, end: number, destOffset: number) => void;

interface Helper {
  readonly worker: Worker;
  readonly ctl: Int32Array;
  readonly num: Float64Array;
  readonly blocks: Float64Array;
  readonly blockDone: Int32Array;
  readonly port: MessagePort;
  /** Blocks the poster read itself in the current job. */
  readonly mine: Uint8Array;
  ranges: SharedRanges;
  /** The worker exited (or failed to start). */
  dead: boolean;
  /** The helper did not stop when asked: never used again. */
  disabled: boolean;
  /** The CPUs the helper may use when not armed (read once, before the first placement). */
  cpus?: number[];
  /** The helper runs SCHED_FIFO (set by raiseHelper while armed). */
  realtime: boolean;
}

/** This thread's helper (module state is per thread). */
let helper: Helper | undefined;

/** Buffers a helper that did not stop may still write to: kept alive so that it never writes to freed memory. */
const quarantined: Buffer[] = [];

/** Whether PERISCOPE_COPY_THREADS asks for one thread. */
export function copyThreadsDisabled(): boolean {
  return process.env.PERISCOPE_COPY_THREADS === '1';
}

/**
 * Starts this thread's helper if it is not running (idempotent, returns at once; the helper
 * is usable some tens of milliseconds later). Does nothing when PERISCOPE_COPY_THREADS=1.
 */
export function startCopyHelper(): void {
  if ((helper && !helper.dead) || copyThreadsDisabled()) return;
  const control = new SharedArrayBuffer(CTL_WORDS * 4);
  const numbers = new SharedArrayBuffer(NUM_SLOTS * 8);
  const blocks = new SharedArrayBuffer((MAX_BLOCKS + 1) * 2 * 8);
  const blockDone = new SharedArrayBuffer(MAX_BLOCKS * 4);
  const { port1, port2 } = new MessageChannel();
  const init: HelperInit = { control, numbers, blocks, blockDone, port: port2 };
  const worker = new Worker(new URL('./copy-helper.worker.js', import.meta.url), {
    workerData: init,
    transferList: [port2],
  });
  // Referenced until it is ready: a process that exits while the thread is loading koffi's
  // native module dies with SIGABRT (seen when a short test ended right after a reserve).
  worker.on('message', (m: unknown) => {
    if (m === 'ready') worker.unref();
  });
  setTimeout(() => worker.unref(), 5000).unref(); // never hold an exit longer than that
  port1.unref();
  const h: Helper = {
    worker,
    ctl: new Int32Array(control),
    num: new Float64Array(numbers),
    blocks: new Float64Array(blocks),
    blockDone: new Int32Array(blockDone),
    port: port1,
    mine: new Uint8Array(MAX_BLOCKS),
    ranges: { gen: 0, addresses: new Float64Array(0), sizes: new Float64Array(0), ok: new Uint8Array(0) },
    dead: false,
    disabled: false,
    realtime: false,
  };
  worker.on('error', () => {
    h.dead = true;
  });
  worker.on('exit', () => {
    h.dead = true;
  });
  helper = h;
  ensureCapacity(h, INITIAL_CAPACITY);
}

/**
 * Whether this thread's helper is up and takes jobs; with `waitMs`, blocks up to that long
 * for a starting helper to get ready (for tests and benchmarks, never inside a pause).
 */
export function copyHelperReady(waitMs = 0): boolean {
  const h = helper;
  if (!h || h.dead || h.disabled) return false;
  if (Atomics.load(h.ctl, Ctl.READY) === 1) return true;
  if (waitMs > 0) Atomics.wait(h.ctl, Ctl.READY, 0, waitMs);
  return Atomics.load(h.ctl, Ctl.READY) === 1;
}

/**
 * Call right before pausing: for the next `ms` milliseconds the helper spins instead of
 * sleeping, so that a read posted during the pause starts within microseconds (a sleeping
 * thread takes 50 µs to milliseconds to wake). Does nothing when the helper is not ready.
 */
export function armCopyHelper(ms = DEFAULT_ARM_MS): void {
  const h = helper;
  // A helper disabled since it was raised (it did not stop in time) is still set back.
  if (h?.realtime && !h.dead && ms <= 0) raiseHelper(h, false);
  if (!h || h.dead || h.disabled || Atomics.load(h.ctl, Ctl.READY) !== 1) return;
  Atomics.store(h.ctl, Ctl.ARM_MS, Math.max(0, Math.min(Math.round(ms), 1000)));
  const cpu = ms > 0 ? posterCpu() : -1;
  const self = helperPlacesItself();
  Atomics.store(h.ctl, Ctl.SELF_PLACE, self ? 1 : 0);
  Atomics.store(h.ctl, Ctl.POSTER_CPU, cpu);
  if (!self) placeHelper(h, cpu);
  raiseHelper(h, ms > 0 && helperRealtime() && posterRealtime());
  Atomics.add(h.ctl, Ctl.ARM_SEQ, 1);
  Atomics.add(h.ctl, Ctl.WAKE, 1);
  Atomics.notify(h.ctl, Ctl.WAKE);
}

/** Whether this thread's helper did not stop when asked (then buffers it wrote to must never be reused). */
export function copyHelperDisabled(): boolean {
  return helper?.disabled === true;
}

/** The helper's thread id, or undefined when it is not ready (for tests and diagnostics). */
export function copyHelperTid(): number | undefined {
  const h = helper;
  const tid = h && !h.dead ? Atomics.load(h.ctl, Ctl.HELPER_TID) : 0;
  return tid > 0 ? tid : undefined;
}

/** Whether PERISCOPE_HELPER_PLACEMENT=self asks for the helper to move itself (before 2026-12-06; for comparisons). */
function helperPlacesItself(): boolean {
  return process.env.PERISCOPE_HELPER_PLACEMENT === 'self';
}

/**
 * Keeps the armed helper off the poster's CPU (`cpu`; -1 gives it back all its CPUs), set
 * by the poster before it wakes the helper. Woken next to its waker (the kernel's wake-affine
 * placement), a spinning helper shared the poster's CPU while the other one idled (a 1.2 ms
 * pause became 1.5–2 ms); and when the poster runs SCHED_FIFO there (a pause, proc/pause.ts),
 * a helper woken on its CPU cannot run at all until the load balancer moves it: in an agent
 * on a busy machine it waited in that CPU's run queue through whole copies and read none of
 * their blocks (bench/pause-paths.ts, docs/performance.md). The helper used to move itself
 * once it ran, which is too late for that. Best effort: a refused call leaves it where it is.
 */
function placeHelper(h: Helper, cpu: number): void {
  const tid = Atomics.load(h.ctl, Ctl.HELPER_TID);
  if (tid <= 0) return;
  try {
    const lib = libc();
    h.cpus ??= lib.threadCpus(tid);
    if (h.cpus.length < 2) return;
    const others = cpu < 0 ? h.cpus : h.cpus.filter((c) => c !== cpu);
    if (others.length > 0) lib.setThreadCpus(others, tid);
  } catch {
    // Left where it is.
  }
}

/** Whether PERISCOPE_HELPER_REALTIME=0 leaves the armed helper an ordinary thread (as before 2026-12-06 evening; for comparisons). */
function helperRealtime(): boolean {
  return process.env.PERISCOPE_HELPER_REALTIME !== '0';
}

/**
 * Runs the armed helper SCHED_FIFO (`on`), or back as an ordinary thread. An ordinary helper
 * spins politely (sched_yield: any runnable thread of its CPU goes first), and during a pause
 * V8's own worker threads woke (compile jobs queued by the pause's code) and ran there, as did
 * other processes' threads: the helper waited 3–8 ms of an 8 ms copy in its CPU's run queue and
 * read 0–6 of 14 blocks (throw-away script, one-shot CLI and long-lived process alike, 10k
 * goroutines, schedstat of our threads around the pause). Real-time, it keeps its CPU while
 * armed (the target is stopped then: nothing of it waits for that CPU), as the poster keeps
 * its own (proc/pause.ts), only while the poster runs real-time itself (posterRealtime); the
 * poster sets it back when it disarms, before the resume. Needs CAP_SYS_NICE; refused,
 * nothing changes.
 */
function raiseHelper(h: Helper, on: boolean): void {
  if (on === h.realtime) return;
  const tid = Atomics.load(h.ctl, Ctl.HELPER_TID);
  if (tid <= 0) return;
  try {
    const ok = libc().setRealtime(on ? HELPER_PRIORITY : 0, tid);
    if (ok) h.realtime = on;
  } catch {
    // Left as it is.
  }
}

/**
 * Whether the poster runs SCHED_FIFO: inside a pause, from the first interrupt to the last
 * detach (proc/pause.ts). Only then does the armed helper go real-time: armed while the target
 * runs (the one-shot warm-up's first run), a real-time spin would take a core from it.
 */
function posterRealtime(): boolean {
  try {
    return libc().threadPolicy(0) === SCHED_FIFO;
  } catch {
    return false;
  }
}

const SCHED_FIFO = 1;

/** Real-time priority of the armed helper (the poster's during a pause: neither preempts the other). */
const HELPER_PRIORITY = 1;

/** The CPU this thread runs on, or -1. */
function posterCpu(): number {
  try {
    return libc().currentCpu();
  } catch {
    return -1;
  }
}

/** Call right after resuming: the helper stops spinning and sleeps until the next job or arm. */
export function disarmCopyHelper(): void {
  armCopyHelper(0);
}

/**
 * Reads ranges 0..count-1 (addresses[i], sizes[i]) of process `pid` back to back into
 * `dest` from `destOffset` on this thread and the helper, when the read is large enough and
 * the helper is ready; returns the helper's counters, or undefined when it did not split
 * (the caller then reads everything itself). `readHere` reads a block on this thread
 * (setting ok[] and counting); it may throw, after which the helper has stopped writing.
 * The helper's ok flags land in `ok`; blocks it did not finish are read with `readHere`.
 * Throws a PeriscopeError when the helper had to be disabled while inside its read (its late
 * write would corrupt `dest`).
 */
export function readSplit(
  pid: number,
  addresses: ArrayLike<number>,
  sizes: ArrayLike<number>,
  count: number,
  dest: Buffer,
  destOffset: number,
  ok: Uint8Array,
  joinGap: number,
  readHere: ReadHere,
): HelperCounts | undefined {
  const h = helper;
  if (count < MIN_SPLIT_RANGES || !h || h.dead || h.disabled || Atomics.load(h.ctl, Ctl.READY) !== 1)
    return undefined;
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += sizes[i]!;
  if (bytes < (Atomics.load(h.ctl, Ctl.SPINNING) === 1 ? MIN_SPLIT_BYTES : MIN_SPLIT_BYTES_ASLEEP))
    return undefined;
  const t0 = performance.now();
  const nb = cutBlocks(h.blocks, sizes, count, destOffset, bytes + count * RANGE_COST);
  const shareFrom = h.blocks[2]!;
  ensureCapacity(h, count);
  copyFrom(h.ranges.addresses, addresses, shareFrom, count);
  copyFrom(h.ranges.sizes, sizes, shareFrom, count);

  const ctl = h.ctl;
  const seq = (Atomics.load(ctl, Ctl.JOB_SEQ) % 0x7fff_ffff) + 1;
  Atomics.store(ctl, Ctl.JOB_SEQ, seq);
  Atomics.store(ctl, Ctl.PID, pid);
  Atomics.store(ctl, Ctl.JOIN_GAP, joinGap);
  Atomics.store(ctl, Ctl.BLOCKS, nb);
  Atomics.store(ctl, Ctl.NEXT_BLOCK, 1); // block 0 is ours
  h.num[Num.DEST] = bufferAddress(dest);
  h.num[Num.BYTES_READ] = 0;
  h.num[Num.GAP_BYTES] = 0;
  h.num[Num.CALLS] = 0;
  Atomics.store(ctl, Ctl.STATE, JobState.Posted);
  Atomics.add(ctl, Ctl.WAKE, 1);
  Atomics.notify(ctl, Ctl.WAKE);

  const mine = h.mine;
  mine.fill(0, 0, nb);
  const blocks = h.blocks;
  let trusted = false;
  try {
    // Indices and offsets as small integers (`| 0`; offsets stay far below 2^31): read from
    // a Float64Array they would be doubles, which deoptimizes readRanges, compiled for the
    // integers of unsplit reads, inside the pause.
    mine[0] = 1;
    readHere(blocks[0]! | 0, blocks[2]! | 0, blocks[1]! | 0);
    for (;;) {
      const b = Atomics.add(ctl, Ctl.NEXT_BLOCK, 1);
      if (b >= nb) break;
      mine[b] = 1;
      readHere(blocks[b * 2]! | 0, blocks[b * 2 + 2]! | 0, blocks[b * 2 + 1]! | 0);
    }
  } finally {
    trusted = finishJob(h, dest, t0);
  }
  if (!trusted) {
    // Still inside its read: when the kernel completes it, the helper writes into `dest`,
    // over whatever we would put there, from a process that may be running again by then.
    throw new PeriscopeError(
      'timeout',
      `the copy helper thread did not finish its part of a read of process ${pid} and may still write into the copy, so this copy is discarded; retry (reads now use one thread)`,
    );
  }
  const bytesRead = h.num[Num.BYTES_READ]!;
  const gapBytes = h.num[Num.GAP_BYTES]!;
  const calls = h.num[Num.CALLS]!;
  const sharedOk = h.ranges.ok;
  for (let b = 1; b < nb; b++) {
    if (mine[b]) continue;
    const first = blocks[b * 2]! | 0;
    const end = blocks[b * 2 + 2]! | 0;
    // Finished by the helper in this job: its flags; else (not taken, or cancelled) ours.
    if (Atomics.load(h.blockDone, b) === seq) {
      ok.set(sharedOk.subarray(first, end), first);
      splitStats.helperBlocks++;
    } else readHere(first, end, blocks[b * 2 + 1]! | 0);
  }
  splitStats.splits++;
  splitStats.blocks += nb;
  return { bytesRead, gapBytes, calls };
}

/**
 * Waits until the helper is done with the current job (it then writes nothing more);
 * returns whether its results can be used. A helper that does not stop in time is cancelled;
 * one that does not stop even then is disabled and `dest` kept alive for good.
 */
function finishJob(h: Helper, dest: Buffer, t0: number): boolean {
  const ctl = h.ctl;
  // Not taken yet (asleep, or dead): withdraw it; the helper then claims nothing.
  if (Atomics.compareExchange(ctl, Ctl.STATE, JobState.Posted, JobState.Idle) === JobState.Posted)
    return true;
  const t1 = performance.now();
  if (waitIdle(ctl, t1 + Math.max(100, 2 * (t1 - t0)))) return true;
  Atomics.compareExchange(ctl, Ctl.STATE, JobState.Taken, JobState.Cancel);
  if (waitIdle(ctl, performance.now() + 1000)) return true;
  h.disabled = true;
  quarantined.push(dest);
  return false;
}

/** Spins (then sleeps in short steps) until the job state is Idle or the deadline passes. */
function waitIdle(ctl: Int32Array, deadline: number): boolean {
  const spinUntil = performance.now() + 2;
  for (;;) {
    const s = Atomics.load(ctl, Ctl.STATE);
    if (s === JobState.Idle) return true;
    const now = performance.now();
    if (now > deadline) return false;
    if (now > spinUntil) Atomics.wait(ctl, Ctl.STATE, s, 1);
  }
}

/**
 * Cuts ranges 0..count-1 into blocks of about equal cost (bytes plus RANGE_COST per range)
 * and writes (first range, dest offset) per block, then (count, end offset); returns how many.
 */
function cutBlocks(
  blocks: Float64Array,
  sizes: ArrayLike<number>,
  count: number,
  destOffset: number,
  cost: number,
): number {
  const n = Math.max(2, Math.min(MAX_BLOCKS, Math.ceil(cost / BLOCK_COST)));
  const per = cost / n;
  let b = 0;
  let next = per;
  let acc = 0;
  let off = destOffset;
  blocks[0] = 0;
  blocks[1] = destOffset;
  for (let i = 0; i < count; i++) {
    if (acc >= next && b + 1 < n) {
      b++;
      blocks[b * 2] = i;
      blocks[b * 2 + 1] = off;
      next += per;
    }
    const size = sizes[i]!;
    acc += size + RANGE_COST;
    off += size;
  }
  blocks[(b + 1) * 2] = count;
  blocks[(b + 1) * 2 + 1] = off;
  return b + 1;
}

/** Copies src[from..end) to dst[from..end). */
function copyFrom(dst: Float64Array, src: ArrayLike<number>, from: number, end: number): void {
  if (src instanceof Float64Array) dst.set(src.subarray(from, end), from);
  else for (let i = from; i < end; i++) dst[i] = src[i]!;
}

/** Grows the shared range arrays to hold `count` ranges (between jobs: the helper is idle). */
function ensureCapacity(h: Helper, count: number): void {
  if (h.ranges.addresses.length >= count) return;
  const cap = Math.max(count, h.ranges.addresses.length * 2, INITIAL_CAPACITY);
  const m: SharedRangesMessage = {
    gen: h.ranges.gen + 1,
    addresses: new SharedArrayBuffer(cap * 8),
    sizes: new SharedArrayBuffer(cap * 8),
    ok: new SharedArrayBuffer(cap),
  };
  h.port.postMessage(m);
  h.ranges = {
    gen: m.gen,
    addresses: new Float64Array(m.addresses),
    sizes: new Float64Array(m.sizes),
    ok: new Uint8Array(m.ok),
  };
  Atomics.store(h.ctl, Ctl.ARRAYS_GEN, m.gen);
}
