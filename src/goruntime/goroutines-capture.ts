/**
 * The capture phase of a goroutine snapshot, run while the process is paused: read
 * runtime.allgs, copy every g header, the m's the g's point at, the pprof label sets, and
 * each live goroutine's used stack [sp, stack.hi). Only the few fields needed to decide what
 * to copy are decoded here; everything else waits until the process runs again.
 * The plan (symbol addresses, offsets) is made once per binary, outside the pause
 * (goroutines-plan.ts).
 */
import { addr, hex } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { sortedOrder } from '../common/radix-order.js';
import { HEAP, type TypedAlloc, TypedArena } from '../common/typed-arena.js';
import type { Memory } from '../proc/memory.js';
import type { MemRange } from '../proc/vm-reader.js';
import {
  type BatchMemory,
  type CoalescedCopy,
  CopiedMemory,
  copyCoalesced,
  readPacked,
  UNREAD,
  u64At,
} from './copied-memory.js';

export type { BatchMemory } from './copied-memory.js';

import type { PackedStacks } from './frame-hosts.js';
import type { GoroutineCapturePlan } from './goroutines-plan.js';
import { captureLabels } from './labels.js';

export {
  type CapturePlanOptions,
  type GoroutineCapturePlan,
  planGoroutineCapture,
} from './goroutines-plan.js';

/** A paused thread's pc and sp (from the proc layer's registers). */
export interface ThreadState {
  readonly tid: number;
  readonly pc: number;
  readonly sp: number;
}

/** Where a goroutine's stack walk starts (values of GoroutineCapture.source). */
export const StartSource = {
  /** Dead, or its header could not be read: no stack. */
  None: 0,
  /** g.sched (a parked goroutine). */
  Sched: 1,
  /** g.syscallsp/syscallpc (in, or on the way into, a system call). */
  Syscall: 2,
  /** The registers of the thread running it. */
  Thread: 3,
  /** m.vdsoSP/vdsoPC (running inside the vDSO). */
  Vdso: 4,
  /** Running, but its thread's sp was not on its stack (g0 / signal stack): g.sched, possibly stale. */
  SchedStale: 5,
} as const;
/** One of the StartSource values. */
export type StartSource = (typeof StartSource)[keyof typeof StartSource];

/** Names of the StartSource values, as reported per goroutine. */
export const START_SOURCE_NAMES = ['none', 'sched', 'syscall', 'thread', 'vdso', 'sched-stale'] as const;

/** Ranges closer than this are read as one: a range costs about what a kilobyte of copying does. */
const COALESCE_GAP = 1024;

/**
 * Used stacks closer than this are read with one remote range, the unused bytes between them
 * going to a scratch buffer (2 KiB stacks with ~500 used bytes lie next to each other in
 * spans: 1.5 KiB apart). Chosen by measurement with bench/pause.ts.
 */
const STACK_JOIN_GAP = 4096;

/** Go's largest goroutine stack on 64-bit systems (runtime.maxstacksize): larger bounds are garbage. */
const MAX_GO_STACK = 1 << 30;

/** Everything copied during the pause, ready to decode after resuming. */
export interface GoroutineCapture {
  readonly plan: GoroutineCapturePlan;
  readonly memory: CopiedMemory;
  /**
   * Addresses of the g's in runtime.allgs order (nil entries dropped; nothing is sorted
   * inside the pause, so a damaged allgs may list a g twice: decoding dedupes).
   */
  readonly gs: Float64Array;
  readonly startPc: Float64Array;
  readonly startSp: Float64Array;
  readonly source: Uint8Array;
  /** Tid of the thread whose registers started the walk (source Thread), else 0. */
  readonly threadOf: Int32Array;
  readonly threads: readonly ThreadState[];
  /** The copied stacks back to back, with the goroutine each belongs to (for scans without the index). */
  readonly packedStacks: PackedStacks;
  /** CLOCK_MONOTONIC (the clock of runtime.nanotime) when the capture started. */
  readonly monotonicNs: bigint;
  /** runtime.allglen as read. */
  readonly allglen: number;
  /** More goroutines existed than maxGoroutines. */
  readonly truncated: boolean;
  /** Duration of the capture in milliseconds. */
  readonly ms: number;
  /** Milliseconds per step: globals, headers (allgs and g's), ms-labels, plan-stacks, stacks. */
  readonly phases: Readonly<Record<string, number>>;
}

