/**
 * Target memory copied during a pause: a set of byte ranges, kept sorted by address and
 * found by binary search. Decoders read it after the process has resumed, exactly as they
 * would read the live process; a read outside every copied range throws MemoryError, or
 * reads through to a fallback (the live process) only when the caller allowed that.
 */
import { type Address, addr } from '../common/address.js';
import { sortedOrder } from '../common/radix-order.js';
import { type Memory, MemoryError } from './memory.js';
import type { MemRange } from './vm-reader.js';

/** A memory source that reads many ranges per call (the proc layer's VmReader). */
export interface BatchMemory {
  /** One result per range; undefined where the range was not readable. */
  readBatch(ranges: readonly MemRange[]): (Uint8Array | undefined)[];
  /**
   * Optional fast path (VmReader.readInto): reads ranges back to back into dest from
   * destOffset, ok[i] = 1 where range i was read; neighbours at most joinGap apart are read
   * as one remote range. Returns the number of unreadable ranges.
   */
  readInto?(
    addresses: ArrayLike<number>,
    sizes: ArrayLike<number>,
    count: number,
    dest: Buffer,
    destOffset: number,
    ok: Uint8Array,
    joinGap?: number,
  ): number;
  /** Optional: a buffer for readInto, preferably from memory reserved (pre-faulted) before the pause. */
  takeBuffer?(size: number): Buffer;
  /** Optional: pre-faults this many bytes for takeBuffer (call outside a pause). */
  reserve?(bytes: number): void;
}

const TWO32 = 0x1_0000_0000;
/** How many earlier (overlapping) ranges a lookup inspects when the nearest one falls short. */
const OVERLAP_LOOKBACK = 4;

/** Counters of a CopiedMemory: what was copied, and how often decoding needed the fallback. */
export interface CopiedMemoryStats {
  readonly ranges: number;
  readonly bytesCopied: number;
  readonly fallbackReads: number;
  readonly misses: number;
}

/** Ranges read back to back into one buffer, added without a view per range (see addPacked). */
interface PackedBlock {
  readonly buf: Uint8Array;
  readonly addresses: ArrayLike<number>;
  readonly sizes: ArrayLike<number>;
  readonly ok: Uint8Array;
  readonly count: number;
  readonly offset: number;
}

/**
 * Memory made of ranges copied from the target; implements Memory over the copies. Ranges
 * added during a pause are only recorded; the index (sorted by address) is built on the
 * first lookup, normally after the process has resumed.
 */
export class CopiedMemory implements Memory {
  private starts: number[] = [];
  private ends: number[] = [];
  private bufs: Uint8Array[] = [];
  private offs: number[] = [];
  private pending: PackedBlock[] = [];
  private sorted = true;
  private bytes = 0;
  private fallbackReads = 0;
  private misses = 0;
  /** Where locate's bytes start in the buffer it returned. */
  lastOffset = 0;
  /** Index of the range the last lookup found (any index is safe: it is checked before use). */
  private last = 0;
  private readonly fallback: Memory | undefined;

  /** `fallback` (e.g. the live process) is read when a range was not copied; omit to forbid that. */
  constructor(fallback?: Memory) {
    this.fallback = fallback;
  }

