/**
 * The Go pclntab (Go 1.18+): function table, names, files and pc-value tables. The
 * function table is already sorted by entry, so it is indexed up front into a typed
 * array; everything else (records, names, pc-value tables) is decoded on demand.
 */
import { hex, type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader, cstringAt } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { cstringEquals, HashSlots, hashCString, hashName, nameBytes } from '../common/name-hash.js';
import { decodeFuncRecord, funcRecordSize, type GoFunc } from './pclntab-func.js';
import { type PclnHeader, type PclntabLocation, parsePclnHeader } from './pclntab-header.js';
import { type PcRange, pcValueAt, pcValueMax, pcValueRanges } from './pclntab-pcvalue.js';

/** A function's name and pc range, as listed by `functions()`. */
export interface FuncSummary {
  readonly index: number;
  readonly name: string;
  readonly entry: LinkAddress;
  readonly end: LinkAddress;
}

/** A source position of a pc, with the (physical) function containing it. */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly function: string;
}

/** Names the per-function pc-value tables. */
export type PcTableName = 'pcsp' | 'pcfile' | 'pcln';

const SECTION = '.gopclntab';
/** Decoded _func records kept: far more than the functions on the stacks of a snapshot. */
const MAX_CACHED_FUNCS = 1 << 15;
/** Offset of funcID in a _func record of each format. */
const FUNC_ID_OFFSET = { '1.18': 36, '1.20': 40 } as const;

/** A parsed pclntab; addresses are link-time addresses (add the load bias for a PIE process). */
export class Pclntab {
  readonly header: PclnHeader;
  /** Link-time address of the table itself. */
  readonly address: LinkAddress;
  /** The address entry offsets are relative to (header.textStart unless overridden). */
  readonly textStart: LinkAddress;
  readonly nfunc: number;
  private readonly reader: ByteReader;
  private readonly funcnametab: Uint8Array;
  private readonly filetab: Uint8Array;
  private readonly pctab: Uint8Array;
  private readonly cutab: DataView;
  /** nfunc+1 entry offsets (the last one is the end of text). */
  private readonly entries: Uint32Array;
  /** nfunc offsets of _func records, relative to the function table. */
  private readonly funcOffs: Uint32Array;
  /**
   * Decoded records, bounded: a scan of every function (func IDs, frame hosts) would
   * otherwise keep one object per function (75 MB of heap for a 184 MB binary).
   */
  private readonly funcCache = new Map<number, GoFunc>();
  private readonly fileCache = new Map<number, string>();
  private byName: HashSlots | undefined;

  constructor(loc: PclntabLocation, textStartOverride?: LinkAddress) {
    const h = parsePclnHeader(loc.data);
    this.header = h;
    this.address = loc.address;
    this.reader = new ByteReader(loc.data, SECTION);
    this.textStart = textStartOverride ?? h.textStart;
    this.nfunc = h.nfunc;
    this.funcnametab = loc.data.subarray(h.funcnameOffset);
    this.filetab = loc.data.subarray(h.filetabOffset);
    this.pctab = loc.data.subarray(h.pctabOffset);
    const cu = loc.data.subarray(h.cuOffset);
    this.cutab = new DataView(cu.buffer, cu.byteOffset, cu.byteLength);
    this.entries = new Uint32Array(h.nfunc + 1);
    this.funcOffs = new Uint32Array(h.nfunc);
    const dv = new DataView(loc.data.buffer, loc.data.byteOffset, loc.data.byteLength);
    const base = h.pclnOffset;
    let prev = 0;
    for (let i = 0; i <= h.nfunc; i++) {
      const e = dv.getUint32(base + i * 8, true);
      if (e < prev)
        throw new FormatError(SECTION, base + i * 8, `function table is not sorted at entry ${i}`);
      this.entries[i] = prev = e;
      if (i < h.nfunc) this.funcOffs[i] = dv.getUint32(base + i * 8 + 4, true);
    }
  }

  /** Link-time address of the end of the last function. */
  get textEnd(): LinkAddress {
    return linkAddr(this.textStart + this.entries[this.nfunc]!);
  }

