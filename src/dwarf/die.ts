import { ByteReader } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { type Abbrev, attrIndex, skipAttributes } from './abbrev.js';
import { type AttrValue, readFormValue, skipVariableForm } from './forms.js';
import type { InfoOffset } from './sections.js';
import type { Unit } from './units.js';

export const INFO = '.debug_info';

/** One attribute of a DIE, decoded. */
export interface Attribute {
  readonly at: number;
  readonly form: number;
  readonly value: AttrValue;
}

/**
 * One debugging information entry: its tag and abbreviation, with attribute values decoded
 * on demand (no allocation until asked). A null entry (end of a sibling list) is never a Die.
 */
export class Die {
  readonly unit: Unit;
  readonly offset: InfoOffset;
  readonly abbrev: Abbrev;
  /** Position of the first attribute value in .debug_info. */
  readonly attrPos: number;
  /** Position just after the last attribute value (the first child or next sibling). */
  readonly end: number;

  constructor(unit: Unit, offset: InfoOffset, abbrev: Abbrev, attrPos: number, end: number) {
    this.unit = unit;
    this.offset = offset;
    this.abbrev = abbrev;
    this.attrPos = attrPos;
    this.end = end;
  }

  get tag(): number {
    return this.abbrev.tag;
  }
  get hasChildren(): boolean {
    return this.abbrev.hasChildren;
  }

  /** Position in .debug_info of the i-th attribute value. */
  private position(i: number): number {
    const fixed = this.abbrev.fixedOffsets[i]!;
    if (fixed >= 0) return this.attrPos + fixed;
    const a = this.abbrev;
    const b = this.unit.info;
    let pos = this.attrPos;
    for (let k = 0; k < i; k++) {
      const s = a.sizes[k]!;
      pos = s >= 0 ? pos + s : skipVariableForm(b, pos, a.forms[k]!, this.unit, INFO);
    }
    return pos;
  }

  /** Whether the DIE has attribute `at`. */
  has(at: number): boolean {
    return attrIndex(this.abbrev, at) >= 0;
  }

  /** The form of attribute `at`, or undefined. */
  form(at: number): number | undefined {
    const i = attrIndex(this.abbrev, at);
    return i < 0 ? undefined : this.abbrev.forms[i];
  }

  /** The decoded value of attribute `at` (see readFormValue), or undefined. */
  value(at: number): AttrValue | undefined {
    const i = attrIndex(this.abbrev, at);
    if (i < 0) return undefined;
    return this.readAt(i);
  }

  private readAt(i: number): AttrValue {
    const r = new ByteReader(this.unit.info, INFO, this.position(i));
    return readFormValue(r, this.abbrev.forms[i]!, this.abbrev.implicit[i]!, this.unit);
  }

  /** Attribute `at` as a string (undefined when absent or not a string form). */
  str(at: number): string | undefined {
    const v = this.value(at);
    return typeof v === 'string' ? v : undefined;
  }

  /** Attribute `at` as a number (constants, addresses, offsets); undefined when absent or not numeric. */
  num(at: number): number | undefined {
    const v = this.value(at);
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    return undefined;
  }

  /** Attribute `at` as a reference (absolute .debug_info offset), checked to lie in the section. */
  ref(at: number): InfoOffset | undefined {
    const v = this.value(at);
    if (typeof v !== 'number') return undefined;
    if (v < 0 || v >= this.unit.info.length)
      throw new FormatError(INFO, this.offset, `reference 0x${v.toString(16)} is outside .debug_info`);
    return v as InfoOffset;
  }

  /** Attribute `at` as a flag (absent is false). */
  flag(at: number): boolean {
    const v = this.value(at);
    return v === true || (typeof v === 'number' && v !== 0);
  }

  /** Attribute `at` as bytes (block, exprloc, data16), or undefined. */
  bytes(at: number): Uint8Array | undefined {
    const v = this.value(at);
    return v instanceof Uint8Array ? v : undefined;
  }

  /** Every attribute, decoded, in declaration order. */
  attributes(): Attribute[] {
    const out: Attribute[] = [];
    const a = this.abbrev;
    for (let i = 0; i < a.attrs.length; i++)
      out.push({ at: a.attrs[i]!, form: a.forms[i]!, value: this.readAt(i) });
    return out;
  }
}

/** Position after the attribute values of a DIE whose values start at `pos`. */
export function attributesEnd(unit: Unit, a: Abbrev, pos: number): number {
  return skipAttributes(unit.info, pos, a, unit, unit.end, INFO);
}
