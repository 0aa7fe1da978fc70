/**
 * Batched reads of another process's memory with process_vm_readv: up to 1024 ranges per
 * system call, copied into one buffer per batch. Falls back to /proc/PID/mem when the
 * system call is unavailable.
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
  /** Bytes copied out of the target. */
  readonly bytesRead: number;
  /** System calls made (process_vm_readv calls, or preads on the fallback path). */
  readonly calls: number;
  /** Ranges requested. */
  readonly ranges: number;
  /** Ranges that could not be read (unmapped memory). */
  readonly unreadable: number;
  /** Whether the /proc/PID/mem fallback is in use. */
  readonly fallback: boolean;
}

/** Most iovecs the kernel accepts per call (IOV_MAX). */
export const MAX_IOVECS = 1024;

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
  private counts = { bytesRead: 0, calls: 0, ranges: 0, unreadable: 0 };

  /** A reader for process `pid`; `forceFallback` uses /proc/PID/mem (for tests and comparisons). */
  constructor(pid: number, opts: { forceFallback?: boolean } = {}) {
    this.pid = pid;
    if (opts.forceFallback) this.procMem = new ProcMemFile(pid);
    else {
      try {
        this.lib = libc();
      } catch {
        this.procMem = new ProcMemFile(pid);
      }
    }
  }

  /** Reads one range; throws MemoryError when any part of it is unreadable. */
  read(address: Address, size: number): Uint8Array {
    const got = this.readBatch([{ address, size }])[0];
    if (!got) throw new MemoryError(address, size, `not mapped in process ${this.pid}`);
    return got;
  }

  /**
   * Reads many ranges at once; an entry is undefined when its range is not entirely readable.
   * The results are views into one buffer allocated for this batch (never reused).
   */
  readBatch(ranges: readonly MemRange[]): (Uint8Array | undefined)[] {
    const out: (Uint8Array | undefined)[] = new Array(ranges.length);
    this.counts.ranges += ranges.length;
    let total = 0;
    for (const r of ranges) total += r.size;
    const buf = Buffer.allocUnsafeSlow(total);
    const offsets = new Array<number>(ranges.length);
    let off = 0;
    for (let i = 0; i < ranges.length; i++) {
      offsets[i] = off;
      off += ranges[i].size;
    }
    let i = 0;
    while (i < ranges.length && !this.procMem) i = this.readChunk(ranges, offsets, buf, i, out);
    for (; i < ranges.length; i++) out[i] = this.readFallback(ranges[i], buf, offsets[i]);
    for (const r of out) if (!r) this.counts.unreadable++;
    return out;
  }

  /** Counters since the reader was made. */
  stats(): ReadStats {
    return { ...this.counts, fallback: this.procMem !== undefined };
  }

  /** Releases the /proc/PID/mem descriptor, if the fallback opened one. */
  close(): void {
    this.procMem?.close();
  }

  /** One process_vm_readv call for ranges[first...]; returns the index of the next range to read. */
  private readChunk(
    ranges: readonly MemRange[],
    offsets: number[],
    buf: Buffer,
    first: number,
    out: (Uint8Array | undefined)[],
  ): number {
    const lib = this.lib as Libc;
    const base = bufferAddress(buf);
    const idx: number[] = [];
    let i = first;
    for (; i < ranges.length && idx.length < MAX_IOVECS; i++) {
      const r = ranges[i];
      if (r.size === 0) {
        out[i] = new Uint8Array(0);
        continue;
      }
      const k = idx.length * 4;
      setU64(this.local32, k, base + offsets[i]);
      setU64(this.remote32, k, r.address);
      setU64(this.local32, k + 2, r.size);
      setU64(this.remote32, k + 2, r.size);
      idx.push(i);
    }
    if (idx.length === 0) return i;
    const n = lib.processVmReadv(this.pid, this.localIov, idx.length, this.remoteIov, idx.length);
    this.counts.calls++;
    if (n < 0) {
      const errno = lib.errno();
      if (errno === Errno.ESRCH) throw new PeriscopeError('not-found', `process ${this.pid} exited`);
      if (errno === Errno.ENOSYS || errno === Errno.EPERM) {
        this.procMem = new ProcMemFile(this.pid);
        return first;
      }
      // EFAULT (or anything else): the first range is unreadable; go on after it.
      return idx[0] + 1;
    }
    this.counts.bytesRead += n;
    let done = 0;
    for (const j of idx) {
      const size = ranges[j].size;
      if (done + size > n) return j + 1; // the copy stopped inside range j: unreadable
      out[j] = new Uint8Array(buf.buffer, buf.byteOffset + offsets[j], size);
      done += size;
    }
    return i;
  }

  private readFallback(r: MemRange, buf: Buffer, offset: number): Uint8Array | undefined {
    if (r.size === 0) return new Uint8Array(0);
    try {
      const bytes = (this.procMem as ProcMemFile).read(r.address, r.size);
      this.counts.calls++;
      this.counts.bytesRead += r.size;
      buf.set(bytes, offset);
      return new Uint8Array(buf.buffer, buf.byteOffset + offset, r.size);
    } catch (e) {
      this.counts.calls++;
      if (e instanceof MemoryError) return undefined;
      throw e;
    }
  }
}

/** Writes a non-negative integer below 2^53 as a little-endian u64 at word index k of a u32 view. */
function setU64(view: Uint32Array, k: number, value: number): void {
  view[k] = value >>> 0;
  view[k + 1] = Math.floor(value / 0x1_0000_0000);
}
