/**
 * Reading many ranges of a paused process into one buffer, for the capture: `readPacked`
 * (back to back, through the reader's fast path when it has one) and `copyCoalesced` (the g
 * headers, neighbours read as one range, a failed merged read retried entry by entry). The
 * ranges are recorded in a CopiedMemory without a view per range.
 */
import { addr } from '../common/address.js';
import { HEAP, type TypedAlloc } from '../common/typed-arena.js';
import type { BatchMemory, CopiedMemory } from './copied-memory.js';
import type { MemRange } from './vm-reader.js';

/**
 * Reads ranges (addresses[i], sizes[i]) through the fast path when `mem` has one, else range by
 * range with readBatch, back to back into one buffer; records them in `out` (no view per range)
 * and returns the buffer and which ranges were read. `joinGap` as in BatchMemory.readInto.
 * With a `deadline` (performance.now() ms), reads in pieces of about DEADLINE_PIECE_BYTES and
 * stops at the first piece boundary past it: the ranges from `stoppedAt` on are not read.
 */
export function readPacked(
  mem: BatchMemory,
  out: CopiedMemory,
  addresses: Float64Array,
  sizes: Float64Array,
  count: number,
  joinGap = 0,
  alloc: TypedAlloc = HEAP,
  deadline?: number,
): { buf: Buffer; ok: Uint8Array; bad: number; stoppedAt: number } {
  let total = 0;
  for (let i = 0; i < count; i++) total += sizes[i]!;
  const buf = mem.takeBuffer ? mem.takeBuffer(total) : Buffer.allocUnsafeSlow(total);
  const ok = alloc.u8(count);
  let bad = 0;
  let first = 0;
  let offset = 0;
  while (first < count) {
    if (deadline !== undefined && performance.now() >= deadline) break;
    let end = count;
    let bytes = 0;
    if (deadline !== undefined) {
      end = first;
      while (end < count && (bytes < DEADLINE_PIECE_BYTES || end === first)) bytes += sizes[end++]!;
    } else bytes = total;
    bad += readSpan(mem, addresses, sizes, first, end, buf, offset, ok, joinGap);
    offset += bytes;
    first = end;
  }
  out.addPacked(buf, 0, addresses, sizes, ok, count);
  return { buf, ok, bad: bad + (count - first), stoppedAt: first };
}

/**
 * Bytes read between two looks at a deadline: about 1 ms of copying small stacks here
 * (bench/pause.ts: ~5 MiB in ~2.5 ms at 10k goroutines), small beside a pause cap; twice the
 * copy helper's least share (copy-helper.ts MIN_SPLIT_BYTES), so each piece is still split
 * between the two threads.
 */
const DEADLINE_PIECE_BYTES = 4 << 20;

/** Reads ranges [first, end) into buf at `offset` (their ok flags set); returns how many failed. */
function readSpan(
  mem: BatchMemory,
  addresses: Float64Array,
  sizes: Float64Array,
  first: number,
  end: number,
  buf: Buffer,
  offset: number,
  ok: Uint8Array,
  joinGap: number,
): number {
  const n = end - first;
  if (mem.readInto)
    return mem.readInto(
      addresses.subarray(first, end),
      sizes.subarray(first, end),
      n,
      buf,
      offset,
      ok.subarray(first, end),
      joinGap,
    );
  const ranges: MemRange[] = new Array(n);
  for (let i = 0; i < n; i++) ranges[i] = { address: addr(addresses[first + i]!), size: sizes[first + i]! };
  const got = mem.readBatch(ranges);
  let bad = 0;
  let off = offset;
  for (let i = 0; i < n; i++) {
    const b = got[i];
    if (b && b.length === sizes[first + i]) {
      buf.set(b, off);
      ok[first + i] = 1;
    } else bad++;
    off += sizes[first + i]!;
  }
  return bad;
}

/** Headers copied with copyCoalesced: header i is at offsets[i] of bufs[which[i]] (which[i] = 255: unreadable). */
export interface CoalescedCopy {
  readonly bufs: readonly Buffer[];
  /** Bytes read (merged ranges and retries). */
  readonly bytes: number;
  readonly which: Uint8Array;
  readonly offsets: Float64Array;
}

/** Marks an unreadable entry of CoalescedCopy.which. */
export const UNREAD = 255;

/**
 * Copies `size` bytes at each of `addrs` (ascending) into `out`, reading neighbours closer than
 * `maxGap` bytes as one range (each range read costs about as much as a kilobyte of copying).
 * Says where each copy landed, without a view per entry; a merged read that fails is retried
 * entry by entry, so one unmapped entry costs only itself.
 */
export function copyCoalesced(
  mem: BatchMemory,
  out: CopiedMemory,
  addrs: ArrayLike<number>,
  size: number,
  maxGap: number,
  alloc: TypedAlloc = HEAP,
): CoalescedCopy {
  const n = addrs.length;
  const mAddr = alloc.f64(n);
  const mSize = alloc.f64(n);
  const mergedOf = alloc.i32(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const a = addrs[i]!;
    const lastEnd = m > 0 ? mAddr[m - 1]! + mSize[m - 1]! : 0;
    if (m > 0 && a >= mAddr[m - 1]! && a - lastEnd <= maxGap) {
      mSize[m - 1] = Math.max(mSize[m - 1]!, a + size - mAddr[m - 1]!);
    } else {
      mAddr[m] = a;
      mSize[m] = size;
      m++;
    }
    mergedOf[i] = m - 1;
  }
  const mOff = alloc.f64(m);
  for (let k = 1; k < m; k++) mOff[k] = mOff[k - 1]! + mSize[k - 1]!;
  const first = readPacked(mem, out, mAddr.subarray(0, m), mSize.subarray(0, m), m, 0, alloc);
  const which = alloc.u8(n);
  const offsets = alloc.f64(n);
  const bufs: Buffer[] = [first.buf];
  let retry = 0;
  for (let i = 0; i < n; i++) {
    const k = mergedOf[i]!;
    if (first.ok[k]) offsets[i] = mOff[k]! + addrs[i]! - mAddr[k]!;
    else {
      which[i] = UNREAD;
      retry++;
    }
  }
  if (retry > 0 && retry < n) {
    const rAddr = new Float64Array(retry);
    const rIdx = new Int32Array(retry);
    let r = 0;
    for (let i = 0; i < n; i++) {
      if (which[i] !== UNREAD) continue;
      rAddr[r] = addrs[i]!;
      rIdx[r++] = i;
    }
    const again = readPacked(mem, out, rAddr, new Float64Array(retry).fill(size), retry);
    bufs.push(again.buf);
    for (let j = 0; j < retry; j++) {
      if (!again.ok[j]) continue;
      which[rIdx[j]!] = 1;
      offsets[rIdx[j]!] = j * size;
    }
  }
  return { bufs, which, offsets, bytes: bufs.reduce((t, b) => t + b.length, 0) };
}