/** Bytes copied per goroutine by the last capture made with a plan (to size the next reserve). */
const bytesPerGoroutine = new WeakMap<GoroutineCapturePlan, number>();

/** Bytes of scratch arrays a capture uses per goroutine (sorting, the header scan, the stack plan). */
const SCRATCH_PER_GOROUTINE = 320;

/** Memory set aside before a pause by reserveForCapture. */
export interface CaptureReserve {
  /** Bytes reserved for the copies (0 when the memory cannot reserve or allglen cannot be read). */
  readonly bytes: number;
  /** Pre-faulted scratch for the capture's own arrays: pass it as CaptureOptions.scratch. */
  readonly scratch: TypedArena;
}

/**
 * Call before pausing: reserves (pre-faults) the memory the capture will copy into and the
 * scratch arrays it will use, so that the pause takes no page faults. Sized from
 * runtime.allglen, read now from the running process, and the bytes per goroutine of the
 * plan's last capture (or a guess: the g header plus 1 KiB of stack).
 */
export function reserveForCapture(plan: GoroutineCapturePlan, mem: BatchMemory): CaptureReserve {
  const got = mem.readBatch([{ address: plan.allglen, size: 8 }])[0];
  const n = got ? Math.min(u64At(got, 0), plan.maxGoroutines) : 0;
  const expected = Math.ceil(n * 1.25) + 64;
  const scratch = new TypedArena(expected * SCRATCH_PER_GOROUTINE);
  if (!mem.reserve || !got) return { bytes: 0, scratch };
  const per = bytesPerGoroutine.get(plan) ?? plan.gSize + 1024;
  const bytes = Math.ceil(expected * per) + (256 << 10);
  mem.reserve(bytes);
  return { bytes, scratch };
}

/** Options of captureGoroutines. */
export interface CaptureOptions {
  /** Memory to read through when decoding needs bytes that were not copied (e.g. the live process). */
  fallback?: Memory;
  /** Where the capture's own arrays come from (reserveForCapture's scratch; default: fresh memory). */
  scratch?: TypedAlloc;
}

/** Copies what a goroutine snapshot needs from a paused process (fast; decodes almost nothing). */
export function captureGoroutines(
  plan: GoroutineCapturePlan,
  mem: BatchMemory,
  threads: readonly ThreadState[],
  opts: CaptureOptions = {},
): GoroutineCapture {
  const t0 = performance.now();
  const monotonicNs = process.hrtime.bigint();
  const copied = new CopiedMemory(opts.fallback);
  const alloc = opts.scratch ?? HEAP;
  const phases: Record<string, number> = {};
  let tp = t0;
  const phase = (name: string) => {
    const t = performance.now();
    phases[name] = t - tp;
    tp = t;
  };
  // 1. allglen, allgs, and the array of *g in address order.
  const { allglen, truncated, gs } = readAllgs(plan, mem, alloc);
  phase('globals');
  // 2. Every g header; g's sit next to each other in heap spans, so neighbours are read as one range.
  const hdr = copyCoalesced(mem, copied, gs, plan.gSize, COALESCE_GAP, alloc);
  phase('headers');
  // 3. One pass over the headers: where each stack starts, the m's and the label sets.
  const scan = scanHeaders(plan, gs, hdr, alloc);
  const mInfo = readMs(plan, mem, copied, scan.ms);
  if (scan.labels.length > 0) captureLabels(plan.layout, mem, scan.labels, copied);
  phase('ms-labels');
  // 4. Running goroutines start from their thread's registers; then the used part of each stack.
  const threadOf = startOnThreads(plan, gs, scan, mInfo, threads, alloc);
  const stacks = usedStacks(plan, scan, alloc);
  phase('plan-stacks');
  const packed = readPacked(
    mem,
    copied,
    stacks.addresses,
    stacks.sizes,
    stacks.addresses.length,
    STACK_JOIN_GAP,
    alloc,
  );
  if (gs.length > 0) bytesPerGoroutine.set(plan, (hdr.bytes + stacks.bytes) / gs.length);
  phase('stacks');
  return {
    plan,
    memory: copied,
    gs,
    startPc: scan.pc,
    startSp: scan.sp,
    source: scan.source,
    threadOf,
    threads,
    packedStacks: { buf: packed.buf, sizes: stacks.sizes, ok: packed.ok, owner: stacks.owner },
    monotonicNs,
    allglen,
    truncated,
    ms: performance.now() - t0,
    phases,
  };
}

