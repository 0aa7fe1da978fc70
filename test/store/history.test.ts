import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDataDir, inputOf, objects, openStore, startFixture, takeSnapshot } from './store-support.js';

const V1 = `functions:
  - function: main.park
    table: parked
    capture:
      n: n
      server: srv.Name
`;

// v2 captures n again under a new name, adds an SQL column over it, and a new expression.
const V2 = `functions:
  - function: main.park
    table: parked
    capture:
      n: n
      num: n
      server: srv.Name
      count: count
    columns:
      n_plus_one: n + 1
      shout: upper(server)
`;

test("the current spec's tables apply to old snapshots", async () => {
  const store = await openStore(freshDataDir());
  const t = await startFixture('exprs');
  try {
    const v1 = await store.setSpec(V1, 'ann', 'v1.yaml');
    assert.deepEqual(v1, { version: 1, changed: true, warnings: [] });
    const old = await store.addSnapshot(inputOf(takeSnapshot(t.pid, V1), V1));
    const before = await store.query('SELECT * FROM parked', { snapshot: old });
    assert.deepEqual(
      before.columns.map((c) => c.name),
      ['snapshot_id', 'process_id', 'goroutine_id', 'depth', 'n', 'server'],
    );

    const v2 = await store.setSpec(V2, 'bob', 'v2.yaml');
    assert.equal(v2.version, 2);
    const again = await store.query('SELECT n, num, n_plus_one, shout, count FROM parked', { snapshot: old });
    assert.deepEqual(objects(again), [{ n: 4, num: 4, n_plus_one: 5, shout: 'ALPHA', count: null }]);

    const fresh = await store.addSnapshot(inputOf(takeSnapshot(t.pid, V2), V2));
    const now = await store.query('SELECT count FROM parked', { snapshot: fresh });
    assert.deepEqual(now.rows, [[7]]);
    const specOf = await store.query('SELECT snapshot_id, spec_version FROM snapshots ORDER BY 1', {
      all: true,
    });
    assert.deepEqual(specOf.rows, [
      [old, 1],
      [fresh, 2],
    ]);
  } finally {
    await t.kill();
  }

  const unchanged = await store.setSpec(V2, 'bob', 'v2.yaml');
  assert.deepEqual(unchanged, { version: 2, changed: false, warnings: [] });
  const log = await store.specLog();
  assert.deepEqual(
    log.map((v) => [v.version, v.author]),
    [
      [1, 'ann'],
      [2, 'bob'],
    ],
  );
  assert.match(log[0]!.diff, /^--- \/dev\/null\n\+\+\+ spec version 1\n@@ -0,0 \+1,6 @@\n\+functions:/);
  assert.equal(
    log[1]!.diff,
    [
      '--- spec version 1',
      '+++ spec version 2',
      '@@ -3,4 +3,9 @@',
      '     table: parked',
      '     capture:',
      '       n: n',
      '+      num: n',
      '       server: srv.Name',
      '+      count: count',
      '+    columns:',
      '+      n_plus_one: n + 1',
      '+      shout: upper(server)',
      '',
    ].join('\n'),
  );
  assert.equal((await store.specVersion(1))?.yaml, V1);
  assert.match(log[1]!.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  store.close();
});

test('a query across three snapshots: goroutines blocked in all of them', async () => {
  const store = await openStore(freshDataDir());
  const t = await startFixture('goroutines');
  const snaps = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = takeSnapshot(t.pid);
      snaps.push(s);
      await store.addSnapshot(inputOf(s, '', { round: String(i) }));
    }
  } finally {
    await t.kill();
  }
  const blockedIn = snaps.map(
    (s) => new Set(s.goroutines.filter((g) => g.status === 'waiting').map((g) => g.id)),
  );
  const want = [...blockedIn[0]!].filter((id) => blockedIn.every((b) => b.has(id))).sort((a, b) => a - b);
  const sql = `
    WITH last AS (SELECT snapshot_id FROM snapshots ORDER BY snapshot_id DESC LIMIT 3)
    SELECT goroutine_id FROM goroutines
    WHERE snapshot_id IN (SELECT snapshot_id FROM last) AND status = 'waiting'
    GROUP BY process_id, goroutine_id HAVING count(*) = 3 ORDER BY goroutine_id`;
  const all = await store.query(sql, { all: true });
  assert.ok(want.length > 5, 'the zoo keeps goroutines blocked');
  assert.deepEqual(
    all.rows.map((r) => r[0]),
    want,
  );
  assert.deepEqual(all.snapshotIds, [1, 2, 3]);
  // Without --all, only the latest snapshot is visible.
  const latest = await store.query('SELECT count(*), min(snapshot_id) FROM goroutines', { latest: true });
  assert.deepEqual(latest.rows, [[snaps[2]!.goroutines.length, 3]]);
  const per = await store.query('SELECT snapshot_id, count(*) FROM goroutines GROUP BY 1 ORDER BY 1', {
    all: true,
  });
  assert.deepEqual(
    per.rows,
    snaps.map((s, i) => [i + 1, s.goroutines.length]),
  );
  store.close();
});
