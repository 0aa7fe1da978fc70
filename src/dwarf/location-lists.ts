import { type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import { FORM, LLE } from './constants.js';
import { listOffsetFromIndex, walkLegacyList, walkList5 } from './list-reader.js';
import type { DwarfSections } from './sections.js';
import type { Unit } from './units.js';

/** One entry of a location list: where the value lives (a DW_OP expression) while PC is in [low, high). */
export interface LocationListEntry {
  readonly low: LinkAddress;
  readonly high: LinkAddress;
  readonly expr: Uint8Array;
  /** A DW_LLE_default_location entry: applies wherever no other entry does (low = high = 0). */
  readonly isDefault?: boolean;
}

/**
 * Reads the location list a DW_AT_location (or similar) value names: from .debug_loc
 * (DWARF 2-4, with base-address selection entries) or .debug_loclists (DWARF 5, every
 * DW_LLE_* kind; DW_FORM_loclistx indexes go through the unit's loclists_base). The
 * expressions are copies, so that the section can be dropped while they are kept.
 */
export function readLocationList(
  sections: DwarfSections,
  unit: Unit,
  value: number,
  form: number,
): LocationListEntry[] {
  if (unit.version < 5) return readDebugLoc(sections.loc, unit, value);
  const r = new ByteReader(sections.loclists, '.debug_loclists');
  const offset =
    form === FORM.loclistx ? listOffsetFromIndex(r, unit.bases.loclists, value, unit.offsetSize) : value;
  return readLoclist(r, unit, offset);
}

function readDebugLoc(data: Uint8Array, unit: Unit, offset: number): LocationListEntry[] {
  const r = new ByteReader(data, '.debug_loc').seek(offset);
  const out: LocationListEntry[] = [];
  walkLegacyList(r, unit, (low, high) =>
    out.push({ low: linkAddr(low), high: linkAddr(high), expr: r.take(r.u16()).slice() }),
  );
  return out;
}

function readLoclist(r: ByteReader, unit: Unit, offset: number): LocationListEntry[] {
  r.seek(offset);
  const out: LocationListEntry[] = [];
  walkList5(
    r,
    unit,
    LLE,
    'location list',
    (low, high) => out.push({ low: linkAddr(low), high: linkAddr(high), expr: r.take(r.uleb()).slice() }),
    () => out.push({ low: linkAddr(0), high: linkAddr(0), expr: r.take(r.uleb()).slice(), isDefault: true }),
  );
  return out;
}
