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
import type { Memory } from '../proc/memory.js';
import type { MemRange } from '../proc/vm-reader.js';
import { type BatchMemory, CopiedMemory, copyCoalesced, readPacked, UNREAD, u64At } from './copied-memory.js';

export type { BatchMemory } from './copied-memory.js';

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
  /** Addresses of the g's in ascending order (nil and duplicate entries dropped). */
  readonly gs: Float64Array;
  readonly startPc: Float64Array;
  readonly startSp: Float64Array;
  readonly source: Uint8Array;
  /** Tid of the thread whose registers started the walk (source Thread), else 0. */
  readonly threadOf: Int32Array;
  readonly threads: readonly ThreadState[];
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

/**
 * Call before pausing: reserves (pre-faults) the memory the capture will copy into, so that
 * the copy does not take page faults inside the pause. Sized from runtime.allglen, read now
 * from the running process, and the bytes per goroutine of the plan's last capture (or a
 * guess: the g header plus 1 KiB of stack). Returns the bytes reserved (0 when the memory
 * cannot reserve or allglen cannot be read).
 */
export function reserveForCapture(plan: GoroutineCapturePlan, mem: BatchMemory): number {
  if (!mem.reserve) return 0;
  const got = mem.readBatch([{ address: plan.allglen, size: 8 }])[0];
  if (!got) return 0;
  const n = Math.min(u64At(got, 0), plan.maxGoroutines);
  const per = bytesPerGoroutine.get(plan) ?? plan.gSize + 1024;
  const bytes = Math.ceil(n * per * 1.25) + (256 << 10);
  mem.reserve(bytes);
  return bytes;
}

/** Options of captureGoroutines. */
export interface CaptureOptions {
  /** Memory to read through when decoding needs bytes that were not copied (e.g. the live process). */
  fallback?: Memory;
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
  const o = plan.layout.gOffsets;

  // 1. allglen, then allgptr / the allgs slice header (read in this order, like the runtime).
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

