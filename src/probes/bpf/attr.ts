/**
 * bpf(2) commands and attribute layouts (union bpf_attr, include/uapi/linux/bpf.h), written
 * into a zeroed buffer the size of the union the kernel checks.
 */
import { addressOf } from './syscalls.js';

/** bpf(2) commands used here. */
export const CMD = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  PROG_GET_NEXT_ID: 11,
  PROG_GET_FD_BY_ID: 13,
  OBJ_GET_INFO_BY_FD: 15,
  LINK_CREATE: 28,
  LINK_GET_NEXT_ID: 31,
  LINK_GET_FD_BY_ID: 30,
} as const;

/** Bytes of the attribute buffer (every field used here lies below; the rest stays zero). */
export const ATTR_BYTES = 168;

/** A zeroed attribute buffer. */
export function newAttr(): Buffer {
  return Buffer.alloc(ATTR_BYTES);
}

/** Writes a pointer to `buf` (or 0) at `offset`. */
export function putPointer(attr: Buffer, offset: number, buf: Buffer | undefined): void {
  attr.writeBigUInt64LE(buf ? addressOf(buf) : 0n, offset);
}

/** Writes a kernel object name (BPF_OBJ_NAME_LEN = 16, NUL included) at `offset`. */
export function putName(attr: Buffer, offset: number, name: string): void {
  if (!/^[A-Za-z0-9_.]{1,15}$/.test(name))
    throw new RangeError(`BPF object name '${name}' must be 1-15 characters of [A-Za-z0-9_.]`);
  attr.write(name, offset, 'latin1');
}
