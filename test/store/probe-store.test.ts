/**
 * Probe batches and snapshots written to one store at the same time (a server stores agents'
 * batches every second while a snapshot arrives): every write lands, events keep their order.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { ProbeBatchInput } from '../../src/store/store.js';
import type { Target } from '../../support/target.js';
import { freshDataDir, inputOf, openStore, startFixture, takeSnapshot } from './store-support.js';

let target: Target | undefined;
const dirs: string[] = [];

before(async () => {
  target = await startFixture('exprs');
});

after(async () => {
  await target?.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function batch(i: number): ProbeBatchInput {
  return {
    agentId: 'a1',
    events: [
      {
        probe: 'calls',
        process: 'h:1',
        timeUs: 1_700_000_000_000_000 + i,
        goroutine: 1,
        thread: 1,
        site: { kind: 'entry', function: 'main.handle' },
        values: { n: i },
      },
    ],
    counts: [],
    histograms: [],
    notices: [],
  };
}

test('probe batches and snapshots stored concurrently all land', async () => {
  const dir = freshDataDir();
  dirs.push(dir);
  const store = await openStore(dir);
  try {
    const snap = inputOf(takeSnapshot(target!.pid));
    const writes = await Promise.allSettled([
      store.addSnapshot(snap),
      ...Array.from({ length: 8 }, (_, i) => store.addProbeBatch(batch(i))),
      store.addSnapshot(snap),
      store.setSpec('programs: []\n', 'test', 'spec'),
    ]);
    assert.deepEqual(
      writes.flatMap((w) => (w.status === 'rejected' ? [String(w.reason)] : [])),
      [],
    );
    const events = await store.probeEvents({ after: 0, limit: 100 });
    assert.deepEqual(
      events.map((e) => [e.seq, e.values.n]),
      Array.from({ length: 8 }, (_, i) => [i + 1, i]),
    );
    assert.equal((await store.listSnapshots()).length, 2);
  } finally {
    store.close();
  }
});