  /**
   * Adds a copied range (any order; the bytes are kept, not copied again). Once the index is
   * built, a range is inserted in place: values read during a pause add ranges one at a time
   * between lookups, and re-sorting every range for each would cost milliseconds a read.
   */
  add(address: Address, data: Uint8Array): void {
    if (data.length === 0) return;
    this.last = -1; // a new range may cover the address better (where the search would land)
    const n = this.starts.length;
    if (this.sorted && this.pending.length === 0 && n > 0 && address < this.starts[n - 1]!) {
      const end = address + data.length;
      // After every range that sorts before it (by start, then end: the longest last).
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const s = this.starts[mid]!;
        if (s < address || (s === address && this.ends[mid]! <= end)) lo = mid + 1;
        else hi = mid;
      }
      this.starts.splice(lo, 0, address);
      this.ends.splice(lo, 0, end);
      this.bufs.splice(lo, 0, data);
      this.offs.splice(lo, 0, 0);
      this.bytes += data.length;
      return;
    }
    this.push(address, data.length, data, 0);
  }

  /**
   * Adds ranges read back to back into `buf` from `offset` (as VmReader.readInto leaves
   * them): range i, if ok[i], is at offset + sizes[0..i) and is `sizes[i]` bytes long. The
   * arrays are kept, not copied: do not change them afterwards.
   */
  addPacked(
    buf: Uint8Array,
    offset: number,
    addresses: ArrayLike<number>,
    sizes: ArrayLike<number>,
    ok: Uint8Array,
    count: number,
  ): void {
    this.pending.push({ buf, addresses, sizes, ok, count, offset });
  }

  /** Whether [address, address+size) lies inside one copied range. */
  has(address: Address, size: number): boolean {
    return this.find(address, size) >= 0;
  }

  /** Reads bytes from the copies (a view, not a copy); falls back or throws MemoryError. */
  read(address: Address, size: number): Uint8Array {
    const i = this.find(address, size);
    if (i >= 0) {
      const off = this.offs[i]! + address - this.starts[i]!;
      return this.bufs[i]!.subarray(off, off + size);
    }
    return this.miss(address, size);
  }

  /**
   * The buffer holding [address, address+size) when it was copied, without making a view
   * (a decode reads 100k goroutine headers): the bytes start at `lastOffset`. Undefined when
   * not copied (read() then falls back or throws).
   */
  locate(address: Address, size: number): Uint8Array | undefined {
    const i = this.find(address, size);
    if (i < 0) return undefined;
    this.lastOffset = this.offs[i]! + address - this.starts[i]!;
    return this.bufs[i]!;
  }

  /** Reads a little-endian u64 as a number (exact below 2^53; larger values lose low bits). */
  readU64(address: Address): number {
    const i = this.find(address, 8);
    if (i < 0) {
      const b = this.miss(address, 8);
      return u64At(b, 0);
    }
    return u64At(this.bufs[i]!, this.offs[i]! + address - this.starts[i]!);
  }

  /** Reads a little-endian u32. */
  readU32(address: Address): number {
    const i = this.find(address, 4);
    const b = i < 0 ? this.miss(address, 4) : this.bufs[i]!;
    const o = i < 0 ? 0 : this.offs[i]! + address - this.starts[i]!;
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
  }

  /** Reads an unsigned integer of 1, 2, 4 or 8 bytes. */
  readUint(address: Address, size: number): number {
    if (size === 8) return this.readU64(address);
    if (size === 4) return this.readU32(address);
    const b = this.read(address, size);
    return size === 2 ? b[0]! | (b[1]! << 8) : b[0]!;
  }

  /** Counters: ranges and bytes copied, fallback reads and misses during decoding. */
  stats(): CopiedMemoryStats {
    this.unpack();
    return {
      ranges: this.starts.length,
      bytesCopied: this.bytes,
      fallbackReads: this.fallbackReads,
      misses: this.misses,
    };
  }

  /** The copied ranges in address order, as [start, end) pairs (for tests and reports). */
  ranges(): [Address, Address][] {
    this.sort();
    return this.starts.map((s, i) => [addr(s), addr(this.ends[i]!)]);
  }

  private push(address: number, size: number, buf: Uint8Array, off: number): void {
    const n = this.starts.length;
    if (n > 0 && address < this.starts[n - 1]!) this.sorted = false;
    this.starts.push(address);
    this.ends.push(address + size);
    this.bufs.push(buf);
    this.offs.push(off);
    this.bytes += size;
  }

  /** Moves the ranges of packed blocks into the index. */
  private unpack(): void {
    if (this.pending.length === 0) return;
    for (const b of this.pending) {
      let off = b.offset;
      for (let i = 0; i < b.count; i++) {
        const size = b.sizes[i]!;
        if (b.ok[i] && size > 0) this.push(b.addresses[i]!, size, b.buf, off);
        off += size;
      }
    }
    this.pending = [];
  }

  private miss(address: Address, size: number): Uint8Array {
    this.misses++;
    if (!this.fallback) throw new MemoryError(address, size, 'not copied during the pause');
    this.fallbackReads++;
    return this.fallback.read(address, size);
  }

  /** Index of a range containing [address, address+size), or -1. */
  private find(address: number, size: number): number {
    this.sort();
    const starts = this.starts;
    // Reads come in runs within one range (a stack walk, a header): try the last one first.
    const last = this.last;
    if (last >= 0 && last < starts.length && starts[last]! <= address && address + size <= this.ends[last]!)
      return last;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || address < starts[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    const end = address + size;
    for (let i = lo, k = 0; i >= 0 && k <= OVERLAP_LOOKBACK; i--, k++) {
      if (this.ends[i]! >= end) {
        this.last = i;
        return i;
      }
    }
    return -1;
  }

  private sort(): void {
    this.unpack();
    if (this.sorted) return;
    const starts = this.starts;
    const ends = this.ends;
    // A radix order (stable, by start): the index may be built inside a pause (values), and a
    // comparator sort of 100k ranges took 25–30 ms.
    const order = sortedOrder(starts);
    // Among equal starts the longest sorts last, where the binary search lands (runs are short).
    for (let k = 1; k < order.length; k++) {
      const i = order[k]!;
      let j = k - 1;
      while (j >= 0 && starts[order[j]!] === starts[i] && ends[order[j]!]! > ends[i]!) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = i;
    }
    const n = order.length;
    const s2 = new Array<number>(n);
    const e2 = new Array<number>(n);
    const b2 = new Array<Uint8Array>(n);
    const o2 = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      s2[k] = starts[i]!;
      e2[k] = ends[i]!;
      b2[k] = this.bufs[i]!;
      o2[k] = this.offs[i]!;
    }
    this.starts = s2;
    this.ends = e2;
    this.bufs = b2;
    this.offs = o2;
    this.sorted = true;
  }
}

/** A little-endian u64 at offset o of b, as a number. */
export function u64At(b: Uint8Array, o: number): number {
  const lo = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
  const hi = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16)) + b[o + 7]! * 0x100_0000;
  return hi * TWO32 + lo;
}

/** A little-endian u32 at offset o of b. */
export function u32At(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000;
}
