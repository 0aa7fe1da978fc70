import { type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader, cstringAt } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { type AbbrevTable, parseAbbrevTable } from './abbrev.js';
import { AT, UT } from './constants.js';
import { attributesEnd, Die, INFO } from './die.js';
import { type FormResolver, sigKey } from './forms.js';
import type { AbbrevOffset, DwarfSections, InfoOffset, LineOffset } from './sections.js';

/** The section bases a unit's index forms (strx, addrx, loclistx, rnglistx) are relative to. */
export interface UnitBases {
  readonly strOffsets: number;
  readonly addr: number;
  readonly rnglists: number;
  readonly loclists: number;
}

/** Shared state units need: the sections, abbreviation tables parsed once, and type signatures. */
export interface UnitContext {
  readonly sections: DwarfSections;
  readonly abbrevCache: Map<string, AbbrevTable>;
  /** .debug_info offset of the type DIE with this signature, or -1. */
  sig8(sig: string): number;
}

/**
 * One unit of .debug_info (compile, partial, type or skeleton unit, DWARF 2 to 5): its
 * header, its root DIE's summary (name, producer, line program, bases) and abbreviations.
 */
export class Unit implements FormResolver {
  readonly info: Uint8Array;
  readonly offset: InfoOffset;
  /** Offset just past the unit. */
  readonly end: number;
  readonly version: number;
  /** DW_UT_* (DWARF 5), or the equivalent for older versions (always compile). */
  readonly unitType: number;
  readonly addrSize: number;
  readonly offsetSize: number;
  readonly abbrevOffset: AbbrevOffset;
  /** Offset of the root DIE. */
  readonly firstDie: InfoOffset;
  /** Type units: the 8-byte signature (hex) and the type DIE. */
  readonly typeSignature: string | undefined;
  readonly typeOffset: InfoOffset | undefined;
  /** Skeleton and split units: the DWO id (hex). */
  readonly dwoId: string | undefined;
  readonly abbrevs: AbbrevTable;
  private readonly ctx: UnitContext;

  // Summary of the root DIE, filled by readRoot().
  root: Die | undefined;
  name: string | undefined;
  producer: string | undefined;
  compDir: string | undefined;
  language: number | undefined;
  /** The base address of range and location lists (DW_AT_low_pc of the root; 0 when absent). */
  lowPc: LinkAddress = linkAddr(0);
  /** Offset of this unit's line number program in .debug_line. */
  stmtList: LineOffset | undefined;
  bases: UnitBases;

  constructor(ctx: UnitContext, offset: number) {
    this.ctx = ctx;
    const info = ctx.sections.info;
    this.info = info;
    this.offset = offset as InfoOffset;
    const r = new ByteReader(info, INFO, offset);
    let length = r.u32();
    this.offsetSize = 4;
    if (length === 0xffff_ffff) {
      length = r.u64();
      this.offsetSize = 8;
    } else if (length >= 0xffff_fff0) r.fail(`reserved unit length 0x${length.toString(16)}`, offset);
    this.end = r.pos + length;
    if (this.end > info.length) r.fail(`unit length 0x${length.toString(16)} runs past the section`, offset);
    this.version = r.u16();
    if (this.version < 2 || this.version > 5) r.fail(`unsupported DWARF version ${this.version}`, offset);
    let typeSignature: string | undefined;
    let typeOffset: number | undefined;
    let dwoId: string | undefined;
    if (this.version >= 5) {
      this.unitType = r.u8();
      this.addrSize = r.u8();
      this.abbrevOffset = r.uint(this.offsetSize) as AbbrevOffset;
      if (this.unitType === UT.type || this.unitType === UT.split_type) {
        const lo = r.u32();
        typeSignature = sigKey(r.u32(), lo);
        typeOffset = offset + r.uint(this.offsetSize);
      } else if (this.unitType === UT.skeleton || this.unitType === UT.split_compile) {
        const lo = r.u32();
        dwoId = sigKey(r.u32(), lo);
      } else if (this.unitType !== UT.compile && this.unitType !== UT.partial) {
        r.fail(`unknown unit type 0x${this.unitType.toString(16)}`, offset);
      }
    } else {
      this.unitType = UT.compile;
      this.abbrevOffset = r.uint(this.offsetSize) as AbbrevOffset;
      this.addrSize = r.u8();
    }
    if (this.addrSize !== 4 && this.addrSize !== 8)
      r.fail(`unsupported address size ${this.addrSize}`, offset);
    if (r.pos > this.end) r.fail('unit header is longer than the unit', offset);
    this.typeSignature = typeSignature;
    this.typeOffset = typeOffset as InfoOffset | undefined;
    this.dwoId = dwoId;
    this.firstDie = r.pos as InfoOffset;
    const key = `${this.abbrevOffset}:${this.addrSize}:${this.offsetSize}:${this.version <= 2 ? 2 : 3}`;
    let abbrevs = ctx.abbrevCache.get(key);
    if (!abbrevs) {
      abbrevs = parseAbbrevTable(ctx.sections.abbrev, this.abbrevOffset, this);
      ctx.abbrevCache.set(key, abbrevs);
    }
    this.abbrevs = abbrevs;
    const base = this.version >= 5 ? (this.offsetSize === 8 ? 16 : 8) : 0;
    const listBase = this.version >= 5 ? (this.offsetSize === 8 ? 20 : 12) : 0;
    this.bases = { strOffsets: base, addr: base, rnglists: listBase, loclists: listBase };
  }

