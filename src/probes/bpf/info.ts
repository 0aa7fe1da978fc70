/**
 * Identity of kernel BPF objects: a program's or link's id and name (BPF_OBJ_GET_INFO_BY_FD),
 * and whether an id still exists (BPF_PROG_GET_FD_BY_ID / BPF_LINK_GET_FD_BY_ID) — how tests
 * and the agent check that nothing of Periscope's stays in the kernel.
 */

import { CMD, newAttr, putPointer } from './attr.js';
import { BpfError } from './bpf-error.js';
import { syscalls } from './syscalls.js';

/** The kernel's id and name of a program or link fd. */
export interface ObjectInfo {
  readonly id: number;
  /** The program's name (links have none: ''). */
  readonly name: string;
}

const PROG_INFO_BYTES = 256;
const ENOENT = 2;

/** The id and name of a program fd. */
export function programInfo(fd: number): ObjectInfo {
  const info = infoOf(fd, 'program');
  const name = info.toString('latin1', 64, 80);
  return { id: info.readUInt32LE(4), name: name.slice(0, Math.max(0, name.indexOf('\0'))) || name };
}

/** The id of a link fd. */
export function linkInfo(fd: number): ObjectInfo {
  return { id: infoOf(fd, 'link').readUInt32LE(4), name: '' };
}

/** Whether a program with this id exists in the kernel. */
export function programExists(id: number): boolean {
  return exists(CMD.PROG_GET_FD_BY_ID, id, 'program');
}

/** Whether a link with this id exists in the kernel. */
export function linkExists(id: number): boolean {
  return exists(CMD.LINK_GET_FD_BY_ID, id, 'link');
}

function infoOf(fd: number, what: string): Buffer {
  const sys = syscalls();
  const info = Buffer.alloc(PROG_INFO_BYTES);
  const attr = newAttr();
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  putPointer(attr, 8, info);
  if (sys.bpf(CMD.OBJ_GET_INFO_BY_FD, attr) !== 0)
    throw new BpfError(`cannot read the info of BPF ${what} fd ${fd}`, sys.errno());
  return info;
}

function exists(cmd: number, id: number, what: string): boolean {
  const sys = syscalls();
  const attr = newAttr();
  attr.writeUInt32LE(id, 0);
  const fd = sys.bpf(cmd, attr);
  if (fd >= 0) {
    sys.close(fd);
    return true;
  }
  const errno = sys.errno();
  if (errno === ENOENT) return false;
  throw new BpfError(`cannot look up BPF ${what} ${id}`, errno);
}