/**
 * Reads runtime.allglen and runtime.allgs; returns the g addresses in allgs order, nil entries
 * dropped. allgs is mostly ascending (g's are allocated one after another), which is all the
 * coalescing of header reads needs; sorting waits until after the pause.
 */
function readAllgs(
  plan: GoroutineCapturePlan,
  mem: BatchMemory,
  alloc: TypedAlloc,
): { allglen: number; truncated: boolean; gs: Float64Array } {
  // allglen first, then allgptr / the allgs slice header (in this order, like the runtime).
  const globals: MemRange[] = [
    { address: plan.allglen, size: 8 },
    { address: plan.allgs, size: 24 },
  ];
  if (plan.allgptr !== undefined) globals.push({ address: plan.allgptr, size: 8 });
  const gl = mem.readBatch(globals);
  if (!gl[0] || !gl[1])
    throw new PeriscopeError('corrupt', `cannot read runtime.allglen/allgs at ${hex(plan.allglen)}`);
  const allglen = u64At(gl[0], 0);
  const sliceLen = u64At(gl[1], 8);
  const base = gl[2] ? u64At(gl[2], 0) : u64At(gl[1], 0);
  let n = Math.min(allglen, sliceLen);
  const truncated = n > plan.maxGoroutines;
  if (truncated) n = plan.maxGoroutines;
  const arr = n > 0 ? mem.readBatch([{ address: addr(base), size: n * 8 }])[0] : new Uint8Array(8);
  if (!arr)
    throw new PeriscopeError('corrupt', `cannot read the ${n} entries of runtime.allgs at ${hex(base)}`);
  const w = words(arr);
  const all = alloc.f64(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if ((w[2 * i]! | w[2 * i + 1]!) !== 0) all[count++] = u64w(w, 2 * i);
  }
  return { allglen, truncated, gs: all.subarray(0, count) };
}

/** Marks, in HeaderScan.status, a g that is dead, unreadable or misaligned (no stack to copy). */
const NO_STACK = 0xffff_ffff;

/** What one pass over the copied g headers found. */
interface HeaderScan {
  /** atomicstatus without the scan bit, or NO_STACK. */
  readonly status: Uint32Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** Where the walk starts (g.sched or g.syscall*), before thread registers are considered. */
  readonly pc: Float64Array;
  readonly sp: Float64Array;
  readonly source: Uint8Array;
  /** Indices of the g's with g.m set (running, in a system call, or on their way), and their g.m. */
  readonly onM: Int32Array;
  readonly onMPtr: Float64Array;
  /** Distinct m pointers (g.m and g.lockedm). */
  readonly ms: number[];
  /** Distinct label-set pointers (g.labels). */
  readonly labels: number[];
}

/**
 * One pass over the g headers, through u32 views of the copies (g's and their fields are
 * 8-aligned, and so are the copies): no object and no boxed number per goroutine.
 */
