/**
 * What identifies a Unix-domain socket connection, which has no addresses to compare (a
 * client's end is usually unnamed, and every connection to one listener shares its path):
 * the kernel's inode of each end and which inode is its peer.
 *
 * - A process's descriptor names its socket's inode: `/proc/PID/fd/FD` reads
 *   `socket:[INODE]` (the ptrace access check the agent passes already).
 * - The peer's inode is what `ss -x` shows: the kernel's sock_diag interface
 *   (NETLINK_SOCK_DIAG, a dump of AF_UNIX sockets with UDIAG_SHOW_PEER). It needs no
 *   capability, but it answers for the network namespace of the asking socket only; both
 *   ends of a connected pair are in the namespace of the end that connected.
 *   `/proc/net/unix` lists inodes without peers, and `/proc/PID/fdinfo/FD` shows none either
 *   (checked on Linux 6.18).
 * - Inode numbers are unique within one boot of one kernel, so an identity also names the
 *   boot (`/proc/sys/kernel/random/boot_id`).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import koffi from 'koffi';
import { PeriscopeError } from '../common/errors.js';

const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 1;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const AF_UNIX = 1;
const UDIAG_SHOW_PEER = 4;
const UNIX_DIAG_PEER = 2;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
/** Errno names for the few failures worth a specific message. */
const ERRNO: Readonly<Record<number, string>> = {
  1: 'EPERM',
  13: 'EACCES',
  22: 'EINVAL',
  93: 'EPROTONOSUPPORT',
  97: 'EAFNOSUPPORT',
  11: 'EAGAIN (no answer within 2 s)',
};

interface NetlinkCalls {
  socket(domain: number, type: number, protocol: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  close(fd: number): number;
}

let calls: NetlinkCalls | undefined;

function bind(): NetlinkCalls {
  if (calls) return calls;
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const send = lib.func('long send(int fd, void *buf, size_t len, int flags)');
  const recv = lib.func('long recv(int fd, void *buf, size_t len, int flags)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, void *value, unsigned int len)');
  const close = lib.func('int close(int fd)');
  calls = {
    socket: (d, t, p) => socket(d, t, p) as number,
    send: (fd, b, l, f) => Number(send(fd, b, l, f)),
    recv: (fd, b, l, f) => Number(recv(fd, b, l, f)),
    setsockopt: (fd, lv, n, v, l) => setsockopt(fd, lv, n, v, l) as number,
    close: (fd) => close(fd) as number,
  };
  return calls;
}

function failed(what: string): PeriscopeError {
  const e = koffi.errno();
  return new PeriscopeError('permission', `sock_diag: ${what} failed: ${ERRNO[e] ?? `errno ${e}`}`);
}

/**
 * Every AF_UNIX socket of the caller's network namespace that has a peer: inode -> the
 * peer's inode. Throws PeriscopeError when sock_diag cannot be asked (a sandbox that
 * forbids netlink sockets, a kernel without unix_diag).
 */
export function unixPeers(): Map<number, number> {
  const c = bind();
  const fd = c.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) throw failed('socket(AF_NETLINK, NETLINK_SOCK_DIAG)');
  try {
    const timeout = Buffer.alloc(16);
    timeout.writeBigInt64LE(2n, 0);
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
    // nlmsghdr (16 bytes) + unix_diag_req (24 bytes).
    const req = Buffer.alloc(40);
    req.writeUInt32LE(40, 0);
    req.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
    req.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
    req.writeUInt32LE(1, 8);
    req.writeUInt8(AF_UNIX, 16);
    req.writeUInt32LE(0xffffffff, 20); // every state
    req.writeUInt32LE(UDIAG_SHOW_PEER, 28);
    req.writeUInt32LE(0xffffffff, 32); // no cookie
    req.writeUInt32LE(0xffffffff, 36);
    if (c.send(fd, req, req.length, 0) !== req.length) throw failed('send');
    const peers = new Map<number, number>();
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const n = c.recv(fd, buf, buf.length, 0);
      if (n < 0) throw failed('recv');
      if (n === 0) return peers;
      for (let off = 0; off + 16 <= n; ) {
        const len = buf.readUInt32LE(off);
        const type = buf.readUInt16LE(off + 4);
        if (len < 16 || off + len > n) return peers;
        if (type === NLMSG_DONE) return peers;
        if (type === NLMSG_ERROR) {
          const errno = -buf.readInt32LE(off + 16);
          throw new PeriscopeError(
            'unsupported',
            `sock_diag refused the AF_UNIX dump: ${ERRNO[errno] ?? `errno ${errno}`}`,
          );
        }
        if (type === SOCK_DIAG_BY_FAMILY && len >= 32) {
          const inode = buf.readUInt32LE(off + 20);
          for (let a = off + 32; a + 4 <= off + len; ) {
            const alen = buf.readUInt16LE(a);
            if (alen < 4) break;
            if (buf.readUInt16LE(a + 2) === UNIX_DIAG_PEER && alen >= 8)
              peers.set(inode, buf.readUInt32LE(a + 4));
            a += (alen + 3) & ~3;
          }
        }
        off += (len + 3) & ~3;
      }
    }
  } finally {
    c.close(fd);
  }
}

/** The inode of the socket at descriptor `fd` of process `pid`, or why there is none. */
export function socketInode(pid: number, fd: number): { inode: number } | { error: string } {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch (e) {
    return {
      error: `descriptor ${fd} of process ${pid} cannot be read (${(e as NodeJS.ErrnoException).code})`,
    };
  }
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? { inode: Number(m[1]) } : { error: `descriptor ${fd} is ${link} now, not a socket` };
}

/** The network namespace of a process (`net:[N]`), or undefined when it cannot be read. */
export function networkNamespace(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

let boot: string | undefined;

/** This boot of this kernel's id (socket inodes are unique within one boot). */
export function bootId(): string {
  boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return boot;
}
