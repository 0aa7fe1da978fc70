import { type Address, addr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import { FORM, RLE } from './constants.js';
import { listOffsetFromIndex, MAX_ADDRESS, readListAddress } from './list-reader.js';
import type { DwarfSections } from './sections.js';
import type { Unit } from './units.js';

/** A half-open range of PCs [low, high). */
export interface PcRange {
  readonly low: Address;
  readonly high: Address;
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
  const r = new ByteReader(data, '.debug_ranges');
  r.seek(offset);
  const out: PcRange[] = [];
  let base: number = unit.lowPc;
  // Each entry consumes 2 * addrSize bytes; reading past the end throws, so this terminates.
  for (;;) {
    const begin = readListAddress(r, unit.addrSize);
    const end = readListAddress(r, unit.addrSize);
    if (begin === 0 && end === 0) return out;
    if (begin === MAX_ADDRESS) {
      base = end;
      continue;
    }
    if (end > begin) out.push({ low: addr(base + begin), high: addr(base + end) });
  }
}

function readRnglist(r: ByteReader, unit: Unit, offset: number): PcRange[] {
  r.seek(offset);
  const out: PcRange[] = [];
  let base: number = unit.lowPc;
  const size = unit.addrSize;
  const push = (low: number, high: number) => {
    if (high > low) out.push({ low: addr(low), high: addr(high) });
  };
  // Each entry consumes at least one byte; reading past the end throws, so this terminates.
  for (;;) {
    const at = r.pos;
    const kind = r.u8();
    switch (kind) {
      case RLE.end_of_list:
        return out;
      case RLE.base_addressx:
        base = unit.addrx(r.uleb());
        break;
      case RLE.startx_endx: {
        const low = unit.addrx(r.uleb());
        push(low, unit.addrx(r.uleb()));
        break;
      }
      case RLE.startx_length: {
        const low = unit.addrx(r.uleb());
        push(low, low + r.uleb());
        break;
      }
      case RLE.offset_pair: {
        const low = base + r.uleb();
        push(low, base + r.uleb());
        break;
      }
      case RLE.base_address:
        base = readListAddress(r, size);
        break;
      case RLE.start_end: {
        const low = readListAddress(r, size);
        push(low, readListAddress(r, size));
        break;
      }
      case RLE.start_length: {
        const low = readListAddress(r, size);
        push(low, low + r.uleb());
        break;
      }
      default:
        r.fail(`unknown range list entry kind 0x${kind.toString(16)}`, at);
    }
  }
}
