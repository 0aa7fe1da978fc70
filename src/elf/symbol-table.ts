/**
 * An ELF symbol table kept as its raw entries (24 bytes a symbol) with a hash index of the
 * names, for lookups by name. The string table is read whole only while the index is built;
 * after that, a lookup reads the few names whose hash matches. A
 * large Go binary has hundreds of thousands of symbols and an 18 MB string table: as
 * JavaScript objects they took more memory than the whole table, and each lookup was a
 * linear search.
 */
import { type LinkAddress, linkAddr } from '../common/address.js';
import { decodeUtf8 } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { cstringEquals, HashSlots, hashCString, hashName, nameBytes } from '../common/name-hash.js';

/** One symbol table entry. */
export interface ElfSymbol {
  readonly name: string;
  readonly value: LinkAddress;
  readonly size: number;
  readonly type: number;
  readonly bind: number;
  readonly sectionIndex: number;
}

/** The string table a symbol table names its symbols in. */
export interface StringTable {
  readonly name: string;
  readonly size: number;
  /** `length` bytes at `offset` of the table (fewer at its end). */
  read(offset: number, length: number): Uint8Array;
  /** The whole table (read while the index is built, then dropped). */
  whole(): Uint8Array;
}

/** Size of one Elf64_Sym. */
export const SYM_SIZE = 24;
/** Bytes read at once when decoding a name whose length is not known. */
const NAME_WINDOW = 256;

/** A symbol table over its entries; names are read only for the symbols asked for. */
export class SymbolTable {
  /** Number of entries, including the null symbol at index 0. */
  readonly count: number;
  private readonly syms: Uint8Array;
  private readonly view: DataView;
  private readonly strs: StringTable;
  private slots: HashSlots | undefined;

  constructor(syms: Uint8Array, strs: StringTable) {
    this.syms = syms;
    this.view = new DataView(syms.buffer, syms.byteOffset, syms.byteLength);
    this.strs = strs;
    this.count = Math.floor(syms.length / SYM_SIZE);
  }

  /** Bytes held (the entries and the index). */
  get byteLength(): number {
    return this.syms.length + (this.slots?.byteLength ?? 0);
  }

  /** The symbol at `index` (1 ≤ index < count). */
  at(index: number): ElfSymbol {
    return this.decode(index, this.nameAt(this.nameOff(index)));
  }

  /** Every symbol but the null one, in table order. */
  all(): ElfSymbol[] {
    const strs = this.strs.whole();
    const out: ElfSymbol[] = [];
    for (let i = 1; i < this.count; i++) {
      const off = this.nameOff(i);
      const end = off < strs.length ? strs.indexOf(0, off) : -1;
      out.push(
        this.decode(i, off < strs.length ? decodeUtf8(strs.subarray(off, end < 0 ? strs.length : end)) : ''),
      );
    }
    return out;
  }

  /** The first symbol (in table order) with exactly this name. */
  lookup(name: string): ElfSymbol | undefined {
    this.slots ??= this.buildIndex();
    const slots = this.slots;
    const want = nameBytes(name);
    const slot = slots.find(hashName(want), (i) => this.nameIs(i, want));
    return slot < 0 ? undefined : this.decode(slots.valueAt(slot), name);
  }

  private nameOff(index: number): number {
    return this.view.getUint32(index * SYM_SIZE, true);
  }

  private decode(index: number, name: string): ElfSymbol {
    const o = index * SYM_SIZE;
    const v = this.view;
    const info = v.getUint8(o + 4);
    return {
      name,
      value: linkAddr(u64(v, o + 8)),
      size: u64(v, o + 16),
      type: info & 0xf,
      bind: info >> 4,
      sectionIndex: v.getUint16(o + 6, true),
    };
  }

  /** Whether symbol `index` is named `want` (reads that name's bytes, and one more). */
  private nameIs(index: number, want: Uint8Array): boolean {
    const off = this.nameOff(index);
    if (off >= this.strs.size) return false;
    const b = this.strs.read(off, Math.min(want.length + 1, this.strs.size - off));
    return cstringEquals(b, 0, want);
  }

  /** The NUL-terminated name at `off` of the string table. */
  private nameAt(off: number): string {
    if (off >= this.strs.size) return '';
    for (let n = NAME_WINDOW; ; n *= 4) {
      const b = this.strs.read(off, Math.min(n, this.strs.size - off));
      const end = b.indexOf(0);
      if (end >= 0) return decodeUtf8(b.subarray(0, end));
      if (off + b.length >= this.strs.size) throw new FormatError(this.strs.name, off, 'unterminated string');
    }
  }

  /** Hashes every name once; a name's first symbol in table order is the one kept. */
  private buildIndex(): HashSlots {
    const slots = new HashSlots(this.count);
    const s = this.strs.whole();
    const sameName = (j: number, off: number): boolean => {
      const o = this.nameOff(j);
      if (o === off) return true;
      for (let a = o, b = off; ; a++, b++) {
        const x = s[a];
        if (x !== s[b]) return false;
        if (x === 0 || x === undefined) return true;
      }
    };
    for (let i = 1; i < this.count; i++) {
      const off = this.nameOff(i);
      if (off === 0 || off >= s.length) continue;
      const h = hashCString(s, off);
      if (slots.find(h, (j) => sameName(j, off)) < 0) slots.add(h, i);
    }
    return slots;
  }
}

function u64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 0x1_0000_0000 + v.getUint32(at, true);
}
