import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DuckDBStore } from '../../src/store/duckdb-store.js';
import type { QueryScope } from '../../src/store/store.js';
import { freshDataDir, inputOf, openStore, startFixture, takeSnapshot } from './store-support.js';

const SPEC = `functions:
  - function: main.call
    table: client_calls
    capture: { local: local, remote: remote, id: id }
  - function: main.handle
    table: server_handlers
    capture: { local: local, remote: remote, id: id }
    columns: { client_id: id - 100 }
derived:
  - name: call_pairs
    sql: SELECT c.snapshot_id, c.id AS client_id, h.id AS server_id FROM client_calls c JOIN server_handlers h ON c.snapshot_id = h.snapshot_id AND c.local = h.remote
links:
  - name: tcp
    description: client to server
    from: { table: client_calls, columns: [local, remote] }
    to: { table: server_handlers, columns: [remote, local] }
`;

const TABLES = [
  'snapshots',
  'processes',
  'goroutines',
  'frames',
  'stacks',
  'captured',
  'spec_versions',
  'client_calls',
  'server_handlers',
  'call_pairs',
  'links',
];

let source: DuckDBStore;
let exported: number;
const out = freshDataDir();

before(async () => {
  source = await openStore(freshDataDir());
  await source.setSpec(SPEC, 'tester', 'spec.yaml');
  const t = await startFixture('linkpair');
  try {
    await source.addSnapshot(inputOf(takeSnapshot(t.pid, SPEC), SPEC, { n: '1' }));
    exported = await source.addSnapshot(inputOf(takeSnapshot(t.pid, SPEC), SPEC, { n: '2' }));
  } finally {
    await t.kill();
  }
});

after(() => source.close());

async function dump(store: DuckDBStore, scope: QueryScope, table: string) {
  const r = await store.query(`SELECT * FROM ${table} ORDER BY ALL`, scope);
  return { columns: r.columns, rows: r.rows };
}

for (const format of ['duckdb', 'parquet'] as const) {
  test(`export as ${format} -> import into a fresh data dir: every table's rows are identical`, async () => {
    const path = join(out, `snap.${format}`);
    await source.exportSnapshot(exported, format, path);
    if (format === 'parquet') {
      const files = readdirSync(path).sort();
      for (const t of TABLES) assert.ok(files.includes(`${t}.parquet`), `${t}.parquet in ${files.join(' ')}`);
    } else assert.ok(existsSync(path));
    const target = await openStore(freshDataDir());
    try {
      const r = await target.importSnapshot(path);
      assert.deepEqual(r, { snapshotId: exported, specVersionsImported: 1 });
      for (const t of TABLES) {
        const want = await dump(source, { snapshot: exported }, t);
        assert.ok(want.rows.length > 0, `${t} has rows`);
        assert.deepEqual(await dump(target, { latest: true }, t), want, t);
      }
      // Imported again, the id is taken: it gets the next one, with the same rows.
      const again = await target.importSnapshot(path);
      assert.deepEqual(again, { snapshotId: exported + 1, originalId: exported, specVersionsImported: 0 });
      const a = await target.query('SELECT * EXCLUDE (snapshot_id) FROM goroutines ORDER BY ALL', {
        snapshot: exported + 1,
      });
      const b = await source.query('SELECT * EXCLUDE (snapshot_id) FROM goroutines ORDER BY ALL', {
        snapshot: exported,
      });
      assert.deepEqual(a.rows, b.rows);
    } finally {
      target.close();
    }
  });
}

test('export refuses to overwrite, import refuses what is not an export', async () => {
  const path = join(out, 'twice.duckdb');
  await source.exportSnapshot(exported, 'duckdb', path);
  await assert.rejects(source.exportSnapshot(exported, 'duckdb', path), /already exists; give a new path/);
  await assert.rejects(source.importSnapshot(join(out, 'nope')), /does not exist/);
  await assert.rejects(source.importSnapshot(freshDataDir()), /not a Periscope Parquet export/);
  await assert.rejects(source.exportSnapshot(99, 'duckdb', join(out, 'x.duckdb')), /no snapshot 99/);
});
