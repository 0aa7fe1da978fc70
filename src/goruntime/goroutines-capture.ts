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
import { type BatchMemory, CopiedMemory, copyCoalesced, u32At, u64At } from './copied-memory.js';

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
  const all = new Float64Array(n);
  for (let i = 0; i < n; i++) all[i] = u64At(arr, i * 8);
  all.sort();
  let count = 0;
  for (let i = 0; i < n; i++)
    if (all[i] !== 0 && (count === 0 || all[i] !== all[count - 1])) all[count++] = all[i]!;
  const gs = all.slice(0, count);

  // 3. Every g header; g's sit next to each other in heap spans, so neighbours are read as one range.
  const headers = copyCoalesced(mem, copied, gs, plan.gSize, COALESCE_GAP);

  phase('headers');
  // 4. The m's the g's run on or are locked to, and the label sets they carry.
  const ms = new Set<number>();
  const labelPtrs = new Set<number>();
  for (let i = 0; i < count; i++) {
    const h = headers[i];
    if (!h) continue;
    const m = u64At(h, o.m);
    const locked = u64At(h, o.lockedm);
    if (m !== 0) ms.add(m);
    if (locked !== 0) ms.add(locked);
    const l = u64At(h, o.labels);
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
  const stackRanges: MemRange[] = [];
  let stackBytes = 0;
  for (let i = 0; i < count; i++) {
    const h = headers[i];
    if (!h) continue;
    const status = u32At(h, o.atomicstatus) & ~plan.scanBit;
    if (plan.dead.has(status)) continue;
    const lo = u64At(h, o.stackLo);
    const hi = u64At(h, o.stackHi);
    const syscallsp = u64At(h, o.syscallsp);
    let pc = u64At(h, o.schedPc);
    let sp = u64At(h, o.schedSp);
    let src: StartSource = StartSource.Sched;
    if (syscallsp !== 0) {
      pc = u64At(h, o.syscallpc);
      sp = syscallsp;
      src = StartSource.Syscall;
    }
    const mp = u64At(h, o.m);
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
      stackRanges.push({ address: addr(sp), size });
      stackBytes += size;
    }
  }
  phase('plan-stacks');
  const stacks = mem.readBatch(stackRanges);
  for (let i = 0; i < stackRanges.length; i++) {
    const b = stacks[i];
    if (b) copied.add(stackRanges[i]!.address, b);
  }
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
