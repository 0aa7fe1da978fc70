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