  /** Index of the function containing pc, or -1 (binary search over the sorted table). */
  funcIndexForPC(pc: LinkAddress): number {
    const off = pc - this.textStart;
    const e = this.entries;
    if (off < 0 || off >= e[this.nfunc]!) return -1;
    let lo = 0;
    let hi = this.nfunc - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (e[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The _func record of function `index` (decoded, and kept while fewer than 2^15 are). */
  funcAt(index: number): GoFunc {
    const cached = this.funcCache.get(index);
    if (cached) return cached;
    const f = this.decodeFunc(index);
    if (this.funcCache.size >= MAX_CACHED_FUNCS) this.funcCache.clear();
    this.funcCache.set(index, f);
    return f;
  }

  /**
   * The _func record of function `index`, decoded anew and not kept: for scans over every
   * function, whose records would otherwise crowd the cache and outlive the scan.
   */
  decodeFunc(index: number): GoFunc {
    if (index < 0 || index >= this.nfunc) throw new RangeError(`function index ${index} out of range`);
    const off = this.header.pclnOffset + this.funcOffs[index]!;
    const f = decodeFuncRecord(
      this.reader,
      off,
      this.header.format,
      this.textStart,
      index,
      this.textStart + this.entries[index + 1]!,
      (n) => this.funcName(n),
    );
    if (f.entry !== this.textStart + this.entries[index]!)
      throw new FormatError(SECTION, off, `_func entry ${hex(f.entry)} disagrees with the function table`);
    return f;
  }

  /** Entry address of function `index`. */
  entryOf(index: number): LinkAddress {
    return linkAddr(this.textStart + this.entries[index]!);
  }

  /** First address past function `index`. */
  endOf(index: number): LinkAddress {
    return linkAddr(this.textStart + this.entries[index + 1]!);
  }

  /**
   * Function `index`'s funcdata `k` (an offset from the funcdata base), read without decoding
   * the record; undefined when absent.
   */
  funcdataOf(index: number, k: number): number | undefined {
    const off = this.header.pclnOffset + this.funcOffs[index]!;
    const fixed = funcRecordSize(this.header.format);
    const r = this.reader;
    const npcdata = r.seek(off + 28).u32();
    const nfuncdata = r.seek(off + fixed - 1).u8();
    if (k >= nfuncdata) return undefined;
    const v = r.seek(off + fixed + npcdata * 4 + k * 4).u32();
    return v === 0xffffffff ? undefined : v;
  }

  /** The largest value of function `index`'s pcdata table `k` (-1 when absent), decoding nothing else. */
  maxPcdataValue(index: number, k: number): number {
    const off = this.header.pclnOffset + this.funcOffs[index]!;
    const r = this.reader;
    if (k >= r.seek(off + 28).u32()) return -1;
    const table = r.seek(off + funcRecordSize(this.header.format) + k * 4).u32();
    if (table === 0) return -1;
    return pcValueMax(this.pctab, table, this.entryOf(index), this.header.quantum);
  }

  /** The funcID of function `index`, read without decoding its record. */
  funcIdAt(index: number): number {
    if (index < 0 || index >= this.nfunc) throw new RangeError(`function index ${index} out of range`);
    return this.reader
      .seek(this.header.pclnOffset + this.funcOffs[index]! + FUNC_ID_OFFSET[this.header.format])
      .u8();
  }

  /** The function containing pc, if any. */
  funcForPC(pc: LinkAddress): GoFunc | undefined {
    const i = this.funcIndexForPC(pc);
    return i < 0 ? undefined : this.funcAt(i);
  }

  /** All functions in address order (decoded anew on each call: a large binary has 300,000). */
  functions(): FuncSummary[] {
    const out: FuncSummary[] = new Array(this.nfunc);
    for (let i = 0; i < this.nfunc; i++) {
      out[i] = {
        index: i,
        name: this.funcName(this.nameOffAt(i)),
        entry: linkAddr(this.textStart + this.entries[i]!),
        end: linkAddr(this.textStart + this.entries[i + 1]!),
      };
    }
    return out;
  }

  /** The function with this exact linker name (e.g. "main.main", "main.F[go.shape.int]"). */
  funcByName(name: string): GoFunc | undefined {
    this.byName ??= this.buildNameIndex();
    const slots = this.byName;
    const want = nameBytes(name);
    const slot = slots.find(hashName(want), (i) => cstringEquals(this.funcnametab, this.nameOffAt(i), want));
    return slot < 0 ? undefined : this.funcAt(slots.valueAt(slot));
  }

  /** Hashes every function name where funcnametab holds it; the first function of a name wins. */
  private buildNameIndex(): HashSlots {
    const slots = new HashSlots(this.nfunc);
    const names = this.funcnametab;
    for (let i = 0; i < this.nfunc; i++) {
      const off = this.nameOffAt(i);
      if (off < 0 || off >= names.length) continue;
      const h = hashCString(names, off);
      if (slots.find(h, (j) => this.nameOffAt(j) === off || sameName(names, this.nameOffAt(j), off)) < 0)
        slots.add(h, i);
    }
    return slots;
  }

  /** The funcnametab offset of function `index`'s name (see funcName). */
  nameOffAt(index: number): number {
    return this.reader.seek(this.header.pclnOffset + this.funcOffs[index]! + 4).i32();
  }

  /** A name from funcnametab. */
  funcName(nameOff: number): string {
    return cstringAt(this.funcnametab, nameOff, 'funcnametab');
  }

  /** File name of file number `fileno` of the compilation unit at cuOffset; undefined if none. */
  fileName(cuOffset: number, fileno: number): string | undefined {
    const i = (cuOffset + fileno) * 4;
    if (fileno < 0 || i + 4 > this.cutab.byteLength) return undefined;
    const off = this.cutab.getUint32(i, true);
    if (off === 0xffffffff) return undefined;
    let name = this.fileCache.get(off);
    if (name === undefined) {
      name = cstringAt(this.filetab, off, 'filetab');
      this.fileCache.set(off, name);
    }
    return name;
  }

  /** The value of one of fn's pc-value tables at pc (-1 when not covered). */
  pcValue(fn: GoFunc, table: PcTableName, pc: LinkAddress): number {
    const off = fn[table];
    if (off === 0) return -1;
    return pcValueAt(this.pctab, off, fn.entry, pc, this.header.quantum);
  }

  /** The value of fn's pcdata table `index` at pc (-1 when absent or not covered). */
  pcdataValue(fn: GoFunc, index: number, pc: LinkAddress): number {
    const off = fn.pcdata[index];
    if (!off) return -1;
    return pcValueAt(this.pctab, off, fn.entry, pc, this.header.quantum);
  }

  /** The largest value one of fn's tables takes (-1 when it is absent), without listing its runs. */
  maxPcValue(fn: GoFunc, table: PcTableName | number): number {
    const off = typeof table === 'number' ? (fn.pcdata[table] ?? 0) : fn[table];
    if (off === 0) return -1;
    return pcValueMax(this.pctab, off, fn.entry, this.header.quantum);
  }

  /** Every run of one of fn's tables (for tests and for planning probes). */
  pcRanges(fn: GoFunc, table: PcTableName | number): PcRange[] {
    const off = typeof table === 'number' ? (fn.pcdata[table] ?? 0) : fn[table];
    if (off === 0) return [];
    return pcValueRanges(this.pctab, off, fn.entry, this.header.quantum);
  }

  /** File and line of pc within fn (the innermost inlined position), as runtime.funcline1. */
  fileLine(fn: GoFunc, pc: LinkAddress): { file: string; line: number } | undefined {
    const fileno = this.pcValue(fn, 'pcfile', pc);
    const line = this.pcValue(fn, 'pcln', pc);
    if (fileno < 0 || line < 0) return undefined;
    const file = this.fileName(fn.cuOffset, fileno);
    return file === undefined ? undefined : { file, line };
  }

  /** Source position of pc: innermost file:line, and the physical function containing it. */
  lineForPC(pc: LinkAddress): SourceLine | undefined {
    const fn = this.funcForPC(pc);
    if (!fn) return undefined;
    const fl = this.fileLine(fn, pc);
    return fl && { ...fl, function: fn.name };
  }

  /**
   * Bytes the function has pushed below its return address at pc (the pcsp value; the CFA
   * is SP + this + pointer size), if known. Negative where assembly pops its return address.
   */
  spDeltaAt(pc: LinkAddress): number | undefined {
    const fn = this.funcForPC(pc);
    if (!fn || fn.pcsp === 0) return undefined;
    const v = pcValueAt(this.pctab, fn.pcsp, fn.entry, pc, this.header.quantum, Number.NaN);
    return Number.isNaN(v) ? undefined : v;
  }
}

/** Whether the NUL-terminated names at offsets a and b of `names` are equal. */
function sameName(names: Uint8Array, a: number, b: number): boolean {
  if (a < 0 || a >= names.length) return false;
  for (;;) {
    const x = names[a++];
    if (x !== names[b++]) return false;
    if (x === 0 || x === undefined) return true;
  }
}
