/**
 * Before a pause, the pausing thread waits for this process's other threads to stop running
 * (proc/own-threads.ts): V8's helpers sweeping after the collection made just before the
 * pause, running during the stop, took the CPU the target's threads needed to stop. Checked
 * with a worker thread of ours that keeps a CPU busy, and through a real pause.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { settleOwnThreads } from '../../src/proc/own-threads.js';
import { pauseAndCopy } from '../../src/snapshot/paused-capture.js';
import { prepareProcess } from '../../src/snapshot/take-snapshot.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget } from '../../support/target.js';

/**
 * A worker that spins for `spinMs` (or until told to stop when spinMs is 0), then sleeps until
 * terminated. state[0]: 1 spinning, 2 done; state[1]: stop request; end[0]: Date.now() at the end.
 */
function spinner(spinMs: number): {
  worker: Worker;
  state: Int32Array;
  end: Float64Array;
  started: Promise<void>;
} {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const end = new Float64Array(new SharedArrayBuffer(8));
  const worker = new Worker(
    `const { workerData: { state, end, spinMs } } = require('node:worker_threads');
     Atomics.store(state, 0, 1); Atomics.notify(state, 0);
     const until = Date.now() + spinMs;
     while (spinMs === 0 ? Atomics.load(state, 1) === 0 : Date.now() < until) {}
     end[0] = Date.now();
     Atomics.store(state, 0, 2);
     Atomics.wait(state, 1, 5);`,
    { eval: true, workerData: { state, end, spinMs } },
  );
  const started = new Promise<void>((resolve) => {
    const look = (): void => {
      if (Atomics.load(state, 0) !== 0) resolve();
      else setTimeout(look, 1);
    };
    look();
  });
  return { worker, state, end, started };
}

test('waits for another thread of ours that is running, and returns once it is not', async () => {
  const s = spinner(150);
  try {
    await s.started;
    const r = settleOwnThreads(10_000);
    assert.equal(r.idle, true);
    assert.equal(Atomics.load(s.state, 0), 2, 'the spinning thread had finished');
    assert.ok(r.looks > 1, `it looked more than once (${r.looks})`);
  } finally {
    await s.worker.terminate();
  }
  assert.equal(settleOwnThreads(1000).idle, true, 'nothing else runs now');
});

test('gives up at its limit when a thread of ours keeps running', async () => {
  const s = spinner(0);
  try {
    await s.started;
    const r = settleOwnThreads(30);
    assert.equal(r.idle, false);
    assert.ok(r.waitedMs >= 30, `waited ${r.waitedMs} ms`);
  } finally {
    Atomics.store(s.state, 1, 1);
    await s.worker.terminate();
  }
});

test('a pause starts only once our other threads have stopped running', async () => {
  const { path } = await buildFixture('goroutines');
  const child = await startTarget(path);
  const before = process.env.PERISCOPE_SETTLE_MS;
  process.env.PERISCOPE_SETTLE_MS = '10000'; // the default (20 ms) is shorter than this spin
  const plan = prepareProcess(child.pid); // loading the binary first: it takes longer than the spin
  const s = spinner(200);
  try {
    await s.started;
    const copied = pauseAndCopy(child.pid, plan);
    assert.equal(Atomics.load(s.state, 0), 2, 'the busy thread was done before the pause');
    assert.ok(copied.startedAtMs >= s.end[0]!, `pause at ${copied.startedAtMs}, busy until ${s.end[0]}`);
  } finally {
    if (before === undefined) delete process.env.PERISCOPE_SETTLE_MS;
    else process.env.PERISCOPE_SETTLE_MS = before;
    await s.worker.terminate();
    await child.kill();
  }
});

test('a batch that waited once pauses each process without waiting again', async () => {
  const { path } = await buildFixture('goroutines');
  const child = await startTarget(path);
  const before = process.env.PERISCOPE_SETTLE_MS;
  process.env.PERISCOPE_SETTLE_MS = '10000';
  const plan = prepareProcess(child.pid);
  const s = spinner(0); // busy until told: a thread of ours that stays busy
  try {
    await s.started;
    const t0 = performance.now();
    pauseAndCopy(child.pid, plan, {}, { collect: false, settle: false });
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `paused without waiting out the busy thread (${ms.toFixed(0)} ms)`);
    assert.equal(Atomics.load(s.state, 0), 1, 'the busy thread was still running');
  } finally {
    Atomics.store(s.state, 1, 1);
    if (before === undefined) delete process.env.PERISCOPE_SETTLE_MS;
    else process.env.PERISCOPE_SETTLE_MS = before;
    await s.worker.terminate();
    await child.kill();
  }
});
