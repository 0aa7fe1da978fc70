/**
 * Target memory copied during a pause: a set of byte ranges, kept sorted by address and
 * found by binary search. Decoders read it after the process has resumed, exactly as they
 * would read the live process; a read outside every copied range throws MemoryError, or
 * reads through to a fallback (the live process) only when the caller allowed that.
 */
import { type Address, addr } from '../common/address.js';
import { type Memory, MemoryError } from '../proc/memory.js';

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

/** Memory made of ranges copied from the target; implements Memory over the copies. */
export class CopiedMemory implements Memory {
  private starts: number[] = [];
  private ends: number[] = [];
  private chunks: Uint8Array[] = [];
  private sorted = true;
  private bytes = 0;
  private fallbackReads = 0;
  private misses = 0;
  private readonly fallback: Memory | undefined;

  /** `fallback` (e.g. the live process) is read when a range was not copied; omit to forbid that. */
  constructor(fallback?: Memory) {
    this.fallback = fallback;
  }

  /** Adds a copied range (any order; the bytes are kept, not copied again). */
  add(address: Address, data: Uint8Array): void {
    if (data.length === 0) return;
    const n = this.starts.length;
    if (n > 0 && address < this.starts[n - 1]!) this.sorted = false;
    this.starts.push(address);
    this.ends.push(address + data.length);
    this.chunks.push(data);
    this.bytes += data.length;
  }

  /** Whether [address, address+size) lies inside one copied range. */
  has(address: Address, size: number): boolean {
    return this.find(address, size) >= 0;
  }

  /** Reads bytes from the copies (a view, not a copy); falls back or throws MemoryError. */
  read(address: Address, size: number): Uint8Array {
    const i = this.find(address, size);
    if (i >= 0) {
      const off = address - this.starts[i]!;
      return this.chunks[i]!.subarray(off, off + size);
    }
    return this.miss(address, size);
  }

  /** Reads a little-endian u64 as a number (exact below 2^53; larger values lose low bits). */
  readU64(address: Address): number {
    const i = this.find(address, 8);
    if (i < 0) {
      const b = this.miss(address, 8);
      return u64At(b, 0);
    }
    return u64At(this.chunks[i]!, address - this.starts[i]!);
  }

  /** Reads a little-endian u32. */
  readU32(address: Address): number {
    const i = this.find(address, 4);
    const b = i < 0 ? this.miss(address, 4) : this.chunks[i]!;
    const o = i < 0 ? 0 : address - this.starts[i]!;
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

  private miss(address: Address, size: number): Uint8Array {
    this.misses++;
    if (!this.fallback) throw new MemoryError(address, size, 'not copied during the pause');
    this.fallbackReads++;
    return this.fallback.read(address, size);
  }

  /** Index of a range containing [address, address+size), or -1. */
  private find(address: number, size: number): number {
    if (!this.sorted) this.sort();
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || address < starts[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    const end = address + size;
    for (let i = lo, k = 0; i >= 0 && k <= OVERLAP_LOOKBACK; i--, k++) if (this.ends[i]! >= end) return i;
    return -1;
  }

  private sort(): void {
    if (this.sorted) return;
    const order = this.starts.map((_, i) => i);
    // Among equal starts the longest sorts last, where the binary search lands.
    order.sort((a, b) => this.starts[a]! - this.starts[b]! || this.ends[a]! - this.ends[b]!);
    this.starts = order.map((i) => this.starts[i]!);
    this.ends = order.map((i) => this.ends[i]!);
    this.chunks = order.map((i) => this.chunks[i]!);
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
