/**
 * Entry of the copy helper thread (started by copy-helper.ts): binds libc, then forever
 * waits for a job in the shared control block, claims blocks of ranges one at a time and
 * reads them with process_vm_readv straight into the poster's buffer (our memory, valid in
 * every thread). Spins instead of sleeping while armed, so a job posted during a pause
 * starts within microseconds.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  Ctl,
  type HelperInit,
  JobState,
  Num,
  type SharedRanges,
  type SharedRangesMessage,
} from './copy-helper-layout.js';
import { bufferAddress, type Libc, libc } from './libc.js';
import { ownTid } from './own-threads.js';
import { RangeReadState, ReadStatus, readRanges } from './vm-read-ranges.js';

const init = workerData as HelperInit;
const ctl = new Int32Array(init.control);
const num = new Float64Array(init.numbers);
const blocks = new Float64Array(init.blocks);
const blockDone = new Int32Array(init.blockDone);
const state = new RangeReadState();
let ranges: SharedRanges = {
  gen: 0,
  addresses: new Float64Array(0),
  sizes: new Float64Array(0),
  ok: new Uint8Array(0),
};

/** Takes the newest shared arrays off the port (posted before ARRAYS_GEN was bumped). */
function syncArrays(): void {
  const want = Atomics.load(ctl, Ctl.ARRAYS_GEN);
  while (ranges.gen !== want) {
    const got = receiveMessageOnPort(init.port);
    if (!got) return;
    const m = got.message as SharedRangesMessage;
    ranges = {
      gen: m.gen,
      addresses: new Float64Array(m.addresses),
      sizes: new Float64Array(m.sizes),
      ok: new Uint8Array(m.ok),
    };
  }
}

/** Claims and reads blocks until none is left, the poster cancels, or a read fails. */
function runJob(lib: Libc): void {
  syncArrays();
  if (ranges.gen !== Atomics.load(ctl, Ctl.ARRAYS_GEN)) return; // arrays not received: the poster reads everything
  const pid = Atomics.load(ctl, Ctl.PID);
  const gap = Atomics.load(ctl, Ctl.JOIN_GAP);
  const n = Atomics.load(ctl, Ctl.BLOCKS);
  const seq = Atomics.load(ctl, Ctl.JOB_SEQ);
  const dest = num[Num.DEST]!;
  state.ensureScratch(gap);
  let bytesRead = 0;
  let gapBytes = 0;
  let calls = 0;
  for (;;) {
    if (Atomics.load(ctl, Ctl.STATE) === JobState.Cancel) break;
    const b = Atomics.add(ctl, Ctl.NEXT_BLOCK, 1);
    if (b >= n) break;
    // Small integers, as in warmUp (doubles from the Float64Array would deoptimize readRanges).
    const first = blocks[b * 2]! | 0;
    const end = blocks[b * 2 + 2]! | 0;
    state.bytesRead = 0;
    state.gapBytes = 0;
    state.calls = 0;
    const st = readRanges(
      lib,
      pid,
      ranges.addresses,
      ranges.sizes,
      first,
      end,
      dest,
      blocks[b * 2 + 1]! | 0,
      ranges.ok,
      gap,
      state,
    );
    calls += state.calls;
    if (st !== ReadStatus.Done) {
      break; // the poster reads this block again (and meets the same error)
    }
    bytesRead += state.bytesRead;
    gapBytes += state.gapBytes;
    Atomics.store(blockDone, b, seq);
  }
  num[Num.BYTES_READ] = bytesRead;
  num[Num.GAP_BYTES] = gapBytes;
  num[Num.CALLS] = calls;
}

/**
 * Runs readRanges on our own memory until the JIT has compiled it: a cold helper would
 * otherwise read its first blocks in the interpreter, at a fraction of the poster's speed.
 */
function warmUp(lib: Libc): void {
  const src = Buffer.alloc(64 << 10);
  const dst = Buffer.alloc(64 << 10);
  const n = 1000;
  // Over shared memory, like the ranges of a job.
  const addresses = new Float64Array(new SharedArrayBuffer(n * 8));
  const sizes = new Float64Array(new SharedArrayBuffer(n * 8));
  const ok = new Uint8Array(new SharedArrayBuffer(n));
  const base = bufferAddress(src);
  for (let i = 0; i < n; i++) {
    addresses[i] = base + i * 64 + (i % 3) * 8;
    sizes[i] = 16 + (i % 5) * 8;
  }
  const warm = new RangeReadState();
  warm.ensureScratch(64);
  for (let round = 0; round < 40; round++)
    readRanges(lib, process.pid, addresses, sizes, 0, n, bufferAddress(dst), 0, ok, round & 1 ? 64 : 0, warm);
}

/** The CPUs this thread may use, read once. */
let allowed: number[] | undefined;

/**
 * The helper's own move off the poster's CPU once it wakes (SELF_PLACE, for comparisons):
 * too late when the poster runs SCHED_FIFO on the CPU the helper was woken on, since the
 * helper then waits there for the whole pause (copy-helper.ts, placeHelper).
 */
function moveOffPoster(lib: Libc, cpu: number): void {
  allowed ??= lib.threadCpus();
  if (allowed.length < 2) return;
  const others = cpu < 0 ? allowed : allowed.filter((c) => c !== cpu);
  if (others.length > 0) lib.setThreadCpus(others);
}

function main(): void {
  let lib: Libc;
  try {
    lib = libc();
    warmUp(lib);
  } catch {
    return; // READY stays 0: the poster never uses this helper
  }
  Atomics.store(ctl, Ctl.HELPER_TID, ownTid() ?? 0);
  Atomics.store(ctl, Ctl.READY, 1);
  Atomics.notify(ctl, Ctl.READY);
  // The poster keeps its process alive until this (a process exiting while this thread loads
  // the native libc binding aborts).
  parentPort?.postMessage('ready');
  let seenArm = Atomics.load(ctl, Ctl.ARM_SEQ);
  let spinUntil = 0;
  let spinning = 0;
  for (;;) {
    const wake = Atomics.load(ctl, Ctl.WAKE);
    const arm = Atomics.load(ctl, Ctl.ARM_SEQ);
    if (arm !== seenArm) {
      seenArm = arm;
      // The latest arm decides: arming for 0 ms stops the spinning (disarm after a pause).
      spinUntil = performance.now() + Atomics.load(ctl, Ctl.ARM_MS);
      if (Atomics.load(ctl, Ctl.SELF_PLACE) === 1) moveOffPoster(lib, Atomics.load(ctl, Ctl.POSTER_CPU));
    }
    if (
      Atomics.load(ctl, Ctl.STATE) === JobState.Posted &&
      Atomics.compareExchange(ctl, Ctl.STATE, JobState.Posted, JobState.Taken) === JobState.Posted
    ) {
      try {
        runJob(lib);
      } catch {
        // Nothing may escape: the poster re-reads every block not marked done.
      }
      Atomics.store(ctl, Ctl.STATE, JobState.Idle);
      Atomics.notify(ctl, Ctl.STATE);
      continue;
    }
    if (spinUntil > 0) {
      if (performance.now() < spinUntil) {
        if (spinning === 0) {
          spinning = 1;
          Atomics.store(ctl, Ctl.SPINNING, 1);
        }
        // A polite spin: any runnable thread on this CPU goes first (during the stop, the
        // target's threads must run to reach their stops).
        lib.schedYield();
        continue;
      }
      spinUntil = 0;
    }
    if (spinning === 1) {
      spinning = 0;
      Atomics.store(ctl, Ctl.SPINNING, 0);
    }
    Atomics.wait(ctl, Ctl.WAKE, wake);
  }
}

main();
