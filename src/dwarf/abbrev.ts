import { ByteReader } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { FORM } from './constants.js';
import { type Encoding, fixedFormSize, skipVariableForm } from './forms.js';
import type { AbbrevOffset } from './sections.js';

/**
 * One abbreviation declaration, with sizes precomputed for one encoding so that skipping a
 * DIE costs a table lookup when every attribute has a fixed size.
 */
export interface Abbrev {
  readonly code: number;
  readonly tag: number;
  readonly hasChildren: boolean;
  /** DW_AT_* of each attribute, in order. */
  readonly attrs: Int32Array;
  /** DW_FORM_* of each attribute, in order. */
  readonly forms: Int32Array;
  /** DW_FORM_implicit_const values (0 for other forms). */
  readonly implicit: Float64Array;
  /**
   * Fixed byte size of each attribute value, or a negative code when it varies:
   * SIZE_LEB (LEB128), SIZE_CSTRING (inline string), SIZE_BLOCK1, SIZE_OTHER.
   */
  readonly sizes: Int32Array;
  /** Byte offset of each attribute from the first one when all before it are fixed-size, else -1. */
  readonly fixedOffsets: Int32Array;
  /** Total size of all attributes when all are fixed-size, else -1. */
  readonly fixedTotal: number;
  /** Index of DW_AT_sibling among attrs, or -1. */
  readonly siblingIndex: number;
}

/** The abbreviations of one table (one .debug_abbrev offset), looked up by code. */
export class AbbrevTable {
  readonly offset: AbbrevOffset;
  private readonly dense: (Abbrev | undefined)[] = [];
  private readonly sparse = new Map<number, Abbrev>();

  constructor(offset: AbbrevOffset) {
    this.offset = offset;
  }

  /** The abbreviation with this code, or undefined. */
  get(code: number): Abbrev | undefined {
    return code < this.dense.length ? this.dense[code] : this.sparse.get(code);
  }

  /** Adds a declaration (used while parsing). */
  add(a: Abbrev): void {
    if (a.code < 4096) {
      while (this.dense.length <= a.code) this.dense.push(undefined);
      this.dense[a.code] = a;
    } else this.sparse.set(a.code, a);
  }

  /** Number of declarations. */
  get size(): number {
    let n = this.sparse.size;
    for (const a of this.dense) if (a) n++;
    return n;
  }
}

const SECTION = '.debug_abbrev';

/** Parses the abbreviation table at `offset` of .debug_abbrev, with sizes for the given encoding. */
export function parseAbbrevTable(data: Uint8Array, offset: AbbrevOffset, enc: Encoding): AbbrevTable {
  const r = new ByteReader(data, SECTION, 0);
  r.seek(offset);
  const table = new AbbrevTable(offset);
  // Every declaration takes at least 4 bytes (code, tag, children, 0 0), bounding the loop.
  while (!r.atEnd()) {
    const at = r.pos;
    const code = r.uleb();
    if (code === 0) return table;
    const tag = r.uleb();
    const children = r.u8();
    if (children > 1) r.fail(`abbreviation ${code} has invalid children flag ${children}`, at);
    const attrs: number[] = [];
    const forms: number[] = [];
    const implicit: number[] = [];
    for (;;) {
      const name = r.uleb();
      const form = r.uleb();
      if (name === 0 && form === 0) break;
      if (name === 0 || form === 0) r.fail(`abbreviation ${code} has a zero attribute or form`, at);
      attrs.push(name);
      forms.push(form);
      implicit.push(form === FORM.implicit_const ? r.sleb() : 0);
    }
    if (table.get(code)) r.fail(`duplicate abbreviation code ${code}`, at);
    table.add(makeAbbrev(code, tag, children === 1, attrs, forms, implicit, enc));
  }
  return r.fail('abbreviation table is not terminated by a 0 code');
}

function makeAbbrev(
  code: number,
  tag: number,
  hasChildren: boolean,
  attrs: number[],
  forms: number[],
  implicit: number[],
  enc: Encoding,
): Abbrev {
  const n = attrs.length;
  const sizes = new Int32Array(n);
  const fixedOffsets = new Int32Array(n);
  let off = 0;
  let siblingIndex = -1;
  for (let i = 0; i < n; i++) {
    fixedOffsets[i] = off;
    const s = fixedFormSize(forms[i]!, enc);
    sizes[i] = s >= 0 ? s : variableSizeCode(forms[i]!);
    if (off >= 0) off = s < 0 ? -1 : off + s;
    if (attrs[i] === 0x01) siblingIndex = i;
  }
  for (let i = 0, bad = false; i < n; i++) {
    if (bad) fixedOffsets[i] = -1;
    if (sizes[i]! < 0) bad = true;
  }
  return {
    code,
    tag,
    hasChildren,
    attrs: Int32Array.from(attrs),
    forms: Int32Array.from(forms),
    implicit: Float64Array.from(implicit),
    sizes,
    fixedOffsets,
    fixedTotal: off,
    siblingIndex,
  };
}

/** Size codes of variable-size forms, so skipping can inline the common ones. */
export const SIZE_LEB = -1;
export const SIZE_CSTRING = -2;
export const SIZE_BLOCK1 = -3;
export const SIZE_OTHER = -4;

function variableSizeCode(form: number): number {
  switch (form) {
    case FORM.sdata:
    case FORM.udata:
    case FORM.ref_udata:
    case FORM.strx:
    case FORM.addrx:
    case FORM.loclistx:
    case FORM.rnglistx:
      return SIZE_LEB;
    case FORM.string:
      return SIZE_CSTRING;
    case FORM.block1:
      return SIZE_BLOCK1;
    default:
      return SIZE_OTHER;
  }
}

/**
 * Skips the attribute values of a DIE with abbreviation `a` starting at `pos` of `b`;
 * returns the position after them. Throws FormatError past `end`.
 */
export function skipAttributes(
  b: Uint8Array,
  pos: number,
  a: Abbrev,
  enc: Encoding,
  end: number,
  section: string,
): number {
  if (a.fixedTotal >= 0) pos += a.fixedTotal;
  else {
    const sizes = a.sizes;
    for (let k = 0; k < sizes.length; k++) {
      const s = sizes[k]!;
      if (s >= 0) pos += s;
      else if (s === SIZE_LEB) {
        while (pos < end && b[pos]! >= 0x80) pos++;
        pos++;
      } else if (s === SIZE_CSTRING) {
        const z = b.indexOf(0, pos);
        if (z < 0 || z >= end) throw new FormatError(section, pos, 'unterminated string');
        pos = z + 1;
      } else if (s === SIZE_BLOCK1) {
        if (pos >= end) throw new FormatError(section, pos, 'truncated block');
        pos += 1 + b[pos]!;
      } else pos = skipVariableForm(b, pos, a.forms[k]!, enc, section);
    }
  }
  if (pos > end) throw new FormatError(section, pos, 'DIE runs past the end of its unit');
  return pos;
}

/** Index of attribute `at` in an abbreviation, or -1. */
export function attrIndex(a: Abbrev, at: number): number {
  const attrs = a.attrs;
  for (let i = 0; i < attrs.length; i++) if (attrs[i] === at) return i;
  return -1;
}
