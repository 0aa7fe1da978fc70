/**
 * The rehearsal of the pause on a throw-away child (proc/pause-rehearsal.ts): the child is
 * really paused (every thread stopped, registers read) and resumed, the stop and resume run
 * their path, and afterwards the child is gone: no process, no zombie, nothing of ours left
 * traced. Where `sleep` cannot be found nothing is rehearsed, and nothing throws.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { lastPauseRehearsal, rehearsePause } from '../../src/proc/pause-rehearsal.js';
import { childPids } from '../../support/proc.js';

test('a rehearsal pauses and resumes a throw-away child of ours, which is gone afterwards', () => {
  const before = childPids(process.pid);
  const r = rehearsePause({ capMs: 100 });
  assert.ok(r, 'a child was started (`sleep` is on this machine)');
  assert.equal(r.paused, 3, 'paused and resumed three times');
  assert.equal(r.threads, 1, '`sleep` has one thread, and it was stopped');
  assert.ok(
    r.stopNs.every((ns) => ns > 0) && r.resumeNs.every((ns) => ns > 0),
    `stop ${r.stopNs}, resume ${r.resumeNs}`,
  );
  assert.equal(r.reaped, true, 'its exit was collected');
  assert.deepEqual(lastPauseRehearsal(), r);
  // A zombie stays in its parent's children (and in /proc) until collected.
  assert.deepEqual(childPids(process.pid), before, 'no child of ours left (not even a zombie)');
  assert.equal(existsSync(`/proc/${r.pid}`), false, `child ${r.pid} is gone`);
});

test('without `sleep` nothing is rehearsed and nothing throws', () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const before = childPids(process.pid);
    assert.equal(rehearsePause({ capMs: 100 }), undefined);
    assert.deepEqual(childPids(process.pid), before);
  } finally {
    process.env.PATH = path;
  }
});
