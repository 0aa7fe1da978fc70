/**
 * The warm-up before a thread's first pause, in a fresh thread (support/warm-up-worker.ts: cold
 * code, no copy helper yet, as in a one-shot `periscope snapshot --pid`). It waits for the copy
 * helper when the copy is large enough to share (a fresh process used to pause before the
 * helper was up, copying on one thread, or with the two-thread copy's code run for the first
 * time inside the pause); it arms the helper for its full run and leaves it disarmed (asleep,
 * on every CPU again); it starts the pause's watchdog thread (whose start ran inside the first
 * pause); it learns the read plan of every spec'd frame, so that the pause
 * evaluates none (cold, the first frame alone outlasted the pause's 5 ms budget for values,
 * and the other was evaluated inside the pause); and it leaves its reserve for the pause.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startPauseTarget } from '../../support/pause-target.js';
import { childPids } from '../../support/proc.js';
import type { WarmUpReport } from '../../support/warm-up-worker.js';

async function warmUpInFreshThread(data: Record<string, unknown>): Promise<WarmUpReport> {
  const worker = new Worker(new URL('../../support/warm-up-worker.js', import.meta.url), {
    workerData: data,
  });
  try {
    return await new Promise<WarmUpReport>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

test("a fresh thread's warm-up leaves the copy helper ready for its first pause, asleep again", async () => {
  const target = await startPauseTarget(10_000); // ~10 MB of stacks: shared with the helper
  try {
    const got = await warmUpInFreshThread({ pid: target.pid });
    assert.equal(got.ready, true, 'the copy helper takes jobs when the pause would start');
    // The two-thread copy ran in the warm-up: the pause does not run its code for the first time.
    assert.ok(got.splits > 0, `reads shared with the helper during the warm-up: ${got.splits}`);
    // Armed for the warm-up's full run (placed off this thread's CPU), then disarmed.
    assert.notEqual(got.helperState, 'R', 'the helper does not spin after the warm-up');
    assert.equal(got.helperCpus, got.processCpus, 'the helper may run on every CPU again');
    // Its start (a Node worker booting) no longer runs during the first pause.
    assert.equal(got.watchdog, true, "the pause's watchdog thread is started by the warm-up");
    // The stop and resume ran on a throw-away child of ours, which is gone (no zombie either).
    assert.ok(got.rehearsal, 'the pause was rehearsed on a throw-away child');
    assert.equal(got.rehearsal.paused, 3, `rehearsal: ${JSON.stringify(got.rehearsal)}`);
    assert.equal(got.rehearsal.reaped, true);
    // A zombie stays in its parent's children (and in /proc) until collected.
    assert.ok(
      !childPids(process.pid).includes(got.rehearsal.pid),
      'the throw-away child is gone, not even a zombie',
    );
    assert.equal(existsSync(`/proc/${got.rehearsal.pid}`), false);
  } finally {
    await target.stop();
  }
});

test("a fresh thread's warm-up learns every spec'd frame: its first pause evaluates none, and reuses its reserve", async () => {
  const target = await startPauseTarget(1000);
  // Two connections the target's server waits on (net/http.(*conn).serve, a frame of the
  // built-in spec), beside its accept loop: spec'd frames at more than one pc.
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = connect(target.port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 100)); // the server's goroutines for them started
    const got = await warmUpInFreshThread({ pid: target.pid, builtIn: true, pool: true, pause: true });
    assert.ok((got.goroutinesWithValues ?? 0) >= 2, `goroutines with values: ${got.goroutinesWithValues}`);
    assert.ok((got.planned ?? 0) > 0, 'the pause read the frames by plan');
    assert.equal(got.evaluatedInPause, 0, 'no frame evaluated inside the pause: every plan was learned');
    assert.ok(got.pooledBytes > 0, "the warm-up's reserve is left for the pause");
  } finally {
    for (const s of sockets) s.destroy();
    await target.stop();
  }
});
