/**
 * Changing a process's probes in place (the agent's probe thread, testdata/probe-values): a
 * probe counting a steadily called function keeps its programs and loses no call, and its
 * counters run on, while another probe on the same function is added and removed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { startTarget } from '../../support/target.js';
import { entryProbe, startProbeThread, total } from './probe-thread.js';

const CALLS = 600;

test('adding and removing a probe leaves the other probes of the process untouched', async () => {
  const bin = await fixtureBinary();
  const target = await startTarget(bin.path);
  const thread = startProbeThread();
  try {
    const pid = target.pid;
    const steady = entryProbe('steady', 'main.sleepy', ['ms']);
    const other = entryProbe('other', 'main.sleepy', ['ms']);
    const attached = () => [...(thread.status(pid)?.attached ?? [])].sort().join(',');
    thread.want(pid, [steady]);
    await thread.until('steady attached', () => attached() === 'steady');
    const before = [...thread.status(pid)!.programIds];
    assert.ok(before.length > 0);
    const since = performance.now();
    target.child.stdin!.write(`sleepy ${CALLS} 2\n`);
    const of = (name: string) => thread.events.filter((e) => e.probe === name).length;
    await thread.until('events of steady', () => of('steady') >= 50);

    thread.want(pid, [steady, other]);
    await thread.until('other attached', () => attached() === 'other,steady');
    const both = thread.status(pid)!.programIds;
    for (const id of before)
      assert.ok(both.includes(id), `steady's program ${id} stays while other is added`);
    await thread.until('events of other', () => of('other') >= 20);

    thread.want(pid, [steady]);
    await thread.until('other removed', () => attached() === 'steady');
    assert.deepEqual(
      thread.status(pid)!.programIds,
      before,
      "steady's programs are the ones it started with",
    );
    const done = await target.waitFor(/^done sleepy/, 120_000, since);
    assert.ok(of('other') < CALLS, 'other was on for part of the calls only');

    // Every call made while steady was on: an event each, and hits counted across the change.
    await thread
      .until(
        'every event and count of steady',
        // Counters and events come in separate batches (events every 250 ms): wait for both.
        () => total(thread.counts, 'steady', 'hits') >= CALLS && of('steady') >= CALLS,
        10_000,
      )
      .catch(() => {}); // the assertions below say what is missing
    assert.ok(done);
    assert.equal(of('steady'), CALLS, 'an event of steady for every call');
    assert.equal(total(thread.counts, 'steady', 'hits'), CALLS, 'steady counted every call');
    assert.equal(total(thread.counts, 'steady', 'events'), CALLS);
  } finally {
    await thread.close();
    await target.kill();
  }
});