  /** Decodes the DIE at `pos` of this unit; null for a null entry (end of a sibling list). */
  dieAt(pos: number): Die | null {
    const b = this.info;
    const start = pos;
    if (pos >= this.end) throw new FormatError(INFO, pos, 'DIE offset is past the end of its unit');
    let code = 0;
    let mul = 1;
    for (;;) {
      if (pos >= this.end) throw new FormatError(INFO, start, 'truncated abbreviation code');
      const byte = b[pos++]!;
      code += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) break;
      mul *= 128;
      if (mul > 2 ** 56) throw new FormatError(INFO, start, 'abbreviation code is too long');
    }
    if (code === 0) return null;
    const a = this.abbrevs.get(code);
    if (!a) throw new FormatError(INFO, start, `unknown abbreviation code ${code}`);
    return new Die(this, start as InfoOffset, a, pos, attributesEnd(this, a, pos));
  }

  /** Reads the root DIE's name, producer, directories, line program and section bases. */
  readRoot(): void {
    if (this.firstDie >= this.end) return;
    const root = this.dieAt(this.firstDie);
    if (!root) return;
    this.root = root;
    const baseOf = (at: number, dflt: number) => root.num(at) ?? dflt;
    this.bases = {
      strOffsets: baseOf(AT.str_offsets_base, this.bases.strOffsets),
      addr: baseOf(AT.addr_base, this.bases.addr),
      rnglists: baseOf(AT.rnglists_base, this.bases.rnglists),
      loclists: baseOf(AT.loclists_base, this.bases.loclists),
    };
    this.name = root.str(AT.name);
    this.producer = root.str(AT.producer);
    this.compDir = root.str(AT.comp_dir);
    this.language = root.num(AT.language);
    this.lowPc = linkAddr(root.num(AT.low_pc) ?? 0);
    const stmt = root.num(AT.stmt_list);
    this.stmtList = stmt === undefined ? undefined : (stmt as LineOffset);
  }

  /** Whether `offset` lies inside this unit's DIEs. */
  contains(offset: number): boolean {
    return offset >= this.firstDie && offset < this.end;
  }

  strAt(offset: number, lineStr: boolean): string {
    const s = this.ctx.sections;
    return lineStr ? cstringAt(s.lineStr, offset, '.debug_line_str') : cstringAt(s.str, offset, '.debug_str');
  }

  strx(index: number): string {
    const data = this.ctx.sections.strOffsets;
    const r = new ByteReader(data, '.debug_str_offsets', 0);
    r.seek(Math.min(data.length, this.bases.strOffsets + index * this.offsetSize));
    return this.strAt(r.uint(this.offsetSize), false);
  }

  addrx(index: number): number {
    const data = this.ctx.sections.addr;
    const r = new ByteReader(data, '.debug_addr', 0);
    r.seek(Math.min(data.length, this.bases.addr + index * this.addrSize));
    return r.uint(this.addrSize);
  }

  sig8(sig: string): number {
    return this.ctx.sig8(sig);
  }
}

/**
 * Parses every unit header of .debug_info and its root DIE. Stops at the first malformed
 * header (returning the units before it and the error); a malformed root DIE is recorded
 * and its unit kept.
 */
export function parseUnits(ctx: UnitContext): { units: Unit[]; errors: FormatError[] } {
  const info = ctx.sections.info;
  const units: Unit[] = [];
  const errors: FormatError[] = [];
  let pos = 0;
  // Each unit takes at least its 4-byte length field, so this loop is bounded by the section size.
  while (pos < info.length) {
    let u: Unit;
    try {
      u = new Unit(ctx, pos);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      errors.push(e);
      break; // without a valid length the next unit cannot be found
    }
    try {
      u.readRoot();
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      errors.push(e); // a malformed root DIE: keep the unit (its header is sound) and go on
    }
    units.push(u);
    pos = u.end;
  }
  return { units, errors };
}

/** The unit containing a .debug_info offset (binary search over units sorted by offset). */
export function unitContaining(units: readonly Unit[], offset: number): Unit | undefined {
  let lo = 0;
  let hi = units.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const u = units[mid]!;
    if (offset < u.offset) hi = mid - 1;
    else if (offset >= u.end) lo = mid + 1;
    else return u;
  }
  return undefined;
}
