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
 * Large reads are shared with a second thread (copy-helper.ts; the loop itself is in
 * vm-read-ranges.ts), since the target is stopped and our second core idle.
 */
import type { Address } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import { scannableBuffer } from '../common/word-scan.js';
import {
  armCopyHelper,
  copyHelperDisabled,
  copyHelperReady,
  copyThreadsDisabled,
  DEFAULT_ARM_MS,
  disarmCopyHelper,
  MIN_SPLIT_BYTES,
  readSplit,
  startCopyHelper,
} from './copy-helper.js';
import { bufferAddress, type Libc, libc } from './libc.js';
import { type Memory, MemoryError, ProcMemFile } from './memory.js';
import { clampJoinGap, RangeReadState, ReadStatus, readRanges } from './vm-read-ranges.js';

export { MAX_IOVECS, MAX_JOIN_GAP } from './vm-read-ranges.js';

/** A capture of at least this many bytes has its copy shared with the helper thread (reserve, armHelper). */
export const HELPER_MIN_BYTES = 2 * MIN_SPLIT_BYTES;

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
   * Bytes of pre-faulted memory to reserve now for takeBuffer (default 0; a capture sizes its
   * reserve itself, from the process's goroutine count, with `reserve`).
   */
  reserveBytes?: number;
  /**
   * Threads for large readInto calls: 2 (default) lets this thread's copy helper read part
   * of them (copy-helper.ts), 1 reads on the calling thread only. PERISCOPE_COPY_THREADS=1
   * forces 1.
   */
  threads?: 1 | 2;
}

/**
 * Reserves kept across captures on this thread, once poolReserves was called (the agent's
 * capture thread): otherwise every pause is preceded by a fresh reserve (10 MB of WebAssembly
 * memory at 10k goroutines) faulted in page by page, and the last one's is left to V8 to free.
 * A reserve is lent from its `reserve` until releaseReserves, which its owner calls once no
 * capture made since is referenced any more (the snapshots are encoded).
 */
const pool = { on: false, lent: [] as Buffer[], spare: [] as Buffer[] };

/** Most bytes of reserves kept for reuse between captures (larger ones are dropped as before). */
export const MAX_POOLED_BYTES = 64 << 20;

/**
 * Starts this thread's copy helper now, as the first reader to share a copy would (unless
 * PERISCOPE_COPY_THREADS=1), and waits up to `waitMs` for it to be ready (it blocks). For a
 * thread that may be terminated while it works (the agent's capture thread, past a budget):
 * a thread terminated while its helper still loads koffi's native binding takes the whole
 * process down (SIGABRT, in koffi's module init), so the helper is loaded before any work.
 */
export function startCopyHelperNow(waitMs: number): boolean {
  if (copyThreadsDisabled()) return false;
  startCopyHelper();
  return copyHelperReady(waitMs);
}

/** Keeps this thread's reserves for reuse from now on (see releaseReserves). */
export function poolReserves(): void {
  pool.on = true;
}

/**
 * Makes every reserve taken on this thread since the last call reusable: call it only when
 * nothing read into them is referenced any more. Kept up to MAX_POOLED_BYTES, the largest
 * first; none when a copy helper of this thread did not stop (it may still write into one).
 */
export function releaseReserves(): void {
  const lent = pool.lent.splice(0);
  if (copyHelperDisabled()) {
    pool.spare.length = 0;
    return;
  }
  for (const b of lent.sort((x, y) => y.length - x.length)) keepSpare(b);
}

/** Keeps `b` for reuse when the pool has room for it under MAX_POOLED_BYTES. */
function keepSpare(b: Buffer): void {
  if (pooledReserveBytes() + b.length <= MAX_POOLED_BYTES) pool.spare.push(b);
}

/** Bytes of reserves waiting for reuse on this thread. */
export function pooledReserveBytes(): number {
  return pool.spare.reduce((n, b) => n + b.length, 0);
}

