import { type Address, addr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import { FORM, LLE } from './constants.js';
import { listOffsetFromIndex, MAX_ADDRESS, readListAddress } from './list-reader.js';
import type { DwarfSections } from './sections.js';
import type { Unit } from './units.js';

/** One entry of a location list: where the value lives (a DW_OP expression) while PC is in [low, high). */
export interface LocationListEntry {
  readonly low: Address;
  readonly high: Address;
  readonly expr: Uint8Array;
  /** A DW_LLE_default_location entry: applies wherever no other entry does (low = high = 0). */
  readonly isDefault?: boolean;
}

/**
 * Reads the location list a DW_AT_location (or similar) value names: from .debug_loc
 * (DWARF 2-4, with base-address selection entries) or .debug_loclists (DWARF 5, every
 * DW_LLE_* kind; DW_FORM_loclistx indexes go through the unit's loclists_base).
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
  const r = new ByteReader(data, '.debug_loc');
  r.seek(offset);
  const out: LocationListEntry[] = [];
  let base: number = unit.lowPc;
  // Each entry consumes at least 2 * addrSize bytes; reading past the end throws.
  for (;;) {
    const begin = readListAddress(r, unit.addrSize);
    const end = readListAddress(r, unit.addrSize);
    if (begin === 0 && end === 0) return out;
    if (begin === MAX_ADDRESS) {
      base = end;
      continue;
    }
    const expr = r.take(r.u16());
    out.push({ low: addr(base + begin), high: addr(base + end), expr });
  }
}

function readLoclist(r: ByteReader, unit: Unit, offset: number): LocationListEntry[] {
  r.seek(offset);
  const out: LocationListEntry[] = [];
  let base: number = unit.lowPc;
  const size = unit.addrSize;
  const push = (low: number, high: number) => {
    out.push({ low: addr(low), high: addr(high), expr: r.take(r.uleb()) });
  };
  // Each entry consumes at least one byte; reading past the end throws, so this terminates.
  for (;;) {
    const at = r.pos;
    const kind = r.u8();
    switch (kind) {
      case LLE.end_of_list:
        return out;
      case LLE.base_addressx:
        base = unit.addrx(r.uleb());
        break;
      case LLE.startx_endx: {
        const low = unit.addrx(r.uleb());
        push(low, unit.addrx(r.uleb()));
        break;
      }
      case LLE.startx_length: {
        const low = unit.addrx(r.uleb());
        push(low, low + r.uleb());
        break;
      }
      case LLE.offset_pair: {
        const low = base + r.uleb();
        push(low, base + r.uleb());
        break;
      }
      case LLE.default_location:
        out.push({ low: addr(0), high: addr(0), expr: r.take(r.uleb()), isDefault: true });
        break;
      case LLE.base_address:
        base = readListAddress(r, size);
        break;
      case LLE.start_end: {
        const low = readListAddress(r, size);
        push(low, readListAddress(r, size));
        break;
      }
      case LLE.start_length: {
        const low = readListAddress(r, size);
        push(low, low + r.uleb());
        break;
      }
      case LLE.GNU_view_pair:
        r.uleb();
        r.uleb();
        break;
      default:
        r.fail(`unknown location list entry kind 0x${kind.toString(16)}`, at);
    }
  }
}
