/**
 * Test helper run as a separate Node process: holds one thread of another process (a copy
 * helper thread of the test) at the entry of its next process_vm_readv, as if the kernel did
 * not run it for a while, before it has copied anything. The thread is traced with
 * PTRACE_SEIZE and run from system call to system call (PTRACE_SYSCALL) until then; every
 * other stop is passed on (signals re-injected).
 *
 * `node thread-stall.js TID hold`: prints "seized", then "stalled" when the thread enters
 *   process_vm_readv, and lets it go on (detaches) at a "release" line on stdin.
 * `node thread-stall.js TID ms N`: the same, but lets it go N ms after it stalled.
 * `node thread-stall.js TID ms N kill PID`: the same, but first SIGKILLs process PID and
 *   waits until it is gone (a zombie or reaped), so the held read then meets a dead process.
 * Prints "released" after detaching, or "error ..." (exit status 3) when tracing fails.
 * If this process dies the kernel detaches the thread, which runs on.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Errno, libc } from '../src/proc/libc.js';

const PTRACE_SYSCALL = 24;
const PTRACE_DETACH = 17;
const PTRACE_SEIZE = 0x4206;
const PTRACE_INTERRUPT = 0x4207;
const PTRACE_GET_SYSCALL_INFO = 0x420e;
const PTRACE_O_TRACESYSGOOD = 1;
const PTRACE_SYSCALL_INFO_ENTRY = 1;
const WALL = 0x40000000;
const SIGTRAP = 5;
/** The system call number of process_vm_readv. */
const PROCESS_VM_READV: number | undefined = ({ x64: 310, arm64: 270 } as Record<string, number>)[
  process.arch
];

const tid = Number(process.argv[2]);
const mode = process.argv[3];
const holdMs = Number(process.argv[4]);
const killPid = process.argv[5] === 'kill' ? Number(process.argv[6]) : 0;
const lib = libc();

function fail(what: string): never {
  console.log(`error ${what} (errno ${lib.errno()})`);
  process.exit(3);
}

/** Waits for the thread's next stop; returns the waitpid status. */
function waitStop(): number {
  const status: [number] = [0];
  for (;;) {
    if (lib.waitpid(tid, status, WALL) === tid) return status[0];
    if (lib.errno() !== Errno.EINTR) fail('waitpid');
  }
}

/** Whether the thread is stopped at the entry of process_vm_readv. */
function atReadEntry(): boolean {
  const info = Buffer.alloc(88);
  if (lib.ptraceBuf(PTRACE_GET_SYSCALL_INFO, tid, info.length, info) === -1) fail('get syscall info');
  return info[0] === PTRACE_SYSCALL_INFO_ENTRY && Number(info.readBigUInt64LE(24)) === PROCESS_VM_READV;
}

/** Lets the thread go on: it enters the system call it is stopped at. */
function release(): void {
  if (lib.ptraceWord(PTRACE_DETACH, tid, 0, 0) === -1) fail('detach');
  console.log('released');
  process.exit(0);
}

/** Whether process `pid` has exited (a zombie or gone). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

if (PROCESS_VM_READV === undefined) fail(`unknown architecture ${process.arch}`);
if (lib.ptraceWord(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) === -1) fail('seize');
if (lib.ptraceWord(PTRACE_INTERRUPT, tid, 0, 0) === -1) fail('interrupt');
let signal = 0;
let announced = false;
for (;;) {
  const status = waitStop();
  if ((status & 0xff) !== 0x7f) fail('the thread exited');
  const sig = (status >> 8) & 0xff;
  const event = status >> 16;
  if (sig === (SIGTRAP | 0x80)) {
    if (atReadEntry()) break;
  } else if (event === 0) signal = sig; // a signal-delivery-stop: pass the signal on
  if (lib.ptraceWord(PTRACE_SYSCALL, tid, 0, signal) === -1) fail('syscall');
  signal = 0;
  if (!announced) {
    // The first stop was our interrupt's: from now on every system call is seen.
    announced = true;
    console.log('seized');
  }
}
console.log('stalled');
if (mode === 'hold') {
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim() === 'release') release();
    })
    .on('close', release);
} else {
  setTimeout(() => {
    if (killPid) {
      process.kill(killPid, 'SIGKILL');
      const until = Date.now() + 5000;
      while (!gone(killPid)) if (Date.now() > until) fail(`process ${killPid} did not exit`);
    }
    release();
  }, holdMs);
}
