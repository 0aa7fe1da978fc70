import type { ByteReader } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { FORM } from './constants.js';

/** What the size of a form depends on: the unit's version, address size and 32/64-bit format. */
export interface Encoding {
  readonly version: number;
  readonly addrSize: number;
  /** 4 for 32-bit DWARF, 8 for 64-bit DWARF. */
  readonly offsetSize: number;
}

/** A decoded attribute value; what it means depends on the form (see readFormValue). */
export type AttrValue = number | bigint | string | boolean | Uint8Array;

/** Resolves the indirections of a unit: string offsets, address indexes, type signatures. */
export interface FormResolver extends Encoding {
  /** Offset of the unit in .debug_info (unit-relative references add it). */
  readonly offset: number;
  /** A string of .debug_str (strp) or .debug_line_str (line_strp) at an offset. */
  strAt(offset: number, lineStr: boolean): string;
  /** A string by its index in the unit's .debug_str_offsets contribution. */
  strx(index: number): string;
  /** An address by its index in the unit's .debug_addr contribution. */
  addrx(index: number): number;
  /** The .debug_info offset of the type DIE with this 8-byte signature, or -1. */
  sig8(sig: string): number;
}

/** Byte size of a form's value when it is fixed for the encoding, -1 when it varies. */
export function fixedFormSize(form: number, enc: Encoding): number {
  switch (form) {
    case FORM.addr:
      return enc.addrSize;
    case FORM.flag_present:
    case FORM.implicit_const:
      return 0;
    case FORM.data1:
    case FORM.ref1:
    case FORM.flag:
    case FORM.strx1:
    case FORM.addrx1:
      return 1;
    case FORM.data2:
    case FORM.ref2:
    case FORM.strx2:
    case FORM.addrx2:
      return 2;
    case FORM.strx3:
    case FORM.addrx3:
      return 3;
    case FORM.data4:
    case FORM.ref4:
    case FORM.strx4:
    case FORM.addrx4:
    case FORM.ref_sup4:
      return 4;
    case FORM.data8:
    case FORM.ref8:
    case FORM.ref_sig8:
    case FORM.ref_sup8:
      return 8;
    case FORM.data16:
      return 16;
    case FORM.ref_addr:
      return enc.version <= 2 ? enc.addrSize : enc.offsetSize;
    case FORM.strp:
    case FORM.line_strp:
    case FORM.sec_offset:
    case FORM.strp_sup:
    case FORM.GNU_ref_alt:
    case FORM.GNU_strp_alt:
      return enc.offsetSize;
    default:
      return -1;
  }
}

function ulebEnd(b: Uint8Array, pos: number, section: string): number {
  const start = pos;
  while (pos < b.length) if ((b[pos++]! & 0x80) === 0) return pos;
  throw new FormatError(section, start, 'truncated LEB128');
}

function readUleb(b: Uint8Array, pos: number, section: string): [number, number] {
  let v = 0;
  let mul = 1;
  const start = pos;
  while (pos < b.length) {
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
  throw new FormatError(section, start, 'truncated LEB128');
}

/**
 * Skips one attribute value of a variable-size form starting at `pos` of `b`; returns the
 * position after it. Bounds-checked: throws FormatError when the value runs past the end.
 */
export function skipVariableForm(
  b: Uint8Array,
  pos: number,
  form: number,
  enc: Encoding,
  section: string,
): number {
  let end: number;
  switch (form) {
    case FORM.sdata:
    case FORM.udata:
    case FORM.ref_udata:
    case FORM.strx:
    case FORM.addrx:
    case FORM.loclistx:
    case FORM.rnglistx:
    case FORM.GNU_addr_index:
    case FORM.GNU_str_index:
      return ulebEnd(b, pos, section);
    case FORM.string: {
      const z = b.indexOf(0, pos);
      if (z < 0) throw new FormatError(section, pos, 'unterminated string');
      return z + 1;
    }
    case FORM.block1:
      if (pos >= b.length) throw new FormatError(section, pos, 'truncated block length');
      end = pos + 1 + b[pos]!;
      break;
    case FORM.block2:
      if (pos + 2 > b.length) throw new FormatError(section, pos, 'truncated block length');
      end = pos + 2 + (b[pos]! | (b[pos + 1]! << 8));
      break;
    case FORM.block4:
      if (pos + 4 > b.length) throw new FormatError(section, pos, 'truncated block length');
      end = pos + 4 + (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16)) + b[pos + 3]! * 0x100_0000;
      break;
    case FORM.block:
    case FORM.exprloc: {
      const [len, p] = readUleb(b, pos, section);
      end = p + len;
      break;
    }
    case FORM.indirect: {
      const [actual, p] = readUleb(b, pos, section);
      if (actual === FORM.indirect) throw new FormatError(section, pos, 'DW_FORM_indirect names itself');
      const size = fixedFormSize(actual, enc);
      end = size >= 0 ? p + size : skipVariableForm(b, p, actual, enc, section);
      break;
    }
    default: {
      const size = fixedFormSize(form, enc);
      if (size < 0) throw new FormatError(section, pos, `unknown attribute form 0x${form.toString(16)}`);
      end = pos + size;
    }
  }
  if (end > b.length) throw new FormatError(section, pos, 'attribute value runs past the end of the section');
  return end;
}

