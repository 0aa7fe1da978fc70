/**
 * The synthetic producer of the drain benchmark, on its own thread: runs a socket-filter
 * program that copies a real probe record into the ring buffer (BPF_PROG_TEST_RUN, `batch`
 * runs per call), paced to `rate` records per second for `ms` milliseconds. Posts how many
 * runs it made.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { addressOf, syscalls } from '../src/probes/bpf/syscalls.js';

const { progFd, rate, ms, batch } = workerData as { progFd: number; rate: number; ms: number; batch: number };
const sys = syscalls();
const data = Buffer.alloc(64);
const attr = Buffer.alloc(168);
attr.writeUInt32LE(progFd, 0);
attr.writeUInt32LE(data.length, 8);
attr.writeBigUInt64LE(addressOf(data), 16);
attr.writeUInt32LE(batch, 32);
const t0 = performance.now();
let runs = 0;
for (;;) {
  const elapsed = performance.now() - t0;
  if (elapsed >= ms) break;
  if (runs < (rate * elapsed) / 1000) {
    if (sys.bpf(10, attr) !== 0) throw new Error(`BPF_PROG_TEST_RUN: errno ${sys.errno()}`);
    runs += batch;
  }
}
parentPort!.postMessage({ runs, ms: performance.now() - t0 });
