/**
 * Execs and exits of the machine's processes as the kernel reports them (the proc connector,
 * `proc-connector.ts`), read synchronously: `next()` sleeps in poll() until events come, a
 * timeout passes or the owner's wake-up descriptor (an eventfd) is written. For a thread of
 * its own, where blocking costs nothing: an idle machine wakes nobody. A batch holds each
 * process's last event (exec'd then exited is an exit); thread exits are left out (a
 * thread's exit is not its process's); `overrun` says the kernel dropped events because the
 * socket's buffer was full (look at /proc again).
 */
import {
  ConnectorError,
  EAGAIN,
  EINTR,
  ENOBUFS,
  type EventVisitor,
  MSG_DONTWAIT,
  type NetlinkLibc,
  netlinkLibc,
  openConnectorSocket,
  POLLIN,
  ProcEvent,
  sendSubscription,
  subscribeMessage,
  visitEvents,
} from './proc-connector.js';

/** One batch of events. */
export interface ProcEventBatch {
  /** Processes that exec'd (their new program runs now). */
  readonly execs: readonly number[];
  /** Processes that exited. */
  readonly exits: readonly number[];
  /** The kernel dropped events before these (socket buffer overrun). */
  readonly overrun: boolean;
}

/** The connector cannot be used here; the message says why. */
export class ConnectorUnavailable extends Error {}

/** How long to wait for the kernel's answer to the subscription. */
export const ACK_MS = 2000;

const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;

/** A new eventfd for waking a reader (or any poll() on it) from another thread; write 8 bytes to it. */
export function wakeEventFd(): number {
  const c = netlinkLibc();
  const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw new ConnectorError('eventfd', c.errno());
  return fd;
}

/**
 * Sleeps until `wakeFd` is written or `ms` pass (a thread's sleep that another thread, or
 * this process's exit, can cut short); true when woken.
 */
export function sleepOn(wakeFd: number, ms: number): boolean {
  const c = netlinkLibc();
  const fds = Buffer.alloc(8);
  fds.writeInt32LE(wakeFd, 0);
  fds.writeInt16LE(POLLIN, 4);
  if (c.poll(fds, 1, Math.max(0, Math.ceil(ms))) < 0 && c.errno() !== EINTR)
    throw new ConnectorError('poll', c.errno());
  return (fds.readInt16LE(6) & POLLIN) !== 0;
}

/** A subscribed connector socket. */
export class ProcEventReader {
  private readonly buf = Buffer.alloc(8192);
  /** Two struct pollfd: the socket, the wake-up eventfd. */
  private readonly fds = Buffer.alloc(16);
  /** Per process (tgid) the last event of the batch being read: EXEC or EXIT. */
  private readonly latest = new Map<number, number>();
  private readonly keep: EventVisitor = (what, pid, tgid) => {
    if (what === ProcEvent.EXEC) this.latest.set(tgid, what);
    else if (what === ProcEvent.EXIT && pid === tgid) this.latest.set(tgid, what);
  };
  private closed = false;

  private constructor(
    private readonly c: NetlinkLibc,
    private readonly fd: number,
    wakeFd: number,
  ) {
    this.fds.writeInt32LE(fd, 0);
    this.fds.writeInt16LE(POLLIN, 4);
    this.fds.writeInt32LE(wakeFd, 8);
    this.fds.writeInt16LE(POLLIN, 12);
  }

  /**
   * Opens the socket and subscribes to execs and exits; blocks up to ACK_MS for the kernel's
   * answer. Throws ConnectorUnavailable (with why) when the connector cannot be used;
   * undefined when `wakeFd` was written meanwhile.
   */
  static open(wakeFd: number, rcvbuf = 4 << 20): ProcEventReader | undefined {
    let c: NetlinkLibc;
    let fd: number;
    try {
      c = netlinkLibc();
      fd = openConnectorSocket(c, rcvbuf);
    } catch (e) {
      throw new ConnectorUnavailable(e instanceof Error ? e.message : String(e));
    }
    const reader = new ProcEventReader(c, fd, wakeFd);
    try {
      const ack = (Math.random() * 0x3fff_ffff) | 0;
      sendSubscription(c, fd, subscribeMessage('listen', ack));
      const answer = reader.awaitAck(ack + 1);
      if (answer === 'stopped') {
        reader.close();
        return undefined;
      }
      if (answer === undefined)
        throw new ConnectorUnavailable(
          `no answer to the subscription within ${ACK_MS} ms (the agent must run in the initial PID and user namespaces)`,
        );
      if (answer !== 0)
        throw new ConnectorUnavailable(
          new ConnectorError('subscription (PROC_CN_MCAST_LISTEN)', answer).message,
        );
      // Linux 6.6+: only execs and exits from now on (earlier kernels ignore this form).
      sendSubscription(c, fd, subscribeMessage('listen', ack + 2, ProcEvent.EXEC | ProcEvent.EXIT));
      return reader;
    } catch (e) {
      reader.close();
      throw e instanceof ConnectorUnavailable
        ? e
        : new ConnectorUnavailable(e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * Sleeps until events come (then returns them: an empty batch when they were only thread
   * exits), `ms` pass (undefined) or the wake-up descriptor is written ('stopped'). Throws
   * ConnectorError when the socket fails.
   */
  next(ms: number): ProcEventBatch | 'stopped' | undefined {
    if (this.wait(ms)) return 'stopped';
    if ((this.fds.readInt16LE(6) & POLLIN) === 0) return undefined;
    const overrun = this.drain(this.keep);
    const execs: number[] = [];
    const exits: number[] = [];
    for (const [pid, what] of this.latest) (what === ProcEvent.EXEC ? execs : exits).push(pid);
    this.latest.clear();
    return { execs, exits, overrun };
  }

  /** Unsubscribes (else the kernel counts a listener that is gone) and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      sendSubscription(this.c, this.fd, subscribeMessage('ignore', 0));
    } catch {
      // The socket is closed next either way.
    }
    this.c.close(this.fd);
  }

  /** poll() on the socket and the wake-up descriptor; true when woken. */
  private wait(ms: number): boolean {
    this.fds.writeInt16LE(0, 6);
    this.fds.writeInt16LE(0, 14);
    if (this.c.poll(this.fds, 2, Math.max(0, Math.ceil(ms))) < 0 && this.c.errno() !== EINTR)
      throw new ConnectorError('poll', this.c.errno());
    return (this.fds.readInt16LE(14) & POLLIN) !== 0;
  }

  /** Reads every datagram waiting; true when the kernel reported an overrun. */
  private drain(visit: EventVisitor): boolean {
    let overrun = false;
    for (;;) {
      const got = this.c.recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT);
      if (got >= 0) {
        visitEvents(this.buf, got, visit);
        continue;
      }
      const errno = this.c.errno();
      if (errno === EAGAIN) return overrun;
      if (errno === ENOBUFS) overrun = true;
      else if (errno !== EINTR) throw new ConnectorError('recv', errno);
    }
  }

  /** Waits for the kernel's answer to our subscription: its error (0: accepted), undefined when none came. */
  private awaitAck(want: number): number | 'stopped' | undefined {
    const deadline = Date.now() + ACK_MS;
    let answer: number | undefined;
    const find: EventVisitor = (what, _pid, _tgid, ack, err) => {
      if (what === ProcEvent.NONE && ack === want) answer = err;
    };
    for (let left = ACK_MS; left > 0 && answer === undefined; left = deadline - Date.now()) {
      if (this.wait(left)) return 'stopped';
      this.drain(find);
    }
    return answer;
  }
}
