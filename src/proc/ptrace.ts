/**
 * Thin ptrace wrappers over libc: seize, interrupt, wait for a stop and say what kind it is,
 * read registers, detach (re-injecting a held signal) and reap threads that died traced.
 */
import { Errno, libc } from './libc.js';
import { decodeUserRegs, type Registers, USER_REGS_SIZE } from './regs.amd64.js';

const PTRACE_GETREGS = 12;
const PTRACE_DETACH = 17;
const PTRACE_GETSIGINFO = 0x4202;
const PTRACE_SEIZE = 0x4206;
const PTRACE_INTERRUPT = 0x4207;
const PTRACE_EVENT_STOP = 128;
/** waitpid options. */
const WNOHANG = 1;
const WALL = 0x40000000;
/** Signals whose delivery starts a group-stop. */
const STOP_SIGNALS = new Set([19, 20, 21, 22]); // SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU

/** Result of a ptrace request: ok, or the errno it failed with. */
export type PtraceResult = { ok: true } | { ok: false; errno: number };

function result(r: number): PtraceResult {
  return r === -1 ? { ok: false, errno: libc().errno() } : { ok: true };
}

/** PTRACE_SEIZE: become the thread's tracer without stopping it or sending it anything. */
export function seize(tid: number): PtraceResult {
  return result(libc().ptraceWord(PTRACE_SEIZE, tid, 0, 0));
}

/** PTRACE_INTERRUPT: ask a seized thread to stop (no signal is involved). */
export function interrupt(tid: number): PtraceResult {
  return result(libc().ptraceWord(PTRACE_INTERRUPT, tid, 0, 0));
}

/** PTRACE_DETACH: let the thread run on, delivering `signal` (0 for none) as it resumes. */
export function detach(tid: number, signal: number): PtraceResult {
  return result(libc().ptraceWord(PTRACE_DETACH, tid, 0, signal));
}

/** What a waitpid on one traced thread reported. */
export type WaitOutcome =
  /** Nothing yet (WNOHANG). */
  | { kind: 'running' }
  /** The PTRACE_EVENT_STOP our interrupt asked for. */
  | { kind: 'interrupt-stop' }
  /** A group-stop (someone sent SIGSTOP/SIGTSTP/...); the kernel keeps the group stopped after detach. */
  | { kind: 'group-stop'; signal: number }
  /** A signal-delivery-stop: `signal` was dequeued and is ours to re-inject on detach. */
  | { kind: 'signal-stop'; signal: number }
  /** The thread exited or was killed (or is no longer our tracee). */
  | { kind: 'gone' };

/** Decodes a waitpid status word of a seized tracee. */
export function decodeWaitStatus(status: number): WaitOutcome {
  if ((status & 0xff) === 0x7f) {
    const sig = (status >> 8) & 0xff;
    const event = (status >> 16) & 0xff;
    if (event === PTRACE_EVENT_STOP) {
      return STOP_SIGNALS.has(sig) ? { kind: 'group-stop', signal: sig } : { kind: 'interrupt-stop' };
    }
    return { kind: 'signal-stop', signal: sig };
  }
  return { kind: 'gone' }; // exited (low 7 bits 0) or killed by a signal
}

/** Polls one traced thread once (never blocks). */
export function pollStop(tid: number): WaitOutcome {
  const lib = libc();
  const status: [number] = [0];
  for (;;) {
    const r = lib.waitpid(tid, status, WALL | WNOHANG);
    if (r === 0) return { kind: 'running' };
    if (r === tid) return decodeWaitStatus(status[0]);
    const errno = lib.errno();
    if (errno === Errno.EINTR) continue;
    return { kind: 'gone' }; // ECHILD: not (or no longer) our tracee
  }
}

/** Collects the exit of a thread that died while traced, so its real parent hears of it; true when reaped. */
export function reap(tid: number): boolean {
  const o = pollStop(tid);
  return o.kind === 'gone';
}

const regsBuf = Buffer.alloc(USER_REGS_SIZE);

/** PTRACE_GETREGS of a stopped thread; undefined when the thread is gone. */
export function getRegs(tid: number): Registers | undefined {
  if (libc().ptraceBuf(PTRACE_GETREGS, tid, 0, regsBuf) === -1) return undefined;
  return decodeUserRegs(regsBuf);
}

const siginfoBuf = Buffer.alloc(128);
/** si_code of the siginfo a PTRACE_EVENT_STOP reports: SIGTRAP | PTRACE_EVENT_STOP << 8. */
const EVENT_STOP_CODE = 5 | (PTRACE_EVENT_STOP << 8);

/**
 * What stop a traced thread is in, asked of the thread itself (PTRACE_GETSIGINFO) rather
 * than of waitpid: for a stop whose waitpid status someone else consumed. A thread that is
 * our child's main thread reports its stops to waitpid(its pid), and Node's own child
 * reaping (libuv, on the main thread) calls that while a pause runs on a worker thread
 * (libuv then also takes that status for the child's exit). 'running' when the thread is not
 * in a ptrace stop (or not ours).
 */
export function stopWithoutStatus(tid: number): WaitOutcome {
  const lib = libc();
  if (lib.ptraceBuf(PTRACE_GETSIGINFO, tid, 0, siginfoBuf) === -1) {
    // EINVAL: a group-stop (it has no siginfo); ESRCH: not stopped, or not ours.
    return lib.errno() === Errno.EINVAL ? { kind: 'group-stop', signal: 0 } : { kind: 'running' };
  }
  const signo = siginfoBuf.readInt32LE(0);
  const code = siginfoBuf.readInt32LE(8);
  return code === EVENT_STOP_CODE && signo === 5
    ? { kind: 'interrupt-stop' }
    : { kind: 'signal-stop', signal: signo };
}

/** The signal to re-inject when detaching a thread in this stop: a dequeued signal, else `held` (0 for none). */
export function signalToReinject(o: WaitOutcome, held: number): number {
  return o.kind === 'signal-stop' ? o.signal : held;
}
