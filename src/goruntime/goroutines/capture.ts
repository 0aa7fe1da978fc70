/**
 * The capture phase of a goroutine snapshot, run while the process is paused: read
 * runtime.allgs, copy every g header, the m's the g's point at, the pprof label sets, and
 * each live goroutine's used stack [sp, stack.hi). Only the few fields needed to decide what
 * to copy are decoded here; everything else waits until the process runs again.
 * The plan (symbol addresses, offsets) is made once per binary, outside the pause
 * (plan.ts).
 */
import { addr, hex } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import { HEAP, type TypedAlloc, TypedArena } from '../../common/typed-arena.js';
import { type BatchMemory, CopiedMemory, u64At } from '../../proc/copied-memory.js';
import { type CoalescedCopy, copyCoalesced, readPacked, UNREAD } from '../../proc/copy-batches.js';
import type { Memory } from '../../proc/memory.js';
import type { MemRange } from '../../proc/vm-reader.js';

export type { BatchMemory } from '../../proc/copied-memory.js';

import type { PackedStacks } from './frame-hosts.js';
import {
  type MInfo,
  scanHeaders,
  startOnThreads,
  type ThreadState,
  u64w,
  usedStacks,
  words,
} from './scan.js';

export { START_SOURCE_NAMES, StartSource, type ThreadState } from './scan.js';

import { captureLabels } from './labels.js';
import type { GoroutineCapturePlan } from './plan.js';
import { startInSignalHandlers } from './signal-frames.js';

export {
  type CapturePlanOptions,
  type GoroutineCapturePlan,
  planGoroutineCapture,
} from './plan.js';

/** Ranges closer than this are read as one: a range costs about what a kilobyte of copying does. */
const COALESCE_GAP = 1024;

/**
 * Used stacks closer than this are read with one remote range, the unused bytes between them
 * going to a scratch buffer (2 KiB stacks with ~500 used bytes lie next to each other in
 * spans: 1.5 KiB apart). Chosen by measurement with bench/pause.ts.
 */
const STACK_JOIN_GAP = 4096;

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
  /** Tid of the thread whose registers started the walk (source Thread or Signal), else 0. */
  readonly threadOf: Int32Array;
  readonly threads: readonly ThreadState[];
  /**
   * For goroutines whose thread was in a signal handler (source Signal), by g address: the
   * general registers the kernel saved of the interrupted context (SIGCONTEXT_NAMES order).
   */
  readonly signalContexts: ReadonlyMap<number, Uint8Array>;
  /** The copied stacks back to back, with the goroutine each belongs to (for scans without the index). */
  readonly packedStacks: PackedStacks;
  /** Where each g header was copied (see ../../proc/copy-batches.ts). */
  readonly headers: CoalescedCopy;
  /** CLOCK_MONOTONIC (the clock of runtime.nanotime) when the capture started. */
  readonly monotonicNs: bigint;
  /** runtime.allglen as read. */
  readonly allglen: number;
  /** More goroutines existed than maxGoroutines. */
  readonly truncated: boolean;
  /** Goroutines whose stacks were not copied, the capture's deadline passed (a mask over gs). */
  readonly notCopied?: Uint8Array;
  /** How many goroutines notCopied marks. */
  readonly notCopiedCount?: number;
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
  /**
   * performance.now() (ms) past which no more stacks are copied (the pause's cap): the
   * goroutines whose stacks were left are marked in GoroutineCapture.notCopied.
   */
  deadline?: number;
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
  // 4. Running goroutines start from their thread's registers (or the context its signal
  //    handler interrupted); then the used part of each stack.
  const threadOf = startOnThreads(plan, gs, scan, mInfo, threads, alloc);
  const signalContexts = startInSignalHandlers(plan, mem, gs, scan, mInfo, threads, threadOf);
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
    opts.deadline,
  );
  const notCopied = notCopiedMask(gs.length, stacks.owner, packed.stoppedAt);
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
    signalContexts,
    packedStacks: { buf: packed.buf, sizes: stacks.sizes, ok: packed.ok, owner: stacks.owner },
    headers: hdr,
    monotonicNs,
    allglen,
    truncated,
    ...(notCopied ? { notCopied: notCopied.mask, notCopiedCount: notCopied.count } : {}),
    ms: performance.now() - t0,
    phases,
  };
}

/** The goroutines owning the stacks from `stoppedAt` on (not read), or undefined when every stack was. */
function notCopiedMask(
  n: number,
  owner: Int32Array,
  stoppedAt: number,
): { mask: Uint8Array; count: number } | undefined {
  if (stoppedAt >= owner.length) return undefined;
  const mask = new Uint8Array(n);
  let count = 0;
  for (let j = stoppedAt; j < owner.length; j++) {
    if (!mask[owner[j]!]) count++;
    mask[owner[j]!] = 1;
  }
  return { mask, count };
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
      gsignal: at(plan.mGsignal),
    });
  }
  return out;
}

/**
 * A memory holding only the g headers and copied stacks of the goroutines in `mask` (a mask
 * over capture.gs), reading anything else through `fallback`. Inside a pause, unwinding a few
 * goroutines this way avoids indexing every copied range (about 14 ms at 100k goroutines).
 */
export function memoryOf(capture: GoroutineCapture, mask: Uint8Array, fallback: Memory): CopiedMemory {
  const out = new CopiedMemory(fallback);
  const { gs, headers, packedStacks, plan } = capture;
  let wanted = 0;
  for (let i = 0; i < gs.length; i++) {
    if (!mask[i]) continue;
    wanted++;
    if (headers.which[i] === UNREAD) continue;
    const buf = headers.bufs[headers.which[i]!]!;
    const off = headers.offsets[i]!;
    out.add(addr(gs[i]!), buf.subarray(off, off + plan.gSize));
  }
  // Each goroutine has one copied stack at most: stop once every wanted one is found.
  const { buf, sizes, ok, owner } = packedStacks;
  let off = 0;
  for (let j = 0; j < owner.length && wanted > 0; j++) {
    const size = sizes[j]!;
    if (mask[owner[j]!]) {
      wanted--;
      if (ok[j]) out.add(addr(capture.startSp[owner[j]!]!), buf.subarray(off, off + size));
    }
    off += size;
  }
  return out;
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
