/**
 * The inner loop of VmReader.readInto, usable from any thread: reads ranges of another
 * process's memory with process_vm_readv, up to 1024 iovecs per call, back to back into
 * memory given by its address (ours, so valid in every thread of this process), joining
 * neighbours closer than a gap (the gap bytes go to a scratch buffer) and retrying a failed
 * joined read unjoined. Makes no object per range or per call.
 */
import { bufferAddress, Errno, type Libc } from './libc.js';

/** Most iovecs the kernel accepts per call (IOV_MAX). */
export const MAX_IOVECS = 1024;

/** Largest gap readRanges joins over (the scratch buffer's size). */
export const MAX_JOIN_GAP = 64 << 10;

/** How readRanges ended (values of ReadStatus). */
export const ReadStatus = {
  /** Every range was tried; ok[] says which were read. */
  Done: 0,
  /** process_vm_readv said ESRCH: the process is gone. */
  Exited: 1,
  /** process_vm_readv said ENOSYS or EPERM: use another way; `stopIndex`/`stopOffset` say where to go on. */
  Unsupported: 2,
} as const;
/** One of the ReadStatus values. */
export type ReadStatus = (typeof ReadStatus)[keyof typeof ReadStatus];

/** One thread's buffers for readRanges (iovecs, bookkeeping, scratch) and its counters. */
export class RangeReadState {
  readonly localIov = Buffer.alloc(MAX_IOVECS * 16);
  readonly remoteIov = Buffer.alloc(MAX_IOVECS * 16);
  readonly local32 = new Uint32Array(this.localIov.buffer, this.localIov.byteOffset, MAX_IOVECS * 4);
  readonly remote32 = new Uint32Array(this.remoteIov.buffer, this.remoteIov.byteOffset, MAX_IOVECS * 4);
  /** Per range of the current call: index, end of its bytes in the call's local stream, dest offset. */
  readonly callIdx = new Int32Array(MAX_IOVECS);
  readonly callEnd = new Float64Array(MAX_IOVECS);
  readonly callDest = new Float64Array(MAX_IOVECS);
  private scratch: Buffer | undefined;
  /** Address of the scratch buffer (0 while there is none). */
  scratchAddress = 0;
  /** Bytes copied into dest (not counting the gaps of joined reads). */
  bytesRead = 0;
  /** Bytes between joined neighbours, copied to the scratch buffer. */
  gapBytes = 0;
  /** process_vm_readv calls made. */
  calls = 0;
  /** Where the last readRanges stopped when it did not return Done: the range to go on with, its dest offset. */
  stopIndex = 0;
  stopOffset = 0;

  /** Makes sure the scratch buffer holds `gap` bytes (at most MAX_JOIN_GAP). */
  ensureScratch(gap: number): void {
    if (gap <= 0 || (this.scratch && this.scratch.length >= gap)) return;
    this.scratch = Buffer.alloc(MAX_JOIN_GAP);
    this.scratchAddress = bufferAddress(this.scratch);
  }
}

/** A join gap clamped to [0, MAX_JOIN_GAP]. */
export function clampJoinGap(joinGap: number): number {
  return Math.min(Math.max(joinGap, 0), MAX_JOIN_GAP);
}

/**
 * Reads ranges first..end-1 (addresses[i], sizes[i]) of process `pid` back to back into the
 * memory at destAddress + destOffset (range i lands after ranges first..i-1) and sets ok[i]
 * to 1 when range i was read entirely, else 0. `joinGap` must be clamped (clampJoinGap) and
 * the scratch buffer sized for it (state.ensureScratch). Counters accumulate in `state`.
 */
