import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  cli,
  freshDataDir,
  inputOf,
  objects,
  openStore,
  startFixture,
  takeSnapshot,
} from './store-support.js';

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

// Line 7: a misspelled SQL function. `n - 100` is over a capture with no value stored yet
// (its type is unknown): that alone must not refuse the spec.
const MISSPELLED = `functions:
  - function: main.park
    table: parked
    capture: { n: n }
    columns: { n_minus: n - 100 }
derived:
  - name: per_n
    sql: SELECT n, coutn(*) AS c FROM parked GROUP BY n
`;

test('spec set refuses a derived table whose SQL does not build, at its line and column; --force stores it', async () => {
  const dir = freshDataDir();
  const store = await openStore(dir);
  try {
    await assert.rejects(store.setSpec(MISSPELLED, 'ann', 'starter.yaml'), (e: Error) => {
      assert.equal(
        e.message.split('\n').slice(0, 1)[0],
        'starter.yaml was not stored: a derived table or link does not build over the stored tables (fix the spec, or store it anyway with --force):',
      );
      assert.match(
        e.message.split('\n')[1]!,
        /^ {2}starter\.yaml:7:5: derived table "per_n": .*coutn does not exist/,
      );
      assert.equal(e.message.split('\n').length, 2, 'n - 100 over a capture without values is not a problem');
      return true;
    });
    assert.equal(await store.currentSpec(), undefined, 'nothing stored');
    const forced = await store.setSpec(MISSPELLED, 'ann', 'starter.yaml', { force: true });
    assert.equal(forced.version, 1);
    assert.match(forced.warnings[0]!, /^starter\.yaml:7:5: derived table "per_n"/);
    // Unchanged, it is not refused again (it is current already).
    assert.equal((await store.setSpec(MISSPELLED, 'ann', 'starter.yaml')).changed, false);
  } finally {
    store.close();
  }
});

test('periscope spec set and snapshot --spec --set-current refuse such a spec (non-zero, before any pause); spec set --force stores it', async () => {
  const dir = freshDataDir();
  const file = join(dir, 'starter.yaml');
  writeFileSync(file, MISSPELLED);
  const set = await cli('spec', 'set', file, '--data', dir);
  assert.equal(set.code, 1, set.stderr);
  assert.match(
    set.stderr,
    new RegExp(`^periscope: ${file} was not stored: .*\\n {2}${file}:7:5: derived table "per_n"`),
  );
  const t = await startFixture('exprs');
  try {
    const snap = await cli(
      'snapshot',
      '--pid',
      String(t.pid),
      '--spec',
      file,
      '--set-current',
      '--data',
      dir,
    );
    assert.equal(snap.code, 1, snap.stderr);
    assert.match(snap.stderr, /^periscope: nothing was captured: /);
    assert.equal(snap.stdout, '', 'no summary: nothing was paused');
    const forced = await cli('spec', 'set', file, '--data', dir, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, new RegExp(`warning: ${file}:7:5: derived table "per_n"`));
    // Now it is the current spec: a snapshot with it is taken and stored.
    const again = await cli(
      'snapshot',
      '--pid',
      String(t.pid),
      '--spec',
      file,
      '--set-current',
      '--data',
      dir,
    );
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await t.kill();
  }
});

// A one-off spec: its own table, a link, and a derived table named like a table of the team's spec.
const ONE_OFF = `functions:
  - function: main.park
    table: mine
    capture:
      n: n
      total: total
derived:
  - name: parked
    sql: SELECT n FROM mine
links:
  - name: self
    description: a frame of mine -> the frame of parked with the same n
    from: { table: mine, columns: [n] }
    to: { table: parked, columns: [n] }
`;

test("snapshot --spec FILE is a one-off: its tables show for that snapshot, the store's spec and old snapshots are untouched", async () => {
  const dir = freshDataDir();
  const team = join(dir, 'team.yaml');
  const mine = join(dir, 'mine.yaml');
  writeFileSync(team, V1);
  writeFileSync(mine, ONE_OFF);
  const t = await startFixture('exprs');
  try {
    assert.equal((await cli('spec', 'set', team, '--data', dir)).code, 0);
    const first = await cli('snapshot', '--pid', String(t.pid), '--data', dir);
    assert.equal(first.code, 0, first.stderr);
    const once = await cli('snapshot', '--pid', String(t.pid), '--spec', mine, '--data', dir);
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stderr, /captured snapshot 2 only: .* the store's spec \(version 1\) is unchanged/);
    const store = await openStore(dir);
    try {
      assert.equal((await store.currentSpec())?.version, 1, "the team's spec is still current");
      assert.equal((await store.specLog()).length, 1);
      // The old snapshot keeps the team's tables (no Catalog Error), and so does the one-off's
      // (the same expression n was captured: its value shows in the team's table too).
      const old = await store.query('SELECT server, n FROM parked', { snapshot: 1 });
      assert.deepEqual(objects(old), [{ server: 'alpha', n: 4 }]);
      assert.deepEqual(old.warnings, []);
      assert.deepEqual(objects(await store.query('SELECT server, n FROM parked', { snapshot: 2 })), [
        { server: null, n: 4 },
      ]);
      // The one-off's own table and link show for its snapshot (the latest), not for the old one.
      const own = await store.query('SELECT total FROM mine', { latest: true });
      assert.equal(own.rows.length, 1);
      assert.match(
        own.warnings.join('\n'),
        /derived table "parked" of the spec that captured snapshot 2 differs from the store's spec/,
      );
      assert.equal(
        (await store.query("SELECT * FROM links WHERE link = 'self'", { snapshot: 2 })).rows.length,
        1,
      );
      await assert.rejects(store.query('SELECT * FROM mine', { snapshot: 1 }), /mine/);
      // Across all snapshots: the team's table for both, the one-off's rows in its table.
      const all = await store.query('SELECT snapshot_id, n FROM parked ORDER BY 1', { all: true });
      assert.deepEqual(objects(all), [
        { snapshot_id: 1, n: 4 },
        { snapshot_id: 2, n: 4 },
      ]);
      // (A function table has a row per frame of its function: snapshot 1's has no values.)
      const mineAll = await store.query('SELECT snapshot_id, total IS NOT NULL FROM mine ORDER BY 1', {
        all: true,
      });
      assert.deepEqual(mineAll.rows, [
        [1, false],
        [2, true],
      ]);
    } finally {
      store.close();
    }
  } finally {
    await t.kill();
  }
});
