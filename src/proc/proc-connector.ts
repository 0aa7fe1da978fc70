/**
 * The kernel's process events connector (NETLINK_CONNECTOR, group CN_IDX_PROC): a netlink
 * socket on which the kernel multicasts one message per exec, exit, fork, … of every task on
 * the machine. This file holds the wire format (subscribe messages, event decoding) and the
 * socket calls through koffi; `proc-event-reader.ts` reads events with them.
 *
 * Kernel facts this relies on (drivers/connector/cn_proc.c): the listener must be in the
 * initial PID and user namespaces (else its subscription is silently ignored, no answer);
 * before Linux 6.6 joining the group and subscribing need CAP_NET_ADMIN (EPERM otherwise);
 * from 6.6 a subscription may carry an event mask (`struct proc_input`), which older kernels
 * ignore (they only accept the 4-byte form). Events name tasks by their pid in the initial
 * namespace; an exit is reported for every thread (pid != tgid for all but the leader).
 */
import koffi from 'koffi';

const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_CONNECTOR = 11;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const NLMSG_DONE = 3;
/** Connector id of process events: idx and val. */
const CN_IDX_PROC = 1;
const CN_VAL_PROC = 1;

/** Subscription operations (enum proc_cn_mcast_op). */
const PROC_CN_MCAST_LISTEN = 1;
const PROC_CN_MCAST_IGNORE = 2;

/** Event kinds (enum proc_cn_event). */
export const ProcEvent = {
  NONE: 0,
  FORK: 0x1,
  EXEC: 0x2,
  EXIT: 0x80000000,
} as const;

/** recv/poll flags and errno values the reader distinguishes. */
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x1;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOBUFS = 105;

/** Offsets in one datagram: nlmsghdr (16 bytes), cn_msg (20), then struct proc_event. */
const NL_HDR = 16;
const CN_ACK = NL_HDR + 12;
const CN_LEN = NL_HDR + 16;
const EV = NL_HDR + 20;
const EV_WHAT = EV;
const EV_DATA = EV + 16;
/** Bytes of a whole event message (nlmsghdr + cn_msg + proc_event). */
export const EVENT_MESSAGE_BYTES = EV + 40;

/** The libc calls the connector needs, bound on the calling thread. */
export interface NetlinkLibc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  /** poll(fds, n, timeoutMs): fds is an array of struct pollfd (8 bytes each). */
  poll(fds: Buffer, n: number, timeoutMs: number): number;
  /** read(fd, buf, n), for draining an eventfd. */
  read(fd: number, buf: Buffer, n: number): number;
  close(fd: number): number;
  /** eventfd(initval, flags). */
  eventfd(initval: number, flags: number): number;
  errno(): number;
}

let bound: NetlinkLibc | undefined;

/** Binds the calls on first use on this thread (koffi loads per thread). */
export function netlinkLibc(): NetlinkLibc {
  if (bound) return bound;
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int domain, int type, int protocol)');
  const bind = lib.func('int bind(int fd, void *addr, uint32_t len)');
  const send = lib.func('long send(int fd, void *buf, unsigned long len, int flags)');
  const recv = lib.func('long recv(int fd, void *buf, unsigned long len, int flags)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t len)');
  const poll = lib.func('int poll(void *fds, unsigned long n, int timeout)');
  const read = lib.func('long read(int fd, void *buf, unsigned long n)');
  const close = lib.func('int close(int fd)');
  const eventfd = lib.func('int eventfd(unsigned int initval, int flags)');
  bound = {
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    send: (fd, b, l, f) => Number(send(fd, b, l, f)),
    recv: (fd, b, l, f) => Number(recv(fd, b, l, f)),
    setsockopt: (fd, lv, n, v, l) => setsockopt(fd, lv, n, v, l) as number,
    poll: (fds, n, t) => poll(fds, n, t) as number,
    read: (fd, b, n) => Number(read(fd, b, n)),
    close: (fd) => close(fd) as number,
    eventfd: (i, f) => eventfd(i, f) as number,
    errno: () => koffi.errno(),
  };
  return bound;
}