function scanHeaders(
  plan: GoroutineCapturePlan,
  gs: Float64Array,
  hdr: CoalescedCopy,
  alloc: TypedAlloc,
): HeaderScan {
  const n = gs.length;
  const o = plan.layout.gOffsets;
  const views = hdr.bufs.map(words);
  const which = hdr.which;
  const offsets = hdr.offsets;
  const status = alloc.u32(n);
  const lo = alloc.f64(n);
  const hi = alloc.f64(n);
  const pc = alloc.f64(n);
  const sp = alloc.f64(n);
  const source = alloc.u8(n);
  const onM = alloc.i32(n);
  const onMPtr = alloc.f64(n);
  const labelPtrs = alloc.f64(n);
  const ms = new Set<number>();
  let nOnM = 0;
  let nLabels = 0;
  const wStatus = o.atomicstatus >> 2;
  const wLo = o.stackLo >> 2;
  const wHi = o.stackHi >> 2;
  const wSchedPc = o.schedPc >> 2;
  const wSchedSp = o.schedSp >> 2;
  const wSyscallPc = o.syscallpc >> 2;
  const wSyscallSp = o.syscallsp >> 2;
  const wM = o.m >> 2;
  const wLocked = o.lockedm >> 2;
  const wLabels = o.labels >> 2;
  const scanBit = plan.scanBit;
  const running = plan.running;
  for (let i = 0; i < n; i++) {
    const k = which[i]!;
    if (k === UNREAD || gs[i]! % 8 !== 0) {
      status[i] = NO_STACK; // unreadable, or not 8-aligned: garbage
      continue;
    }
    const w = views[k]!;
    const b = offsets[i]! / 4;
    const st = w[b + wStatus]! & ~scanBit;
    if ((w[b + wLabels]! | w[b + wLabels + 1]!) !== 0) labelPtrs[nLabels++] = u64w(w, b + wLabels);
    if ((w[b + wLocked]! | w[b + wLocked + 1]!) !== 0) ms.add(u64w(w, b + wLocked));
    if ((w[b + wM]! | w[b + wM + 1]!) !== 0) {
      const m = u64w(w, b + wM);
      ms.add(m);
      onM[nOnM] = i;
      onMPtr[nOnM++] = m;
    }
    if (plan.dead.has(st)) {
      status[i] = NO_STACK;
      continue;
    }
    status[i] = st;
    lo[i] = u64w(w, b + wLo);
    hi[i] = u64w(w, b + wHi);
    if ((w[b + wSyscallSp]! | w[b + wSyscallSp + 1]!) !== 0) {
      pc[i] = u64w(w, b + wSyscallPc);
      sp[i] = u64w(w, b + wSyscallSp);
      source[i] = StartSource.Syscall;
    } else {
      pc[i] = u64w(w, b + wSchedPc);
      sp[i] = u64w(w, b + wSchedSp);
      // A running goroutine's g.sched is stale; its thread's registers replace it (startOnThreads).
      source[i] = st === running ? StartSource.SchedStale : StartSource.Sched;
    }
  }
  return {
    status,
    lo,
    hi,
    pc,
    sp,
    source,
    onM: onM.subarray(0, nOnM),
    onMPtr: onMPtr.subarray(0, nOnM),
    ms: [...ms],
    labels: distinct(labelPtrs.subarray(0, nLabels), alloc),
  };
}

/** What a capture needs of one m. */
interface MInfo {
  readonly tid: number;
  readonly curg: number;
  readonly vdsoSp: number;
  readonly vdsoPc: number;
}

/** Copies the part of each m that says which thread runs it, its current g and vDSO state. */
function readMs(
  plan: GoroutineCapturePlan,
  mem: BatchMemory,
  copied: CopiedMemory,
  ms: readonly number[],
): Map<number, MInfo> {
  const bytes = mem.readBatch(ms.map((m) => ({ address: addr(m + plan.mStart), size: plan.mSize })));
  const out = new Map<number, MInfo>();
  const mo = plan.layout.mOffsets;
  for (let i = 0; i < ms.length; i++) {
    const b = bytes[i];
    if (!b) continue;
    copied.add(addr(ms[i]! + plan.mStart), b);
    const at = (off: number | undefined) => (off === undefined ? 0 : u64At(b, off - plan.mStart));
    out.set(ms[i]!, {
      tid: at(mo.procid),
      curg: at(mo.curg),
      vdsoSp: at(plan.mVdsoSp),
      vdsoPc: at(plan.mVdsoPc),
    });
  }
  return out;
}

