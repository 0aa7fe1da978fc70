/**
 * A map from names to .debug_info offsets whose names stay where DWARF holds them (inline in
 * .debug_info, or in .debug_str): hashed and compared as bytes (common/name-hash.ts). Names in
 * any other form are kept as strings beside it. Its arrays can be stored and loaded as they are.
 */
import { FormatError } from '../common/errors.js';
import {
  cstringEquals,
  HashSlots,
  type HashSlotsData,
  hashCString,
  hashName,
  nameBytes,
} from '../common/name-hash.js';

/** Where the names' bytes are; asked for on first use (a stored map is loaded without them). */
export interface NameBytes {
  /** .debug_info (names of DW_FORM_string). */
  readonly info: Uint8Array;
  /** .debug_str (names of DW_FORM_strp). */
  readonly str: Uint8Array;
}

/** Where a name is: `pos` ≥ 0 is a .debug_info offset, < 0 is the .debug_str offset -pos - 1. */
export type NamePos = number;

/** The plain data of a NameMap, to store and load it. */
export interface NameMapData {
  readonly slots: HashSlotsData;
  /** Per entry: its DIE offset, where its name is, and flags (the caller's). */
  readonly dies: Float64Array;
  readonly positions: Float64Array;
  readonly flags: Uint8Array;
  /** Names in forms other than string and strp, with their DIE offsets. */
  readonly others: readonly (readonly [string, number])[];
}

/** Names → DIE offsets, in insertion order; built by NameMapBuilder, or loaded with fromData. */
export class NameMap {
  private readonly slots: HashSlots;
  private readonly dies: Float64Array;
  private readonly positions: Float64Array;
  private readonly flagBytes: Uint8Array;
  private readonly others: Map<string, number>;
  private readonly bytes: () => NameBytes;

  private constructor(d: NameMapData, bytes: () => NameBytes) {
    this.slots = HashSlots.fromData(d.slots);
    if (
      d.positions.length !== d.dies.length ||
      d.flags.length !== d.dies.length ||
      d.slots.size !== d.dies.length
    )
      throw new RangeError('the arrays of a name map disagree in length');
    this.dies = d.dies;
    this.positions = d.positions;
    this.flagBytes = d.flags;
    this.others = new Map(d.others);
    this.bytes = bytes;
  }

  /** A map over stored data; `bytes` gives the sections its names are in, when first needed. */
  static fromData(d: NameMapData, bytes: () => NameBytes): NameMap {
    return new NameMap(d, bytes);
  }

  /** Number of names. */
  get size(): number {
    return this.dies.length + this.others.size;
  }

  /** The DIE offset of a name. */
  get(name: string): number | undefined {
    const other = this.others.get(name);
    if (other !== undefined) return other;
    const want = nameBytes(name);
    const b = this.bytes();
    const slot = this.slots.find(hashName(want), (e) => equalsAt(b, this.positions[e]!, want));
    return slot < 0 ? undefined : this.dies[this.slots.valueAt(slot)];
  }

  /** Whether the name is in the map. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every name (decoded now), in the order they were added. */
  keys(): string[] {
    const b = this.bytes();
    const out: string[] = new Array(this.dies.length);
    for (let e = 0; e < this.dies.length; e++) out[e] = nameAt(b, this.positions[e]!);
    for (const n of this.others.keys()) out.push(n);
    return out;
  }

  /** The plain data, to store. */
  data(): NameMapData {
    return {
      slots: this.slots.data(),
      dies: this.dies,
      positions: this.positions,
      flags: this.flagBytes,
      others: [...this.others],
    };
  }

  /** Bytes held (the names themselves stay in their sections). */
  get byteLength(): number {
    return (
      this.slots.byteLength + this.dies.byteLength + this.positions.byteLength + this.flagBytes.byteLength
    );
  }
}

