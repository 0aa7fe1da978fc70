/**
 * Little-endian reads of Go scalars out of byte arrays and target memory. Words become
 * plain numbers (user-space addresses fit in 53 bits); bigint appears only where a 64-bit
 * value is rendered.
 */
import { type Address, addr } from '../../common/address.js';
import type { Memory } from '../../proc/memory.js';

const TWO32 = 4294967296;

/** An unsigned 64-bit word as a number (exact up to 2^53; larger values lose low bits). */
export function u64At(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset + off, 8);
  return dv.getUint32(4, true) * TWO32 + dv.getUint32(0, true);
}

/** A signed 64-bit word as a number (exact within ±2^53). */
export function i64At(b: Uint8Array, off: number): number {
  const dv = new DataView(b.buffer, b.byteOffset + off, 8);
  return dv.getInt32(4, true) * TWO32 + dv.getUint32(0, true);
}

/** An unsigned little-endian integer of 1, 2, 4 or 8 bytes as a number. */
export function uintAt(b: Uint8Array, off: number, size: number): number {
  const dv = new DataView(b.buffer, b.byteOffset + off, size);
  switch (size) {
    case 1:
      return dv.getUint8(0);
    case 2:
      return dv.getUint16(0, true);
    case 4:
      return dv.getUint32(0, true);
    default:
      return u64At(b, off);
  }
}

/** A pointer-sized word at `off` as an Address (0 is nil). */
export function ptrAt(b: Uint8Array, off: number): Address {
  return addr(u64At(b, off));
}

/** Reads one pointer-sized word from target memory. */
export function readPtr(mem: Memory, a: Address): Address {
  return ptrAt(mem.read(a, 8), 0);
}

/** Reads an unsigned word of `size` bytes from target memory. */
export function readUint(mem: Memory, a: Address, size: number): number {
  return uintAt(mem.read(a, size), 0, size);
}

/** `a + n` as an Address. */
export function plus(a: Address, n: number): Address {
  return addr(a + n);
}
