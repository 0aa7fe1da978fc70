/**
 * Hash indexes over names that stay where the binary keeps them (NUL-terminated bytes in a
 * string table, .debug_info, the pclntab's funcnametab): a name is hashed from its bytes
 * and compared byte for byte, and no JavaScript string is made until one is asked for. A
 * Map of a large binary's 300,000 names cost tens of megabytes of heap; this costs 8 bytes a
 * slot, and its arrays can be stored and loaded as they are.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a (32 bits) of the bytes from `pos` up to the first NUL (or the end of `bytes`). */
export function hashCString(bytes: Uint8Array, pos: number): number {
  let h = FNV_OFFSET;
  for (let p = pos; p < bytes.length; p++) {
    const b = bytes[p]!;
    if (b === 0) break;
    h = Math.imul(h ^ b, FNV_PRIME);
  }
  return h | 0;
}

/** FNV-1a (32 bits) of a name's UTF-8 bytes, as hashCString hashes it where it is stored. */
export function hashName(name: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name[i]!, FNV_PRIME);
  return h | 0;
}

/** The UTF-8 bytes of a name, to hash and compare with stored ones. */
export function nameBytes(name: string): Uint8Array {
  return utf8.encode(name);
}

/** Whether the NUL-terminated bytes at `pos` are exactly `want`. */
export function cstringEquals(bytes: Uint8Array, pos: number, want: Uint8Array): boolean {
  if (pos < 0 || pos + want.length >= bytes.length) {
    if (pos < 0 || pos + want.length > bytes.length) return false;
    // The name may end at the very end of the bytes without a NUL.
    for (let i = 0; i < want.length; i++) if (bytes[pos + i] !== want[i]) return false;
    return true;
  }
  for (let i = 0; i < want.length; i++) if (bytes[pos + i] !== want[i]) return false;
  return bytes[pos + want.length] === 0;
}

/** The plain arrays of a HashSlots, to store and load it. */
export interface HashSlotsData {
  readonly values: Int32Array;
  readonly hashes: Int32Array;
  readonly size: number;
}

/**
 * Open addressing with linear probing from a name's hash to a value (a non-negative int32:
 * an entry number, a symbol index). The caller decides what equal means (it compares the
 * stored bytes); values are never removed, only replaced.
 */
export class HashSlots {
  /** value + 1 per slot; 0 for an empty slot. */
  private values: Int32Array;
  /** The hash of each occupied slot (to grow without rehashing names). */
  private hashes: Int32Array;
  private used: number;

  constructor(expected = 8) {
    let n = 16;
    while (n < expected * 2) n *= 2;
    this.values = new Int32Array(n);
    this.hashes = new Int32Array(n);
    this.used = 0;
  }

  /** A HashSlots over stored arrays (see `data`); throws RangeError when they are not one. */
  static fromData(d: HashSlotsData): HashSlots {
    const n = d.values.length;
    if (n < 16 || (n & (n - 1)) !== 0 || d.hashes.length !== n || d.size < 0 || d.size * 2 > n)
      throw new RangeError('not the arrays of a hash table');
    const s = new HashSlots();
    s.values = d.values;
    s.hashes = d.hashes;
    s.used = d.size;
    return s;
  }

  /** Number of values held. */
  get size(): number {
    return this.used;
  }

  /** Bytes held. */
  get byteLength(): number {
    return this.values.byteLength + this.hashes.byteLength;
  }

  /** The arrays, to store (loaded again with fromData). */
  data(): HashSlotsData {
    return { values: this.values, hashes: this.hashes, size: this.used };
  }

  /** The slot holding a value with this hash for which `same` holds, or -1. */
  find(hash: number, same: (value: number) => boolean): number {
    const v = this.values;
    const mask = v.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const x = v[s]!;
      if (x === 0) return -1;
      if (this.hashes[s] === hash && same(x - 1)) return s;
    }
  }

  /** The value in a slot `find` returned. */
  valueAt(slot: number): number {
    return this.values[slot]! - 1;
  }

  /** Replaces the value in a slot `find` returned. */
  replaceAt(slot: number, value: number): void {
    this.values[slot] = value + 1;
  }

  /** Adds a value under this hash (the caller has checked, with find, that its name is not there). */
  add(hash: number, value: number): void {
    if ((this.used + 1) * 2 > this.values.length) this.grow();
    this.put(hash, value);
    this.used++;
  }

  /** Calls `f` with every value, in slot order. */
  forEach(f: (value: number) => void): void {
    const v = this.values;
    for (let s = 0; s < v.length; s++) if (v[s] !== 0) f(v[s]! - 1);
  }

  private put(hash: number, value: number): void {
    const v = this.values;
    const mask = v.length - 1;
    let s = hash & mask;
    while (v[s] !== 0) s = (s + 1) & mask;
    v[s] = value + 1;
    this.hashes[s] = hash;
  }

  private grow(): void {
    const oldValues = this.values;
    const oldHashes = this.hashes;
    this.values = new Int32Array(oldValues.length * 2);
    this.hashes = new Int32Array(oldValues.length * 2);
    for (let s = 0; s < oldValues.length; s++)
      if (oldValues[s] !== 0) this.put(oldHashes[s]!, oldValues[s]! - 1);
  }
}
