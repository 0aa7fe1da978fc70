import { type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import { FORM, RLE } from './constants.js';
import { listOffsetFromIndex, walkLegacyList, walkList5 } from './list-reader.js';
import type { DwarfSections } from './sections.js';
import type { Unit } from './units.js';

/** A half-open range of PCs [low, high). */
export interface PcRange {
  readonly low: LinkAddress;
  readonly high: LinkAddress;
}

/**
 * Reads the range list a DW_AT_ranges value names: from .debug_ranges (DWARF 2-4, with
 * base-address selection entries) or .debug_rnglists (DWARF 5, every DW_RLE_* kind; a
 * DW_FORM_rnglistx index goes through the unit's rnglists_base). Empty ranges are dropped.
 */
export function readRanges(sections: DwarfSections, unit: Unit, value: number, form: number): PcRange[] {
  if (unit.version < 5) return readDebugRanges(sections.ranges, unit, value);
  const r = new ByteReader(sections.rnglists, '.debug_rnglists');
  const offset =
    form === FORM.rnglistx ? listOffsetFromIndex(r, unit.bases.rnglists, value, unit.offsetSize) : value;
  return readRnglist(r, unit, offset);
}

function readDebugRanges(data: Uint8Array, unit: Unit, offset: number): PcRange[] {
  const r = new ByteReader(data, '.debug_ranges').seek(offset);
  const out: PcRange[] = [];
  walkLegacyList(r, unit, (low, high) => {
    if (high > low) out.push({ low: linkAddr(low), high: linkAddr(high) });
  });
  return out;
}

function readRnglist(r: ByteReader, unit: Unit, offset: number): PcRange[] {
  r.seek(offset);
  const out: PcRange[] = [];
  walkList5(r, unit, RLE, 'range list', (low, high) => {
    if (high > low) out.push({ low: linkAddr(low), high: linkAddr(high) });
  });
  return out;
}
