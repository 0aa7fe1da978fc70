/**
 * Go string values stored in a binary's static data: a string header {ptr, len} at some
 * link-time address, whose bytes live elsewhere (usually rodata), read through the ELF image.
 */
import { hex, type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader, decodeUtf8 } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import type { ElfFile } from '../elf/elf-file.js';

/** Longest static string we accept before calling the data corrupt. */
const MAX_STATIC_STRING = 1 << 24;

/** Reads the Go string whose header {ptr, len} sits at `at` (8-byte pointers). */
export function readGoString(elf: ElfFile, at: LinkAddress, what: string): string {
  const r = new ByteReader(elf.readAt(at, 16), what);
  const ptr = r.u64();
  const len = r.u64();
  return decodeUtf8(readGoStringBytes(elf, linkAddr(ptr), len, what));
}

/** Reads len bytes of string data at ptr (a zero-length string may have a nil pointer). */
export function readGoStringBytes(elf: ElfFile, ptr: LinkAddress, len: number, what: string): Uint8Array {
  if (len === 0) return new Uint8Array();
  if (len > MAX_STATIC_STRING || ptr === 0)
    throw new FormatError(what, 0, `string header {ptr ${hex(ptr)}, len ${len}} is implausible`);
  return elf.readAt(ptr, len);
}