/** An error of a connector call: which call, and errno. */
export class ConnectorError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(
      `${call} failed with errno ${errno}${errno === 1 ? ' (EPERM: the agent lacks CAP_NET_ADMIN in the initial user namespace, which the connector needs before Linux 6.6 and in a user namespace)' : ''}`,
    );
  }
}

/**
 * Opens a netlink connector socket joined to the process events group, with a receive
 * buffer of `rcvbuf` bytes where allowed (SO_RCVBUFFORCE as root, else up to rmem_max).
 */
export function openConnectorSocket(c: NetlinkLibc, rcvbuf: number): number {
  const fd = c.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) throw new ConnectorError('socket(AF_NETLINK, NETLINK_CONNECTOR)', c.errno());
  const size = Buffer.alloc(4);
  size.writeInt32LE(rcvbuf, 0);
  if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) !== 0)
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
  const addr = Buffer.alloc(12); // sockaddr_nl: family, pad, pid (0: the kernel picks), groups
  addr.writeUInt16LE(AF_NETLINK, 0);
  addr.writeUInt32LE(CN_IDX_PROC, 8);
  if (c.bind(fd, addr, addr.length) !== 0) {
    const errno = c.errno();
    c.close(fd);
    throw new ConnectorError('bind(CN_IDX_PROC)', errno);
  }
  return fd;
}

/**
 * A subscription message: LISTEN or IGNORE, with `ack` echoed (plus one) in the kernel's
 * answer; with `events` (a mask of ProcEvent kinds), the 8-byte form of Linux 6.6+.
 */
export function subscribeMessage(op: 'listen' | 'ignore', ack: number, events?: number): Buffer {
  const payload = events === undefined ? 4 : 8;
  const m = Buffer.alloc(EV + payload);
  m.writeUInt32LE(m.length, 0);
  m.writeUInt16LE(NLMSG_DONE, 4);
  m.writeUInt32LE(CN_IDX_PROC, NL_HDR);
  m.writeUInt32LE(CN_VAL_PROC, NL_HDR + 4);
  m.writeUInt32LE(ack >>> 0, CN_ACK);
  m.writeUInt16LE(payload, CN_LEN);
  m.writeUInt32LE(op === 'listen' ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE, EV);
  if (events !== undefined) m.writeUInt32LE(events >>> 0, EV + 4);
  return m;
}

/** Sends a subscription message; throws ConnectorError when the kernel refuses the send. */
export function sendSubscription(c: NetlinkLibc, fd: number, message: Buffer): void {
  if (c.send(fd, message, message.length, 0) !== message.length) throw new ConnectorError('send', c.errno());
}

/** Called for each event of a datagram: kind, pid, tgid; for NONE (an answer to a subscription) also its ack and error. */
export type EventVisitor = (what: number, pid: number, tgid: number, ack: number, err: number) => void;

/**
 * Visits the events of one datagram (one or more netlink messages) of the connector; foreign
 * messages are skipped. No allocation per event: thread exits come by the hundred.
 */
export function visitEvents(buf: Buffer, length: number, visit: EventVisitor): void {
  let at = 0;
  while (at + EVENT_MESSAGE_BYTES <= length) {
    const len = buf.readUInt32LE(at);
    if (len < NL_HDR || at + len > length) return;
    const idx = buf.readUInt32LE(at + NL_HDR);
    const val = buf.readUInt32LE(at + NL_HDR + 4);
    if (len >= EVENT_MESSAGE_BYTES && idx === CN_IDX_PROC && val === CN_VAL_PROC) {
      const what = buf.readUInt32LE(at + EV_WHAT);
      // fork: parent pid, parent tgid, child pid, child tgid; the others: pid, tgid first.
      const d = at + EV_DATA + (what === ProcEvent.FORK ? 8 : 0);
      visit(
        what,
        buf.readUInt32LE(d),
        buf.readUInt32LE(d + 4),
        buf.readUInt32LE(at + CN_ACK),
        buf.readUInt32LE(at + EV_DATA),
      );
    }
    at += (len + 3) & ~3;
  }
}
