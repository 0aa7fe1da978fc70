/**
 * The pass over copied g headers that a capture makes inside the pause: where each
 * goroutine's stack walk starts (g.sched, g.syscall*, the registers of the thread running
 * it, or the vDSO), which m's and label sets to copy, and the used part of every stack.
 * Typed arrays only, from the capture's pre-faulted arena: no object or boxed number per
 * goroutine.
 */
import { sortedOrder } from '../../common/radix-order.js';
import type { TypedAlloc } from '../../common/typed-arena.js';
import { type CoalescedCopy, UNREAD } from '../../proc/copy-batches.js';
import type { GoroutineCapturePlan } from './plan.js';

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
  /** The context its thread's signal handler interrupted (the ucontext on the signal stack). */
  Signal: 6,
} as const;
/** One of the StartSource values. */
export type StartSource = (typeof StartSource)[keyof typeof StartSource];

/** Names of the StartSource values, as reported per goroutine. */
export const START_SOURCE_NAMES = [
  'none',
  'sched',
  'syscall',
  'thread',
  'vdso',
  'sched-stale',
  'signal',
] as const;

/** Go's largest goroutine stack on 64-bit systems (runtime.maxstacksize): larger bounds are garbage. */
const MAX_GO_STACK = 1 << 30;

/** Marks, in HeaderScan.status, a g that is dead, unreadable or misaligned (no stack to copy). */
const NO_STACK = 0xffff_ffff;

/** What one pass over the copied g headers found. */
export interface HeaderScan {
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
export function scanHeaders(
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
export interface MInfo {
  readonly tid: number;
  readonly curg: number;
  readonly vdsoSp: number;
  readonly vdsoPc: number;
  /** m.gsignal: the g whose stack is the thread's signal stack (0 when unknown). */
  readonly gsignal: number;
}

/**
 * For the g's on an m: a goroutine inside the vDSO starts at m.vdsoPC/SP, a running one at its
 * thread's registers (when its thread's sp is on its stack). Updates the scan in place and
 * returns, per g, the tid whose registers were used (0 for none).
 */
export function startOnThreads(
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
export function usedStacks(
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
export function words(b: Uint8Array): Uint32Array {
  const a = b.byteOffset % 4 === 0 ? b : Uint8Array.from(b);
  return new Uint32Array(a.buffer, a.byteOffset, a.length >> 2);
}

const TWO32 = 0x1_0000_0000;

/** The little-endian u64 at word index k of a u32 view, as a number. */
export function u64w(w: Uint32Array, k: number): number {
  return w[k + 1]! * TWO32 + w[k]!;
}