  const phases: Record<string, number> = {};
  let tp = performance.now();
  const phase = (name: string) => {
    const t = performance.now();
    phases[name] = t - tp;
    tp = t;
  };
  phase('globals');
  // 2. The array of *g.
  const arr = n > 0 ? mem.readBatch([{ address: addr(base), size: n * 8 }])[0] : new Uint8Array();
  if (!arr)
    throw new PeriscopeError('corrupt', `cannot read the ${n} entries of runtime.allgs at ${hex(base)}`);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) raw[i] = u64At(arr, i * 8);
  const byAddress = sortedOrder(raw);
  const all = new Float64Array(n);
  let count = 0;
  for (let k = 0; k < n; k++) {
    const g = raw[byAddress[k]!]!;
    if (g !== 0 && (count === 0 || g !== all[count - 1])) all[count++] = g;
  }
  const gs = all.slice(0, count);

  // 3. Every g header; g's sit next to each other in heap spans, so neighbours are read as one range.
  const hdr = copyCoalesced(mem, copied, gs, plan.gSize, COALESCE_GAP);
  const hw = hdr.which;
  const ho = hdr.offsets;
  // Fields are read through u32 views (g's and their fields are 8-aligned, and so are the copies).
  const hb = hdr.bufs.map(words);
  const f64 = (w: Uint32Array, at: number): number => w[(at >> 2) + 1]! * 0x1_0000_0000 + w[at >> 2]!;

  phase('headers');
  // 4. The m's the g's run on or are locked to, and the label sets they carry.
  const ms = new Set<number>();
  const labelPtrs = new Set<number>();
  for (let i = 0; i < count; i++) {
    if (hw[i] === UNREAD || gs[i]! % 8 !== 0) continue; // a g is 8-aligned: this one is garbage
    const w = hb[hw[i]!]!;
    const at = ho[i]!;
    const m = f64(w, at + o.m);
    const locked = f64(w, at + o.lockedm);
    if (m !== 0) ms.add(m);
    if (locked !== 0) ms.add(locked);
    const l = f64(w, at + o.labels);
    if (l !== 0) labelPtrs.add(l);
  }
  const mList = [...ms];
  const mBytes = mem.readBatch(mList.map((m) => ({ address: addr(m + plan.mStart), size: plan.mSize })));
  const mInfo = new Map<number, { tid: number; curg: number; vdsoSp: number; vdsoPc: number }>();
  const mo = plan.layout.mOffsets;
  for (let i = 0; i < mList.length; i++) {
    const b = mBytes[i];
    if (!b) continue;
    copied.add(addr(mList[i]! + plan.mStart), b);
    const at = (off: number | undefined) => (off === undefined ? 0 : u64At(b, off - plan.mStart));
    mInfo.set(mList[i]!, {
      tid: at(mo.procid),
      curg: at(mo.curg),
      vdsoSp: at(plan.mVdsoSp),
      vdsoPc: at(plan.mVdsoPc),
    });
  }
  if (labelPtrs.size > 0) captureLabels(plan.layout, mem, [...labelPtrs], copied);

  phase('ms-labels');
  // 5. Where each stack starts, and the used part of each stack.
  const byTid = new Map<number, ThreadState>();
  for (const t of threads) byTid.set(t.tid, t);
  const startPc = new Float64Array(count);
  const startSp = new Float64Array(count);
  const source = new Uint8Array(count);
  const threadOf = new Int32Array(count);
  const stackLo = new Float64Array(count);
  const stackEnd = new Float64Array(count);
  let nStacks = 0;
  let stackBytes = 0;
  for (let i = 0; i < count; i++) {
    if (hw[i] === UNREAD || gs[i]! % 8 !== 0) continue;
    const w = hb[hw[i]!]!;
    const at = ho[i]!;
    const status = w[(at + o.atomicstatus) >> 2]! & ~plan.scanBit;
    if (plan.dead.has(status)) continue;
    const lo = f64(w, at + o.stackLo);
    const hi = f64(w, at + o.stackHi);
    const syscallsp = f64(w, at + o.syscallsp);
    let pc = f64(w, at + o.schedPc);
    let sp = f64(w, at + o.schedSp);
    let src: StartSource = StartSource.Sched;
    if (syscallsp !== 0) {
      pc = f64(w, at + o.syscallpc);
      sp = syscallsp;
      src = StartSource.Syscall;
    }
    const mp = f64(w, at + o.m);
    const m = mp === 0 ? undefined : mInfo.get(mp);
    if (m && m.curg === gs[i] && m.vdsoSp !== 0 && m.vdsoSp >= lo && m.vdsoSp < hi) {
      pc = m.vdsoPc;
      sp = m.vdsoSp;
      src = StartSource.Vdso;
    } else if (status === plan.running && syscallsp === 0) {
      const t = m && m.curg === gs[i] ? byTid.get(m.tid) : undefined;
      if (t && t.sp >= lo && t.sp < hi) {
        pc = t.pc;
        sp = t.sp;
        src = StartSource.Thread;
        threadOf[i] = t.tid;
      } else src = StartSource.SchedStale;
    }
    startPc[i] = pc;
    startSp[i] = sp;
    source[i] = src;
    const size = Math.min(hi - sp, plan.maxStackBytes);
    if (
      sp >= lo &&
      sp < hi &&
      lo > 0 &&
      hi - lo <= MAX_GO_STACK &&
      stackBytes + size <= plan.maxTotalStackBytes
    ) {
      stackLo[nStacks] = sp;
      stackEnd[nStacks++] = sp + size;
      stackBytes += size;
    }
  }
  // Read the stacks in address order, so that neighbours can be joined.
  const stacks = orderRanges(stackLo.subarray(0, nStacks), stackEnd.subarray(0, nStacks));
  phase('plan-stacks');
  const join = stacks.disjoint ? STACK_JOIN_GAP : 0;
  readPacked(mem, copied, stacks.addresses, stacks.sizes, nStacks, join);
  if (count > 0) bytesPerGoroutine.set(plan, (hdr.bytes + stackBytes) / count);
  phase('stacks');
  return {
    plan,
    memory: copied,
    gs,
    startPc,
    startSp,
    source,
    threadOf,
    threads,
    monotonicNs,
    allglen,
    truncated,
    ms: performance.now() - t0,
    phases,
  };
}

