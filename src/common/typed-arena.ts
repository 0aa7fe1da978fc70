/**
 * Typed arrays carved out of memory that was faulted in ahead of time. On the VMs we measured
 * the first write to a fresh page costs 1.5–5 µs, so a fresh 800 KB Float64Array costs about
 * half a millisecond before its first use: inside a pause, the scratch arrays of a 100k
 * goroutine capture cost ~10 ms that way. An arena is reserved before pausing and hands out
 * zeroed views, each once; when it runs out it allocates normally.
 */

/** Something that hands out zeroed typed arrays. */
export interface TypedAlloc {
  f64(n: number): Float64Array;
  u32(n: number): Uint32Array;
  i32(n: number): Int32Array;
  u8(n: number): Uint8Array;
}

/** A bump allocator over one pre-faulted buffer; views are 8-aligned, zeroed and not reused until reset(). */
export class TypedArena implements TypedAlloc {
  private readonly buffer: ArrayBuffer;
  private used = 0;
  /** Bytes asked for that the arena could not hold (allocated normally instead). */
  overflow = 0;

  /** Reserves `bytes` and faults every page in now (call it outside a pause). */
  constructor(bytes: number) {
    this.buffer = new ArrayBuffer(Math.ceil(Math.max(0, bytes) / 8) * 8);
    new Uint8Array(this.buffer).fill(0);
  }

  /** Bytes handed out so far. */
  get taken(): number {
    return this.used;
  }

  f64(n: number): Float64Array {
    const at = this.take(n * 8);
    return at < 0 ? new Float64Array(n) : new Float64Array(this.buffer, at, n);
  }

  u32(n: number): Uint32Array {
    const at = this.take(n * 4);
    return at < 0 ? new Uint32Array(n) : new Uint32Array(this.buffer, at, n);
  }

  i32(n: number): Int32Array {
    const at = this.take(n * 4);
    return at < 0 ? new Int32Array(n) : new Int32Array(this.buffer, at, n);
  }

  u8(n: number): Uint8Array {
    const at = this.take(n);
    return at < 0 ? new Uint8Array(n) : new Uint8Array(this.buffer, at, n);
  }

  /**
   * Takes every view back (zeroing what was handed out): for a caller that has dropped all of
   * them, e.g. between the warm-up runs of a capture, which would otherwise fault in a fresh
   * arena each time.
   */
  reset(): void {
    new Uint8Array(this.buffer, 0, this.used).fill(0);
    this.used = 0;
    this.overflow = 0;
  }

  /** Offset of `bytes` fresh bytes in the buffer, or -1 when they do not fit. */
  private take(bytes: number): number {
    const at = this.used;
    const end = at + Math.ceil(bytes / 8) * 8;
    if (end > this.buffer.byteLength) {
      this.overflow += bytes;
      return -1;
    }
    this.used = end;
    return at;
  }
}

/**
 * Plain allocation (fresh, zeroed memory): an arena that holds nothing. The same class as a
 * reserved arena, so that code called with either stays monomorphic (a capture warmed up
 * with one and run in the pause with the other would otherwise be deoptimized there).
 */
export const HEAP: TypedAlloc = new TypedArena(0);
