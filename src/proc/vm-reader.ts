/**
 * Batched reads of another process's memory with process_vm_readv: up to 1024 ranges per
 * system call, copied back to back into one buffer, with no object made per range on the
 * fast path (`readInto`). Falls back to /proc/PID/mem when the system call is unavailable.
 *
 * Two costs dominate a large copy on the machines we measured, and both are avoided here:
 * each remote range costs the kernel about what a kilobyte of copying does (neighbours closer
 * than `joinGap` are read as one remote range, the bytes between them going to a scratch
 * buffer), and the first write to a fresh page of our own memory costs a page fault
 * (1.5–5 µs), so a reader can reserve pre-faulted memory before a pause (`reserve`).
 */
import type { Address } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { bufferAddress, Errno, type Libc, libc } from './libc.js';
import { type Memory, MemoryError, ProcMemFile } from './memory.js';

/** One range of target memory to read. */
export interface MemRange {
  readonly address: Address;
  readonly size: number;
}

/** How much a reader has read so far (the per-process "bytes read" figure). */
export interface ReadStats {
  /** Bytes copied out of the target into results (not counting the gaps of joined reads). */
  readonly bytesRead: number;
  /** Bytes between joined neighbours, copied to a scratch buffer and dropped. */
  readonly gapBytes: number;
  /** System calls made (process_vm_readv calls, or preads on the fallback path). */
  readonly calls: number;
  /** Ranges requested. */
  readonly ranges: number;
  /** Ranges that could not be read (unmapped memory). */
  readonly unreadable: number;
  /** Bytes handed out by takeBuffer, and how many of them came from reserved (pre-faulted) memory. */
  readonly buffered: number;
  readonly bufferedReserved: number;
  /** Whether the /proc/PID/mem fallback is in use. */
  readonly fallback: boolean;
}

/** Options of a VmReader. */
export interface VmReaderOptions {
  /** Use /proc/PID/mem (for tests and comparisons). */
  forceFallback?: boolean;
  /**
   * Bytes of pre-faulted memory to reserve now for takeBuffer. Default: what the previous
   * reader of the same process took, plus a quarter (repeated snapshots copy about as much
   * each time); 0 reserves nothing.
   */
  reserveBytes?: number;
}

/** Most iovecs the kernel accepts per call (IOV_MAX). */
export const MAX_IOVECS = 1024;

/** Largest gap readInto joins over (the scratch buffer's size). */
export const MAX_JOIN_GAP = 64 << 10;

/** Bytes taken with takeBuffer by the last reader of each process (bounded, oldest dropped). */
const takenByPid = new Map<number, number>();
const TAKEN_HISTORY = 256;

/** Reads a live process's memory in batches; `read` throws MemoryError for unreadable ranges. */
export class VmReader implements Memory {
  readonly pid: number;
  private lib: Libc | undefined;
  private procMem: ProcMemFile | undefined;
  private readonly localIov = Buffer.alloc(MAX_IOVECS * 16);
  private readonly remoteIov = Buffer.alloc(MAX_IOVECS * 16);
  private readonly local32 = new Uint32Array(this.localIov.buffer, this.localIov.byteOffset, MAX_IOVECS * 4);
  private readonly remote32 = new Uint32Array(
    this.remoteIov.buffer,
    this.remoteIov.byteOffset,
    MAX_IOVECS * 4,
  );
  /** Per range of the current call: index, end of its bytes in the call's local stream, dest offset. */
  private readonly callIdx = new Int32Array(MAX_IOVECS);
  private readonly callEnd = new Float64Array(MAX_IOVECS);
  private readonly callDest = new Float64Array(MAX_IOVECS);
  private scratch: Buffer | undefined;
  private arena: Buffer | undefined;
  private arenaUsed = 0;
  private counts = {
    bytesRead: 0,
    gapBytes: 0,
    calls: 0,
    ranges: 0,
    unreadable: 0,
    buffered: 0,
    bufferedReserved: 0,
  };

