/**
 * The thread that reads the kernel's process events (started by proc-events.ts). Opens and
 * subscribes the connector socket, waits for the kernel's answer, then sleeps in poll() on
 * the socket and the owner's wake-up eventfd. Each wake-up drains the socket, keeps per
 * process the last of its execs and (leader) exits, posts one batch when there is one, and
 * then sleeps `coalesceMs` before looking again: a burst of process churn, or the thread
 * exits the kernel reports alongside (dropped here), cost one wake-up per `coalesceMs`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  ConnectorError,
  EAGAIN,
  EINTR,
  ENOBUFS,
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
import type { ProcEventsInit, ProcEventsMessage } from './proc-events.js';

const init = workerData as ProcEventsInit;
const post = (m: ProcEventsMessage): void => parentPort!.postMessage(m);

/** How long to wait for the kernel's answer to the subscription. */
const ACK_MS = 2000;
/** A poll() timeout, so that this thread comes back to JavaScript now and then (a terminate() can only act there). */
const IDLE_POLL_MS = 10_000;

const buf = Buffer.alloc(8192);
/** Two struct pollfd: the socket, the wake-up eventfd. */
const fds = Buffer.alloc(16);
/** Per process (tgid) the last event of the batch: EXEC or EXIT. */
const latest = new Map<number, number>();

const keep = (what: number, pid: number, tgid: number): void => {
  if (what === ProcEvent.EXEC) latest.set(tgid, what);
  else if (what === ProcEvent.EXIT && pid === tgid) latest.set(tgid, what);
};

/** Sleeps in poll() on the first `n` descriptors of `fds`; true when the owner asked us to stop. */
function wait(c: NetlinkLibc, n: number, ms: number): boolean {
  fds.writeInt16LE(0, 6);
  fds.writeInt16LE(0, 14);
  const from = n === 1 ? fds.subarray(8) : fds;
  if (c.poll(from, n, ms) < 0 && c.errno() !== EINTR) throw new ConnectorError('poll', c.errno());
  return (fds.readInt16LE(14) & POLLIN) !== 0;
}

/** Reads every datagram waiting; false when there was none. Throws on a socket error. */
function drain(c: NetlinkLibc, fd: number, visit: Parameters<typeof visitEvents>[2]): boolean | 'overrun' {
  let any = false;
  let overrun = false;
  for (;;) {
    const got = c.recv(fd, buf, buf.length, MSG_DONTWAIT);
    if (got < 0) {
      const errno = c.errno();
      if (errno === EAGAIN) break;
      if (errno === ENOBUFS) overrun = true;
      else if (errno !== EINTR) throw new ConnectorError('recv', errno);
      continue;
    }
    any = true;
    visitEvents(buf, got, visit);
  }
  return overrun ? 'overrun' : any;
}

function run(): void {
  let c: NetlinkLibc;
  let fd: number;
  try {
    c = netlinkLibc();
    fd = openConnectorSocket(c, init.rcvbuf);
  } catch (e) {
    post({ type: 'failed', reason: e instanceof Error ? e.message : String(e) });
    return;
  }
  fds.writeInt32LE(fd, 0);
  fds.writeInt16LE(POLLIN, 4);
  fds.writeInt32LE(init.wakeFd, 8);
  fds.writeInt16LE(POLLIN, 12);
  try {
    const ack = (Math.random() * 0x3fff_ffff) | 0;
    sendSubscription(c, fd, subscribeMessage('listen', ack));
    const answer = awaitAck(c, fd, ack + 1);
    if (answer === 'stopped') return;
    if (answer === undefined) {
      post({
        type: 'failed',
        reason: `no answer to the subscription within ${ACK_MS} ms (the agent must run in the initial PID and user namespaces)`,
      });
      return;
    }
    if (answer !== 0) {
      post({
        type: 'failed',
        reason: new ConnectorError('subscription (PROC_CN_MCAST_LISTEN)', answer).message,
      });
      return;
    }
    // Linux 6.6+: only execs and exits from now on (earlier kernels ignore this form).
    sendSubscription(c, fd, subscribeMessage('listen', ack + 2, ProcEvent.EXEC | ProcEvent.EXIT));
    post({ type: 'ready' });
    for (;;) {
      if (wait(c, 2, IDLE_POLL_MS)) return;
      const got = drain(c, fd, keep);
      if (!got) continue;
      if (latest.size > 0 || got === 'overrun') {
        const execs: number[] = [];
        const exits: number[] = [];
        for (const [pid, what] of latest) (what === ProcEvent.EXEC ? execs : exits).push(pid);
        latest.clear();
        post({ type: 'batch', execs, exits, overrun: got === 'overrun' });
      }
      // Let a burst gather in the socket's buffer (a stop still wakes us at once).
      if (wait(c, 1, init.coalesceMs)) return;
    }
  } catch (e) {
    post({ type: 'failed', reason: e instanceof Error ? e.message : String(e) });
  } finally {
    try {
      sendSubscription(c, fd, subscribeMessage('ignore', 0)); // else the kernel counts a listener that is gone
    } catch {
      // The socket is closed next either way.
    }
    c.close(fd);
  }
}

/** Waits for the kernel's answer to our subscription: its error (0: accepted), undefined when none came. */
function awaitAck(c: NetlinkLibc, fd: number, want: number): number | 'stopped' | undefined {
  const deadline = Date.now() + ACK_MS;
  let answer: number | undefined;
  const find = (what: number, _pid: number, _tgid: number, ack: number, err: number): void => {
    if (what === ProcEvent.NONE && ack === want) answer = err;
  };
  for (let left = ACK_MS; left > 0 && answer === undefined; left = deadline - Date.now()) {
    if (wait(c, 2, left)) return 'stopped';
    drain(c, fd, find);
  }
  return answer;
}

run();
