/**
 * The first pause of a thread copies on two threads when the copy is large enough to share:
 * the warm-up before it waits for the copy helper thread, which a fresh process (a one-shot
 * `periscope snapshot --pid`) used to pause before it was up, copying on one thread, or with
 * the two-thread copy's code run for the first time inside the pause.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startPauseTarget } from '../../support/pause-target.js';

test("a fresh thread's warm-up leaves the copy helper ready for its first pause", async () => {
  const target = await startPauseTarget(10_000); // ~10 MB of stacks: shared with the helper
  try {
    const worker = new Worker(new URL('../../support/warm-up-worker.js', import.meta.url), {
      workerData: { pid: target.pid },
    });
    const got = await new Promise<{ ready: boolean; splits: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(got.ready, true, 'the copy helper takes jobs when the pause would start');
    // The two-thread copy ran in the warm-up: the pause does not run its code for the first time.
    assert.ok(got.splits > 0, `reads shared with the helper during the warm-up: ${got.splits}`);
  } finally {
    await target.stop();
  }
});
