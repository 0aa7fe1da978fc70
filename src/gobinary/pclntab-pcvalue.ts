/**
 * Decoding of pc-value tables (pcsp, pcfile, pcln, pcdata): a sequence of
 * (zig-zag value delta, pc delta / quantum) varint pairs starting at value -1 and the
 * function's entry, ended by a zero value delta. Mirrors runtime.step/pcvalue.
 */
import { FormatError } from '../common/errors.js';

const SECTION = 'pctab';

/** One run of a pc-value table: `value` holds for pc in [start, end). */
export interface PcRange {
  readonly start: number;
  readonly end: number;
  readonly value: number;
}

/**
 * A cursor over one table: `next()` advances to the next run, leaving its value in `value`
 * and its end in `pc` (the run covers [previous pc, pc)). Every step consumes at least two
 * bytes, so decoding always ends within the table.
 */
export class PcValueCursor {
  private readonly tab: Uint8Array;
  private p: number;
  private readonly entry: number;
  private readonly quantum: number;
  pc: number;
  value = -1;

  constructor(tab: Uint8Array, offset: number, entry: number, quantum: number) {
    if (offset < 0 || offset >= tab.length)
      throw new FormatError(SECTION, offset, 'table offset out of range');
    this.tab = tab;
    this.p = offset;
    this.entry = entry;
    this.pc = entry;
    this.quantum = quantum;
  }

  /** Advances one run; false at the end of the table. */
  next(): boolean {
    const tab = this.tab;
    if (this.p >= tab.length) throw new FormatError(SECTION, this.p, 'pc-value table runs off the end');
    let uv = tab[this.p]!;
    if (uv === 0 && this.pc !== this.entry) return false;
    if (uv & 0x80) uv = this.varint();
    else this.p++;
    this.value = (this.value + (-(uv & 1) ^ (uv >>> 1))) | 0;
    if (this.p >= tab.length) throw new FormatError(SECTION, this.p, 'pc-value table runs off the end');
    let pd = tab[this.p]!;
    if (pd & 0x80) pd = this.varint();
    else this.p++;
    this.pc += (pd * this.quantum) >>> 0;
    return true;
  }

  private varint(): number {
    const tab = this.tab;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.p >= tab.length) throw new FormatError(SECTION, this.p, 'truncated varint');
      const b = tab[this.p++]!;
      v = (v | ((b & 0x7f) << shift)) >>> 0;
      if ((b & 0x80) === 0) return v;
    }
    throw new FormatError(SECTION, this.p, 'varint longer than 5 bytes');
  }
}

/**
 * The table's value at target pc, or `missing` when the table does not cover it (the
 * runtime uses -1, which is also what the default gives).
 */
export function pcValueAt(
  tab: Uint8Array,
  offset: number,
  entry: number,
  target: number,
  quantum: number,
  missing = -1,
): number {
  if (target < entry) return missing;
  const c = new PcValueCursor(tab, offset, entry, quantum);
  while (c.next()) {
    if (target < c.pc) return c.value;
  }
  return missing;
}

/** All runs of a table, in pc order (for tests, disassembly views and probe planning). */
export function pcValueRanges(tab: Uint8Array, offset: number, entry: number, quantum: number): PcRange[] {
  const out: PcRange[] = [];
  const c = new PcValueCursor(tab, offset, entry, quantum);
  let start = entry;
  while (c.next()) {
    if (c.pc > start) out.push({ start, end: c.pc, value: c.value });
    start = c.pc;
  }
  return out;
}

/** The largest value of a table's runs (-1 when it has none). */
export function pcValueMax(tab: Uint8Array, offset: number, entry: number, quantum: number): number {
  const c = new PcValueCursor(tab, offset, entry, quantum);
  let start = entry;
  let max = -1;
  while (c.next()) {
    if (c.pc > start && c.value > max) max = c.value;
    start = c.pc;
  }
  return max;
}