/**
 * For the g's on an m: a goroutine inside the vDSO starts at m.vdsoPC/SP, a running one at its
 * thread's registers (when its thread's sp is on its stack). Updates the scan in place and
 * returns, per g, the tid whose registers were used (0 for none).
 */
function startOnThreads(
  plan: GoroutineCapturePlan,
  gs: Float64Array,
  scan: HeaderScan,
  mInfo: ReadonlyMap<number, MInfo>,
  threads: readonly ThreadState[],
  alloc: TypedAlloc,
): Int32Array {
  const threadOf = alloc.i32(gs.length);
  const byTid = new Map<number, ThreadState>();
  for (const t of threads) byTid.set(t.tid, t);
  const { status, lo, hi, pc, sp, source } = scan;
  for (let j = 0; j < scan.onM.length; j++) {
    const i = scan.onM[j]!;
    const st = status[i]!;
    const m = mInfo.get(scan.onMPtr[j]!);
    if (st === NO_STACK || !m || m.curg !== gs[i]) continue;
    if (m.vdsoSp !== 0 && m.vdsoSp >= lo[i]! && m.vdsoSp < hi[i]!) {
      pc[i] = m.vdsoPc;
      sp[i] = m.vdsoSp;
      source[i] = StartSource.Vdso;
    } else if (st === plan.running && source[i] !== StartSource.Syscall) {
      const t = byTid.get(m.tid);
      if (t && t.sp >= lo[i]! && t.sp < hi[i]!) {
        pc[i] = t.pc;
        sp[i] = t.sp;
        source[i] = StartSource.Thread;
        threadOf[i] = t.tid;
      }
    }
  }
  return threadOf;
}

/**
 * The used part [sp, stack.hi) of every live stack that looks sane, in g order: stacks are
 * allocated about as the g's are, so neighbours mostly follow each other and are joined into
 * one remote range; an out-of-order one only starts a range of its own (joining is safe for
 * any order and overlaps, see VmReader.readInto), which costs less than sorting in the pause.
 */
function usedStacks(
  plan: GoroutineCapturePlan,
  scan: HeaderScan,
  alloc: TypedAlloc,
): { addresses: Float64Array; sizes: Float64Array; owner: Int32Array; bytes: number } {
  const { status, lo, hi, sp } = scan;
  const n = status.length;
  const starts = alloc.f64(n);
  const sizes = alloc.f64(n);
  const owner = alloc.i32(n);
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    if (status[i] === NO_STACK) continue;
    const s = sp[i]!;
    const l = lo[i]!;
    const h = hi[i]!;
    const size = Math.min(h - s, plan.maxStackBytes);
    if (s >= l && s < h && l > 0 && h - l <= MAX_GO_STACK && bytes + size <= plan.maxTotalStackBytes) {
      starts[count] = s;
      owner[count] = i;
      sizes[count++] = size;
      bytes += size;
    }
  }
  return {
    addresses: starts.subarray(0, count),
    sizes: sizes.subarray(0, count),
    owner: owner.subarray(0, count),
    bytes,
  };
}

/** The distinct values of `xs`, ascending. */
function distinct(xs: Float64Array, alloc: TypedAlloc): number[] {
  const order = sortedOrder(xs, alloc);
  const out: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const x = xs[order[k]!]!;
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}

/** A u32 view of a buffer (copied first if it is not 4-aligned). */
function words(b: Uint8Array): Uint32Array {
  const a = b.byteOffset % 4 === 0 ? b : Uint8Array.from(b);
  return new Uint32Array(a.buffer, a.byteOffset, a.length >> 2);
}

const TWO32 = 0x1_0000_0000;

/** The little-endian u64 at word index k of a u32 view, as a number. */
function u64w(w: Uint32Array, k: number): number {
  return w[k + 1]! * TWO32 + w[k]!;
}

/** Adapts a plain Memory (e.g. /proc/PID/mem) to BatchMemory: one read per range. */
export function batchFromMemory(mem: Memory): BatchMemory {
  return {
    readBatch(ranges) {
      return ranges.map((r) => {
        try {
          return mem.read(r.address, r.size);
        } catch {
          return undefined;
        }
      });
    },
  };
}