/** Builds a NameMap during the one pass over .debug_info. */
export class NameMapBuilder {
  private readonly slots = new HashSlots(1024);
  private dies = new Float64Array(1024);
  private positions = new Float64Array(1024);
  private flags = new Uint8Array(1024);
  private count = 0;
  private readonly others = new Map<string, number>();
  private readonly bytes: NameBytes;

  constructor(bytes: NameBytes) {
    this.bytes = bytes;
  }

  /** The entry of the name at `pos`, or -1 when it has none yet. */
  find(pos: NamePos): number {
    const b = this.bytes;
    const [bytes, at] = pos >= 0 ? [b.info, pos] : [b.str, -pos - 1];
    const h = hashCString(bytes, at);
    const slot = this.slots.find(h, (e) => sameName(b, this.positions[e]!, pos));
    return slot < 0 ? -1 : this.slots.valueAt(slot);
  }

  /** Adds the name at `pos` (which find says is new) with its DIE offset and flags; returns its entry. */
  add(pos: NamePos, die: number, flags = 0): number {
    const b = this.bytes;
    const [bytes, at] = pos >= 0 ? [b.info, pos] : [b.str, -pos - 1];
    if (at >= bytes.length)
      throw new FormatError(pos >= 0 ? '.debug_info' : '.debug_str', at, 'name offset out of bounds');
    const e = this.count++;
    if (e === this.dies.length) this.growEntries();
    this.dies[e] = die;
    this.positions[e] = pos;
    this.flags[e] = flags;
    this.slots.add(hashCString(bytes, at), e);
    return e;
  }

  /** The DIE offset of an entry. */
  dieOf(entry: number): number {
    return this.dies[entry]!;
  }

  /** The flags of an entry. */
  flagsOf(entry: number): number {
    return this.flags[entry]!;
  }

  /** Points an entry at another DIE, with new flags. */
  replace(entry: number, die: number, flags: number): void {
    this.dies[entry] = die;
    this.flags[entry] = flags;
  }

  /** A name in another form (kept as a string): the DIE offset already under it, if any. */
  otherGet(name: string): number | undefined {
    return this.others.get(name);
  }

  /** Sets the DIE offset under a name in another form. */
  otherSet(name: string, die: number): void {
    this.others.set(name, die);
  }

  /** The finished map; its names are read from `bytes` (the same sections) when asked. */
  finish(bytes: () => NameBytes): NameMap {
    return NameMap.fromData(
      {
        slots: this.slots.data(),
        dies: this.dies.slice(0, this.count),
        positions: this.positions.slice(0, this.count),
        flags: this.flags.slice(0, this.count),
        others: [...this.others],
      },
      bytes,
    );
  }

  private growEntries(): void {
    const n = this.dies.length * 2;
    const grow = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.dies = grow(this.dies, (k) => new Float64Array(k));
    this.positions = grow(this.positions, (k) => new Float64Array(k));
    this.flags = grow(this.flags, (k) => new Uint8Array(k));
  }
}

const utf8 = new TextDecoder('utf-8');

function nameAt(b: NameBytes, pos: NamePos): string {
  const [bytes, at] = pos >= 0 ? [b.info, pos] : [b.str, -pos - 1];
  const end = bytes.indexOf(0, at);
  return utf8.decode(bytes.subarray(at, end < 0 ? bytes.length : end));
}

function equalsAt(b: NameBytes, pos: NamePos, want: Uint8Array): boolean {
  return pos >= 0 ? cstringEquals(b.info, pos, want) : cstringEquals(b.str, -pos - 1, want);
}

function sameName(b: NameBytes, p: NamePos, q: NamePos): boolean {
  if (p === q) return true;
  const [x, i0] = p >= 0 ? [b.info, p] : [b.str, -p - 1];
  const [y, j0] = q >= 0 ? [b.info, q] : [b.str, -q - 1];
  let i = i0;
  let j = j0;
  for (;;) {
    const c = i < x.length ? x[i++]! : 0;
    if (c !== (j < y.length ? y[j++]! : 0)) return false;
    if (c === 0) return true;
  }
}