/** Reads an unsigned 8-byte value as a number when exact, else as a bigint. */
function data8(r: ByteReader): number | bigint {
  const lo = r.u32();
  const hi = r.u32();
  return hi < 0x20_0000 ? hi * 0x1_0000_0000 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * Reads and resolves one attribute value: addresses (addr, addrx*) and constants as numbers
 * (data8 beyond 2^53 as bigint), strings of every string form as strings, flags as booleans,
 * references (ref*, ref_addr, ref_sig8) as absolute .debug_info offsets, blocks, exprloc and
 * data16 as byte views, sec_offset / loclistx / rnglistx as raw numbers.
 */
export function readFormValue(r: ByteReader, form: number, implicit: number, u: FormResolver): AttrValue {
  switch (form) {
    case FORM.addr:
      return r.uint(u.addrSize);
    case FORM.addrx:
    case FORM.GNU_addr_index:
      return u.addrx(r.uleb());
    case FORM.addrx1:
      return u.addrx(r.u8());
    case FORM.addrx2:
      return u.addrx(r.u16());
    case FORM.addrx3:
      return u.addrx(r.u24());
    case FORM.addrx4:
      return u.addrx(r.u32());
    case FORM.data1:
      return r.u8();
    case FORM.data2:
      return r.u16();
    case FORM.data4:
      return r.u32();
    case FORM.data8:
      return data8(r);
    case FORM.data16:
      return r.take(16);
    case FORM.sdata:
      return r.sleb();
    case FORM.udata:
      return r.uleb();
    case FORM.implicit_const:
      return implicit;
    case FORM.flag:
      return r.u8() !== 0;
    case FORM.flag_present:
      return true;
    case FORM.string:
      return r.cstring();
    case FORM.strp:
    case FORM.line_strp:
      return u.strAt(r.uint(u.offsetSize), form === FORM.line_strp);
    case FORM.strx:
    case FORM.GNU_str_index:
      return u.strx(r.uleb());
    case FORM.strx1:
      return u.strx(r.u8());
    case FORM.strx2:
      return u.strx(r.u16());
    case FORM.strx3:
      return u.strx(r.u24());
    case FORM.strx4:
      return u.strx(r.u32());
    case FORM.ref1:
      return u.offset + r.u8();
    case FORM.ref2:
      return u.offset + r.u16();
    case FORM.ref4:
      return u.offset + r.u32();
    case FORM.ref8:
      return u.offset + r.u64();
    case FORM.ref_udata:
      return u.offset + r.uleb();
    case FORM.ref_addr:
      return r.uint(u.version <= 2 ? u.addrSize : u.offsetSize);
    case FORM.ref_sig8: {
      const lo = r.u32();
      const hi = r.u32();
      return u.sig8(sigKey(hi, lo));
    }
    case FORM.block1:
      return r.take(r.u8());
    case FORM.block2:
      return r.take(r.u16());
    case FORM.block4:
      return r.take(r.u32());
    case FORM.block:
    case FORM.exprloc:
      return r.take(r.uleb());
    case FORM.sec_offset:
    case FORM.strp_sup:
    case FORM.GNU_ref_alt:
    case FORM.GNU_strp_alt:
      return r.uint(u.offsetSize);
    case FORM.ref_sup4:
      return r.u32();
    case FORM.ref_sup8:
      return r.u64();
    case FORM.loclistx:
    case FORM.rnglistx:
      return r.uleb();
    case FORM.indirect: {
      const at = r.pos;
      const actual = r.uleb();
      if (actual === FORM.indirect) r.fail('DW_FORM_indirect names itself', at);
      return readFormValue(r, actual, 0, u);
    }
    default:
      return r.fail(`unknown attribute form 0x${form.toString(16)}`);
  }
}

/** The lookup key of an 8-byte type signature (high and low 32-bit halves). */
export function sigKey(hi: number, lo: number): string {
  return `${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;
}

/** Whether a form is a reference to another DIE. */
export function isReferenceForm(form: number): boolean {
  return (
    (form >= FORM.ref_addr && form <= FORM.ref_udata) || form === FORM.ref_sig8 || form === FORM.GNU_ref_alt
  );
}