export function readRanges(
  lib: Libc,
  pid: number,
  addresses: ArrayLike<number>,
  sizes: ArrayLike<number>,
  first: number,
  end: number,
  destAddress: number,
  destOffset: number,
  ok: Uint8Array,
  joinGap: number,
  state: RangeReadState,
): ReadStatus {
  const local = state.local32;
  const remote = state.remote32;
  const callIdx = state.callIdx;
  const callEnd = state.callEnd;
  const callDest = state.callDest;
  const scratch = state.scratchAddress;
  let i = first;
  let off = destOffset;
  let noJoinBefore = first;
  while (i < end) {
    // Build one call: ranges from i while the iovecs last.
    const chunkFirst = i;
    const chunkOffset = off;
    let nl = 0; // local iovecs
    let nr = 0; // remote iovecs
    let k = 0; // ranges in this call
    let pos = 0; // bytes of the local stream
    let runEnd = -1;
    for (; i < end; i++) {
      const a = addresses[i]!;
      const size = sizes[i]!;
      if (size === 0) {
        ok[i] = 1;
        continue;
      }
      const d = a - runEnd;
      if (nr > 0 && i >= noJoinBefore && d >= 0 && d <= joinGap) {
        if (nl + (d > 0 ? 2 : 1) > MAX_IOVECS) break;
        if (d > 0) setIov(local, nl++, scratch, d);
        setIov(local, nl++, destAddress + off, size);
        const rl = (nr - 1) * 4 + 2;
        setU64(remote, rl, getU64(remote, rl) + d + size);
        pos += d;
      } else {
        if (nl + 1 > MAX_IOVECS) break;
        setIov(local, nl++, destAddress + off, size);
        setIov(remote, nr++, a, size);
      }
      pos += size;
      runEnd = a + size;
      callIdx[k] = i;
      callEnd[k] = pos;
      callDest[k] = off;
      k++;
      off += size;
    }
    if (k === 0) continue; // only empty ranges: i === end now
    let n = lib.processVmReadv(pid, state.localIov, nl, state.remoteIov, nr);
    state.calls++;
    if (n < 0) {
      const errno = lib.errno();
      if (errno === Errno.ESRCH || errno === Errno.ENOSYS || errno === Errno.EPERM) {
        state.stopIndex = chunkFirst;
        state.stopOffset = chunkOffset;
        return errno === Errno.ESRCH ? ReadStatus.Exited : ReadStatus.Unsupported;
      }
      n = 0; // EFAULT (or anything else): nothing was copied, so the first range is unreadable
    }
    // Interpret a short read: ranges wholly inside the n bytes were read.
    let useful = 0;
    let j = 0;
    for (; j < k; j++) {
      const idx = callIdx[j]!;
      if (callEnd[j]! > n) break;
      ok[idx] = 1;
      useful += sizes[idx]!;
    }
    state.bytesRead += useful;
    if (j === k) {
      state.gapBytes += pos - useful;
      continue;
    }
    state.gapBytes += Math.max(0, Math.min(n, pos) - useful);
    const idx = callIdx[j]!;
    const size = sizes[idx]!;
    if (n < callEnd[j]! - size) {
      // The copy stopped in the gap before this range: read it again on its own.
      i = idx;
      off = callDest[j]!;
      noJoinBefore = idx + 1;
    } else {
      ok[idx] = 0; // the copy stopped inside this range: unreadable
      i = idx + 1;
      off = callDest[j]! + size;
      noJoinBefore = idx + 2;
    }
  }
  state.stopIndex = end;
  state.stopOffset = off;
  return ReadStatus.Done;
}

/** Writes iovec k (base, len) into a u32 view of an iovec array. */
function setIov(view: Uint32Array, k: number, base: number, len: number): void {
  setU64(view, k * 4, base);
  setU64(view, k * 4 + 2, len);
}

/** Writes a non-negative integer below 2^53 as a little-endian u64 at word index k of a u32 view. */
function setU64(view: Uint32Array, k: number, value: number): void {
  view[k] = value >>> 0;
  view[k + 1] = Math.floor(value / 0x1_0000_0000);
}

/** Reads the little-endian u64 at word index k of a u32 view. */
function getU64(view: Uint32Array, k: number): number {
  return view[k + 1]! * 0x1_0000_0000 + view[k]!;
}