  /** A reader for process `pid` (see VmReaderOptions for the fallback and the reserve). */
  constructor(pid: number, opts: VmReaderOptions = {}) {
    this.pid = pid;
    if (opts.forceFallback) this.procMem = new ProcMemFile(pid);
    else {
      try {
        this.lib = libc();
      } catch {
        this.procMem = new ProcMemFile(pid);
      }
    }
    const last = takenByPid.get(pid);
    const reserve = opts.reserveBytes ?? (last ? Math.ceil(last * 1.25) + (64 << 10) : 0);
    if (reserve > 0) this.reserve(reserve);
  }

  /**
   * Reserves `bytes` of pre-faulted memory that takeBuffer hands out first. Call it outside
   * a pause: touching fresh pages is what makes it slow.
   */
  reserve(bytes: number): void {
    const free = this.arena ? this.arena.length - this.arenaUsed : 0;
    if (bytes <= free) return;
    const arena = Buffer.allocUnsafeSlow(bytes);
    arena.fill(0); // fault every page in now
    this.arena = arena;
    this.arenaUsed = 0;
  }

  /**
   * A buffer of `size` bytes for readInto, from the reserve when it has room (no page faults),
   * else freshly allocated. It is never handed out twice.
   */
  takeBuffer(size: number): Buffer {
    this.counts.buffered += size;
    takenByPid.delete(this.pid);
    takenByPid.set(this.pid, this.counts.buffered);
    if (takenByPid.size > TAKEN_HISTORY) takenByPid.delete(takenByPid.keys().next().value as number);
    const arena = this.arena;
    if (arena && arena.length - this.arenaUsed >= size) {
      const at = this.arenaUsed;
      this.arenaUsed = at + ((size + 7) & ~7);
      this.counts.bufferedReserved += size;
      return arena.subarray(at, at + size);
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Reads one range; throws MemoryError when any part of it is unreadable. */
  read(address: Address, size: number): Uint8Array {
    const got = this.readBatch([{ address, size }])[0];
    if (!got) throw new MemoryError(address, size, `not mapped in process ${this.pid}`);
    return got;
  }

  /**
   * Reads many ranges at once; an entry is undefined when its range is not entirely readable.
   * The results are views into one buffer taken for this batch (never reused).
   */
  readBatch(ranges: readonly MemRange[]): (Uint8Array | undefined)[] {
    const n = ranges.length;
    const addresses = new Float64Array(n);
    const sizes = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      addresses[i] = ranges[i]!.address;
      sizes[i] = ranges[i]!.size;
      total += ranges[i]!.size;
    }
    const buf = this.takeBuffer(total);
    const ok = new Uint8Array(n);
    this.readInto(addresses, sizes, n, buf, 0, ok);
    const out: (Uint8Array | undefined)[] = new Array(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const size = sizes[i]!;
      if (ok[i]) out[i] = new Uint8Array(buf.buffer, buf.byteOffset + off, size);
      off += size;
    }
    return out;
  }

  /**
   * Reads `count` ranges (addresses[i], sizes[i]) back to back into `dest` from `destOffset`
   * (range i lands after the bytes of ranges 0..i-1) and sets ok[i] to 1 when range i was
   * read entirely, else 0. Makes no object per range. A range that starts at most `joinGap`
   * bytes after the previous one ends is read with it as one remote range (pass ranges in
   * ascending address order to benefit); a failed joined read is retried without joining,
   * so a gap that is unmapped costs nothing but time. Returns the number of unreadable ranges.
   */
  readInto(
    addresses: ArrayLike<number>,
    sizes: ArrayLike<number>,
    count: number,
    dest: Buffer,
    destOffset: number,
    ok: Uint8Array,
    joinGap = 0,
  ): number {
    this.counts.ranges += count;
    const gap = Math.min(Math.max(joinGap, 0), MAX_JOIN_GAP);
    if (gap > 0 && (!this.scratch || this.scratch.length < gap)) this.scratch = Buffer.alloc(gap);
    let i = 0;
    let off = destOffset;
    let noJoinBefore = 0;
    while (i < count) {
      if (this.procMem) {
        for (; i < count; i++) {
          ok[i] = this.readFallback(addresses[i]!, sizes[i]!, dest, off) ? 1 : 0;
          off += sizes[i]!;
        }
        break;
      }
      const next = this.readChunk(addresses, sizes, count, dest, i, off, ok, gap, noJoinBefore);
      i = next.index;
      off = next.offset;
      noJoinBefore = next.noJoinBefore;
    }
    let bad = 0;
    for (let k = 0; k < count; k++) if (!ok[k]) bad++;
    this.counts.unreadable += bad;
    return bad;
  }

  /** Counters since the reader was made. */
  stats(): ReadStats {
    return { ...this.counts, fallback: this.procMem !== undefined };
  }

  /** Releases the /proc/PID/mem descriptor, if the fallback opened one. */
  close(): void {
    this.procMem?.close();
  }

  /**
   * One process_vm_readv call for ranges[first...]; returns where to go on: the next range,
   * its offset in dest, and the first range that may be joined to its predecessor again.
   */
  private readChunk(
    addresses: ArrayLike<number>,
    sizes: ArrayLike<number>,
    count: number,
    dest: Buffer,
    first: number,
    firstOffset: number,
    ok: Uint8Array,
    joinGap: number,
    noJoinBefore: number,
  ): { index: number; offset: number; noJoinBefore: number } {
    const lib = this.lib as Libc;
    const base = bufferAddress(dest);
    const scratch = joinGap > 0 ? bufferAddress(this.scratch as Buffer) : 0;
    const local = this.local32;
    const remote = this.remote32;
    let nl = 0; // local iovecs
    let nr = 0; // remote iovecs
    let k = 0; // ranges in this call
    let pos = 0; // bytes of the local stream
    let runEnd = -1;
    let i = first;
    let off = firstOffset;
    for (; i < count; i++) {
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
        setIov(local, nl++, base + off, size);
        const rl = (nr - 1) * 4 + 2;
        setU64(remote, rl, getU64(remote, rl) + d + size);
        pos += d;
      } else {
        if (nl + 1 > MAX_IOVECS) break;
        setIov(local, nl++, base + off, size);
        setIov(remote, nr++, a, size);
      }
      pos += size;
      runEnd = a + size;
      this.callIdx[k] = i;
      this.callEnd[k] = pos;
      this.callDest[k] = off;
      k++;
      off += size;
    }
    if (k === 0) return { index: i, offset: off, noJoinBefore };
    let n = lib.processVmReadv(this.pid, this.localIov, nl, this.remoteIov, nr);
    this.counts.calls++;
    if (n < 0) {
      const errno = lib.errno();
      if (errno === Errno.ESRCH) throw new PeriscopeError('not-found', `process ${this.pid} exited`);
      if (errno === Errno.ENOSYS || errno === Errno.EPERM) {
        this.procMem = new ProcMemFile(this.pid);
        return { index: first, offset: firstOffset, noJoinBefore };
      }
      n = 0; // EFAULT (or anything else): nothing was copied, so the first range is unreadable
    }
    let useful = 0;
    for (let j = 0; j < k; j++) {
      const end = this.callEnd[j]!;
      const idx = this.callIdx[j]!;
      const size = sizes[idx]!;
      if (end <= n) {
        ok[idx] = 1;
        useful += size;
        continue;
      }
      this.counts.bytesRead += useful;
      this.counts.gapBytes += Math.max(0, Math.min(n, pos) - useful);
      if (n < end - size) {
        // The copy stopped in the gap before this range: read it again on its own.
        return { index: idx, offset: this.callDest[j]!, noJoinBefore: idx + 1 };
      }
      ok[idx] = 0; // the copy stopped inside this range: unreadable
      return { index: idx + 1, offset: this.callDest[j]! + size, noJoinBefore: idx + 2 };
    }
    this.counts.bytesRead += useful;
    this.counts.gapBytes += pos - useful;
    return { index: i, offset: off, noJoinBefore };
  }

  private readFallback(address: number, size: number, dest: Buffer, offset: number): boolean {
    if (size === 0) return true;
    try {
      const bytes = (this.procMem as ProcMemFile).read(address as Address, size);
      this.counts.calls++;
      this.counts.bytesRead += size;
      dest.set(bytes, offset);
      return true;
    } catch (e) {
      this.counts.calls++;
      if (e instanceof MemoryError) return false;
      throw e;
    }
  }
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
