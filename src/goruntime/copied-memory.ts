/**
 * Target memory copied during a pause: a set of byte ranges, kept sorted by address and
 * found by binary search. Decoders read it after the process has resumed, exactly as they
 * would read the live process; a read outside every copied range throws MemoryError, or
 * reads through to a fallback (the live process) only when the caller allowed that.
 */
import { type Address, addr } from '../common/address.js';
import { type Memory, MemoryError } from '../proc/memory.js';
import type { MemRange } from '../proc/vm-reader.js';

/** A memory source that reads many ranges per call (the proc layer's VmReader). */
export interface BatchMemory {
  /** One result per range; undefined where the range was not readable. */
  readBatch(ranges: readonly MemRange[]): (Uint8Array | undefined)[];
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

/**
 * Copies ranges given in ascending address order into `out`, reading neighbours closer than
 * `maxGap` bytes as one range (each range read costs about as much as a kilobyte of copying).
 * Returns a view per range, undefined where unreadable; a merged read that fails is retried
 * range by range, so one unmapped range costs only itself.
 */
export function copyCoalesced(
  mem: BatchMemory,
  out: CopiedMemory,
  addrs: ArrayLike<number>,
  size: number,
  maxGap: number,
): (Uint8Array | undefined)[] {
  const n = addrs.length;
  const merged: MemRange[] = [];
  const first: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = addrs[i]!;
    const last = merged[merged.length - 1];
    if (last && a >= last.address && a - (last.address + last.size) <= maxGap) {
      merged[merged.length - 1] = {
        address: last.address,
        size: Math.max(last.size, a + size - last.address),
      };
    } else {
      merged.push({ address: addr(a), size });
      first.push(i);
    }
  }
  first.push(n);
  const got = mem.readBatch(merged);
  const views: (Uint8Array | undefined)[] = new Array(n);
  const retry: number[] = [];
  for (let k = 0; k < merged.length; k++) {
    const b = got[k];
    if (b) out.add(merged[k]!.address, b);
    for (let i = first[k]!; i < first[k + 1]!; i++) {
      if (!b) retry.push(i);
      else {
        const off = addrs[i]! - merged[k]!.address;
        views[i] = b.subarray(off, off + size);
      }
    }
  }
  if (retry.length > 0 && retry.length < n) {
    const again = mem.readBatch(retry.map((i) => ({ address: addr(addrs[i]!), size })));
    for (let j = 0; j < retry.length; j++) {
      const b = again[j];
      if (b) {
        out.add(addr(addrs[retry[j]!]!), b);
        views[retry[j]!] = b;
      }
    }
  }
  return views;
}
