import type { ByteReader } from '../common/bytes.js';

/** Marks "all ones" (the largest address): a base-address selection entry in .debug_loc/.debug_ranges. */
export const MAX_ADDRESS = -1;

/** Reads an address of `size` bytes; returns MAX_ADDRESS (-1) when every bit is set. */
export function readListAddress(r: ByteReader, size: number): number {
  if (size === 4) {
    const v = r.u32();
    return v === 0xffff_ffff ? MAX_ADDRESS : v;
  }
  const at = r.pos;
  const lo = r.u32();
  const hi = r.u32();
  if (lo === 0xffff_ffff && hi === 0xffff_ffff) return MAX_ADDRESS;
  if (hi >= 0x20_0000) r.fail('address exceeds 53 bits', at);
  return hi * 0x1_0000_0000 + lo;
}

/** Resolves an index of DW_FORM_loclistx / rnglistx through the offsets table at `base` to a list offset. */
export function listOffsetFromIndex(r: ByteReader, base: number, index: number, offsetSize: number): number {
  r.seek(Math.min(r.length, base + index * offsetSize));
  return base + r.uint(offsetSize);
}

/** What a list walk needs of its unit: the base address, the address size and .debug_addr. */
export interface ListUnit {
  readonly lowPc: number;
  readonly addrSize: number;
  addrx(index: number): number;
}

/** Entry kinds of a DWARF 5 list: DW_RLE_* and DW_LLE_* mean the same things under different numbers. */
export interface ListKinds {
  readonly end_of_list: number;
  readonly base_addressx: number;
  readonly startx_endx: number;
  readonly startx_length: number;
  readonly offset_pair: number;
  readonly base_address: number;
  readonly start_end: number;
  readonly start_length: number;
  readonly default_location?: number;
  readonly GNU_view_pair?: number;
}

/**
 * Walks a DWARF 2-4 list (.debug_loc / .debug_ranges) at the reader's position: base-address
 * selection entries move the base; `onRange(low, high)` is called for every other entry and
 * must read whatever follows it (a location expression). Ends at the (0, 0) entry.
 */
export function walkLegacyList(
  r: ByteReader,
  unit: ListUnit,
  onRange: (low: number, high: number) => void,
): void {
  let base = unit.lowPc;
  // Each entry consumes at least 2 * addrSize bytes; reading past the end throws, so this terminates.
  for (;;) {
    const begin = readListAddress(r, unit.addrSize);
    const end = readListAddress(r, unit.addrSize);
    if (begin === 0 && end === 0) return;
    if (begin === MAX_ADDRESS) base = end;
    else onRange(base + begin, base + end);
  }
}

/**
 * Walks a DWARF 5 list (.debug_rnglists / .debug_loclists) at the reader's position, calling
 * `onRange(low, high)` for each bounded entry and `onDefault()` for DW_LLE_default_location;
 * both must read whatever follows the entry. Ends at end_of_list.
 */
export function walkList5(
  r: ByteReader,
  unit: ListUnit,
  kinds: ListKinds,
  what: string,
  onRange: (low: number, high: number) => void,
  onDefault?: () => void,
): void {
  let base = unit.lowPc;
  const size = unit.addrSize;
  // Each entry consumes at least one byte; reading past the end throws, so this terminates.
  for (;;) {
    const at = r.pos;
    const kind = r.u8();
    if (kind === kinds.end_of_list) return;
    if (kind === kinds.base_addressx) base = unit.addrx(r.uleb());
    else if (kind === kinds.startx_endx) {
      const low = unit.addrx(r.uleb());
      onRange(low, unit.addrx(r.uleb()));
    } else if (kind === kinds.startx_length) {
      const low = unit.addrx(r.uleb());
      onRange(low, low + r.uleb());
    } else if (kind === kinds.offset_pair) {
      const low = base + r.uleb();
      onRange(low, base + r.uleb());
    } else if (kind === kinds.base_address) base = readListAddress(r, size);
    else if (kind === kinds.start_end) {
      const low = readListAddress(r, size);
      onRange(low, readListAddress(r, size));
    } else if (kind === kinds.start_length) {
      const low = readListAddress(r, size);
      onRange(low, low + r.uleb());
    } else if (kind === kinds.default_location && onDefault) onDefault();
    else if (kind === kinds.GNU_view_pair) {
      r.uleb();
      r.uleb();
    } else r.fail(`unknown ${what} entry kind 0x${kind.toString(16)}`, at);
  }
}