/** The smallest kept reserve of at least `bytes`, taken out of the pool. */
function takeSpare(bytes: number): Buffer | undefined {
  let best = -1;
  for (let i = 0; i < pool.spare.length; i++) {
    const n = pool.spare[i]!.length;
    if (n >= bytes && (best < 0 || n < pool.spare[best]!.length)) best = i;
  }
  return best < 0 ? undefined : pool.spare.splice(best, 1)[0];
}

/** Reads a live process's memory in batches; `read` throws MemoryError for unreadable ranges. */
export class VmReader implements Memory {
  readonly pid: number;
  private lib: Libc | undefined;
  private procMem: ProcMemFile | undefined;
  private readonly threads: 1 | 2;
  private armed = false;
  /** Iovecs and scratch of this thread's reads; bytesRead, gapBytes and calls (the helper's part added). */
  private readonly state = new RangeReadState();
  private arena: Buffer | undefined;
  private arenaUsed = 0;
  private counts = {
    ranges: 0,
    unreadable: 0,
    buffered: 0,
    bufferedReserved: 0,
  };

  /** A reader for process `pid` (see VmReaderOptions for the fallback and the reserve). */
  constructor(pid: number, opts: VmReaderOptions = {}) {
    this.pid = pid;
    this.threads = opts.threads === 1 || copyThreadsDisabled() ? 1 : 2;
    if (opts.forceFallback) this.procMem = new ProcMemFile(pid);
    else {
      try {
        this.lib = libc();
      } catch {
        this.procMem = new ProcMemFile(pid);
      }
    }
    if (opts.reserveBytes) this.reserve(opts.reserveBytes);
  }

  /**
   * Reserves `bytes` of pre-faulted memory that takeBuffer hands out first. Call it outside
   * a pause: touching fresh pages is what makes it slow. Also starts the copy helper when
   * that much is worth sharing between two threads.
   */
  reserve(bytes: number): void {
    if (bytes >= HELPER_MIN_BYTES) this.startHelper();
    const free = this.arena ? this.arena.length - this.arenaUsed : 0;
    if (bytes <= free) return;
    // Memory the stack scan's SIMD loop reads in place (common/word-scan.ts), where it can be.
    const arena = takeSpare(bytes) ?? scannableBuffer(bytes) ?? Buffer.allocUnsafeSlow(bytes);
    // Fresh memory: fault every page in now. Reused: wipe the previous snapshot's bytes (no
    // page faults: a memset, about 1 ms for 10 MB), so that nothing of it can be read again.
    arena.fill(0);
    if (pool.on) pool.lent.push(arena);
    this.arena = arena;
    this.arenaUsed = 0;
  }

  /**
   * Gives this reader's reserve back to this thread's pool (when poolReserves was called), for
   * the next reader's `reserve`: call it only when nothing read into it is referenced any more
   * (the warm-up runs of a capture, whose reserve the pause after them then reuses). Kept as
   * releaseReserves keeps them.
   */
  returnReserve(): void {
    const arena = this.arena;
    this.arena = undefined;
    this.arenaUsed = 0;
    const i = arena ? pool.lent.indexOf(arena) : -1;
    if (!arena || i < 0) return;
    pool.lent.splice(i, 1);
    if (!copyHelperDisabled()) keepSpare(arena);
  }

  /**
   * Makes the whole reserve available again: for a caller that has dropped every buffer read
   * so far (the warm-up runs of a capture), which would otherwise reserve afresh each time.
   */
  recycleReserve(): void {
    this.arenaUsed = 0;
  }

  /**
   * Starts this thread's copy helper unless this reader reads on one thread (idempotent;
   * it is usable tens of milliseconds later, until then reads run on one thread). Call it
   * outside a pause.
   */
  startHelper(): void {
    if (this.threads > 1 && !this.procMem) startCopyHelper();
  }

  /**
   * Whether this thread's copy helper takes jobs, waiting up to `waitMs` for a starting one
   * (never inside a pause: it blocks).
   */
  helperReady(waitMs = 0): boolean {
    return this.threads > 1 && !this.procMem && copyHelperReady(waitMs);
  }

