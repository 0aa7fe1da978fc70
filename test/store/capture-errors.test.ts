/**
 * A spec entry a binary cannot capture is kept in the snapshot as a `capture_errors` row
 * (function, column, expression, where in the spec, why) next to everything that was
 * captured; it exports and imports with the snapshot, and an export written before the
 * table existed still imports.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import type { DuckDBStore } from '../../src/store/duckdb-store.js';
import { freshDataDir, inputOf, objects, openStore, startFixture, takeSnapshot } from './store-support.js';

const SPEC = `functions:
  - function: main.park
    table: parked
    capture:
      name: srv.Name
      typo: srv.Nmae
      n: n
`;

let store: DuckDBStore;
let snap: ProcessSnapshot;
let id: number;

before(async () => {
  store = await openStore(freshDataDir());
  const e = await startFixture('exprs');
  try {
    snap = takeSnapshot(e.pid, SPEC);
  } finally {
    await e.kill();
  }
  await store.setSpec(SPEC, 'tester', 'spec.yaml');
  id = await store.addSnapshot(inputOf(snap, SPEC));
});

after(() => store.close());

test('capture_errors holds what did not fit; the rest of the function table is captured', async () => {
  const rows = objects(await store.query('SELECT * FROM capture_errors', { latest: true }));
  assert.equal(rows.length, 1);
  const r = rows[0]!;
  assert.deepEqual(
    [r.snapshot_id, r.process_id, r.function, r.table_name, r.column, r.expr, r.spec_line, r.spec_column],
    [id, `${hostname()}:${snap.pid}`, 'main.park', 'parked', 'typo', 'srv.Nmae', 6, 17],
  );
  assert.match(String(r.error), /^no field Nmae in main\.Server; its fields: /);
  const parked = objects(await store.query('SELECT name, typo, n FROM parked', { latest: true }));
  assert.deepEqual(parked, [{ name: 'alpha', typo: null, n: 4 }]);
  // The process is there, without an error.
  const p = objects(await store.query('SELECT error, goroutine_count FROM processes', { latest: true }));
  assert.equal(p[0]!.error, null);
  assert.ok(Number(p[0]!.goroutine_count) > 0);
});

test('capture_errors exports and imports with its snapshot; an export from before the table still imports', async () => {
  const out = freshDataDir();
  const path = join(out, 'snap');
  await store.exportSnapshot(id, 'parquet', path);
  const target = await openStore(freshDataDir());
  try {
    await target.importSnapshot(path);
    const q = 'SELECT * EXCLUDE (snapshot_id) FROM capture_errors ORDER BY ALL';
    assert.deepEqual(
      (await target.query(q, { latest: true })).rows,
      (await store.query(q, { snapshot: id })).rows,
    );
    // An export written before capture_errors existed has no such file.
    rmSync(join(path, 'capture_errors.parquet'));
    const again = await target.importSnapshot(path);
    const none = await target.query('SELECT count(*) FROM capture_errors', { snapshot: again.snapshotId });
    assert.deepEqual(none.rows, [[0]]);
    const g = await target.query('SELECT count(*) FROM goroutines', { snapshot: again.snapshotId });
    assert.ok(Number(g.rows[0]![0]) > 0);
  } finally {
    target.close();
  }
});