/** A u32 view of a buffer (copied first if it is not 4-aligned). */
function words(b: Uint8Array): Uint32Array {
  const a = b.byteOffset % 4 === 0 ? b : Uint8Array.from(b);
  return new Uint32Array(a.buffer, a.byteOffset, a.length >> 2);
}

/**
 * The permutation that sorts `keys` ascending: an LSD radix sort on 16-bit digits of
 * key - min (stable, no comparator calls, no garbage; 100k keys in about a millisecond).
 */
export function sortedOrder(keys: ArrayLike<number>): Uint32Array {
  const n = keys.length;
  let order = new Uint32Array(n);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    order[i] = i;
    if (k < max) sorted = false;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  if (sorted) return order;
  if (n < 4096) {
    // Below this the radix passes over 64Ki counters cost more than a comparison sort.
    const small = Array.from(order).sort((x, y) => keys[x]! - keys[y]!);
    order.set(small);
    return order;
  }
  if (max - min < 0x1_0000_0000) return radixU32(keys, min, max - min, order);
  let tmp = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  for (let div = 1; (max - min) / div >= 1; div *= 65536) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[Math.floor((keys[i]! - min) / div) % 65536]!++;
    for (let d = 1; d < 65536; d++) counts[d]! += counts[d - 1]!;
    for (let j = n - 1; j >= 0; j--) {
      const i = order[j]!;
      tmp[--counts[Math.floor((keys[i]! - min) / div) % 65536]!] = i;
    }
    [order, tmp] = [tmp, order];
  }
  return order;
}

/** Bits per digit of radixU32: 2 KiB buckets stay in the L1 cache. */
const DIGIT_BITS = 11;

/**
 * sortedOrder for keys within 2^32 of `min`: keys - min as u32, then LSD passes of 11 bits
 * with integer arithmetic only (as many passes as `span` needs, at most three).
 */
function radixU32(
  keys: ArrayLike<number>,
  min: number,
  span: number,
  first: Uint32Array<ArrayBuffer>,
): Uint32Array<ArrayBuffer> {
  let order = first;
  const n = keys.length;
  const k32 = new Uint32Array(n);
  for (let i = 0; i < n; i++) k32[i] = keys[i]! - min;
  let tmp = new Uint32Array(n);
  const radix = 1 << DIGIT_BITS;
  const mask = radix - 1;
  const counts = new Uint32Array(radix);
  for (let shift = 0; shift < 32 && span >>> shift !== 0; shift += DIGIT_BITS) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(k32[i]! >>> shift) & mask]!++;
    let sum = 0;
    for (let d = 0; d < radix; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let j = 0; j < n; j++) {
      const i = order[j]!;
      tmp[counts[(k32[i]! >>> shift) & mask]!++] = i;
    }
    [order, tmp] = [tmp, order];
  }
  return order;
}

/**
 * Ranges [starts[i], ends[i]) in address order, with their sizes; `disjoint` says whether
 * no two overlap (the condition to join neighbours).
 */
function orderRanges(
  starts: Float64Array,
  ends: Float64Array,
): { addresses: Float64Array; sizes: Float64Array; disjoint: boolean } {
  const n = starts.length;
  const order = sortedOrder(starts);
  const addresses = new Float64Array(n);
  const sizes = new Float64Array(n);
  let disjoint = true;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    addresses[k] = starts[i]!;
    sizes[k] = ends[i]! - starts[i]!;
    if (k > 0 && addresses[k - 1]! + sizes[k - 1]! > addresses[k]!) disjoint = false;
  }
  return { addresses, sizes, disjoint };
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