  /**
   * Call when a pause starts: the copy helper spins for `ms` milliseconds instead of
   * sleeping, so that reads during the pause start on both threads at once. With
   * `expectedBytes` (what the pause will copy), only when that is enough to be shared: a
   * spinning helper that gets no work only takes CPU time from this thread.
   */
  armHelper(ms = DEFAULT_ARM_MS, expectedBytes = Number.POSITIVE_INFINITY): void {
    if (this.threads > 1 && !this.procMem && expectedBytes >= HELPER_MIN_BYTES) {
      armCopyHelper(ms);
      this.armed = true;
    }
  }

  /** Call before resuming, after armHelper: the helper stops spinning (it would take a core from the target). */
  disarmHelper(): void {
    if (!this.armed) return;
    this.armed = false;
    disarmCopyHelper();
  }

  /**
   * A buffer of `size` bytes for readInto, from the reserve when it has room (no page faults),
   * else freshly allocated. It is never handed out twice.
   */
  takeBuffer(size: number): Buffer {
    this.counts.buffered += size;
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
   * so a gap that is unmapped costs nothing but time. Large reads are shared with the copy
   * helper when it is running (startHelper). Returns the number of unreadable ranges.
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
    const gap = clampJoinGap(joinGap);
    this.state.ensureScratch(gap);
    const base = bufferAddress(dest);
    const readHere = (first: number, end: number, offset: number): void =>
      this.readSpan(addresses, sizes, first, end, dest, base, offset, ok, gap);
    const helped =
      this.threads > 1 && !this.procMem
        ? readSplit(this.pid, addresses, sizes, count, dest, destOffset, ok, gap, readHere)
        : undefined;
    if (helped) {
      this.state.bytesRead += helped.bytesRead;
      this.state.gapBytes += helped.gapBytes;
      this.state.calls += helped.calls;
    } else readHere(0, count, destOffset);
    let bad = 0;
    for (let k = 0; k < count; k++) if (!ok[k]) bad++;
    this.counts.unreadable += bad;
    return bad;
  }

  /** Counters since the reader was made. */
  stats(): ReadStats {
    const { bytesRead, gapBytes, calls } = this.state;
    return { bytesRead, gapBytes, calls, ...this.counts, fallback: this.procMem !== undefined };
  }

  /** Releases the /proc/PID/mem descriptor, if the fallback opened one. */
  close(): void {
    this.procMem?.close();
  }

  /**
   * Reads ranges first..end-1 on this thread from `offset` of dest (at address `base`): with
   * process_vm_readv, or /proc/PID/mem once that is found unavailable.
   */
  private readSpan(
    addresses: ArrayLike<number>,
    sizes: ArrayLike<number>,
    first: number,
    end: number,
    dest: Buffer,
    base: number,
    offset: number,
    ok: Uint8Array,
    gap: number,
  ): void {
    let i = first;
    let off = offset;
    while (i < end) {
      if (this.procMem) {
        for (; i < end; i++) {
          ok[i] = this.readFallback(addresses[i]!, sizes[i]!, dest, off) ? 1 : 0;
          off += sizes[i]!;
        }
        return;
      }
      const st = readRanges(
        this.lib as Libc,
        this.pid,
        addresses,
        sizes,
        i,
        end,
        base,
        off,
        ok,
        gap,
        this.state,
      );
      if (st === ReadStatus.Done) return;
      if (st === ReadStatus.Exited) throw new PeriscopeError('not-found', `process ${this.pid} exited`);
      this.procMem = new ProcMemFile(this.pid); // ENOSYS or EPERM: go on through /proc/PID/mem
      i = this.state.stopIndex;
      off = this.state.stopOffset;
    }
  }

  private readFallback(address: number, size: number, dest: Buffer, offset: number): boolean {
    if (size === 0) return true;
    try {
      const bytes = (this.procMem as ProcMemFile).read(address as Address, size);
      this.state.calls++;
      this.state.bytesRead += size;
      dest.set(bytes, offset);
      return true;
    } catch (e) {
      this.state.calls++;
      if (e instanceof MemoryError) return false;
      throw e;
    }
  }
}
