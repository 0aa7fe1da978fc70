/**
 * Export and import on the scaled-out store (real PostgreSQL, file:// objects, real snapshots
 * of a Go fixture): a snapshot exported from it imports into an embedded store with the same
 * rows, and an embedded store's export becomes a new snapshot that every server queries.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pgClient from 'pg';
import type { ProcessSnapshot } from '../../../src/snapshot/snapshot-types.js';
import type { DuckDBStore } from '../../../src/store/duckdb-store.js';
import { FileObjects } from '../../../src/store/file-objects.js';
import { SharedStore } from '../../../src/store/shared/shared-store.js';
import type { ExportFormat, SnapshotInput, Store } from '../../../src/store/store.js';
import { cli, freshDataDir, inputOf, openStore, startFixture, takeSnapshot } from '../store-support.js';
import { freshCacheDir, freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

// The linkpair fixture with function tables, a derived table and a link (as shared-store.test.ts).
const SPEC = `functions:
  - function: main.call
    table: client_calls
    capture:
      local: local
      remote: remote
      id: id
  - function: main.handle
    table: server_handlers
    capture:
      local: local
      remote: remote
      id: id
derived:
  - name: call_pairs
    sql: >
      SELECT c.snapshot_id, c.goroutine_id AS client_goroutine, h.goroutine_id AS server_goroutine
      FROM client_calls c JOIN server_handlers h
        ON c.snapshot_id = h.snapshot_id AND c.local = h.remote AND c.remote = h.local
links:
  - name: tcp
    from: { table: client_calls, columns: [local, remote] }
    to: { table: server_handlers, columns: [remote, local] }
`;

let pg: TestPostgres;
let snap: ProcessSnapshot;
let input: SnapshotInput;

before(async () => {
  pg = await startTestPostgres();
  const t = await startFixture('linkpair');
  try {
    snap = takeSnapshot(t.pid, SPEC);
  } finally {
    t.kill();
  }
  input = {
    ...inputOf(snap, SPEC, { team: 'core' }),
    createdAt: new Date('2026-01-01T00:00:00Z'),
    failed: [{ hostname: 'h2', pid: 7, error: 'gone' }],
  };
});

after(() => pg?.stop());

function outPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'periscope-export-')), name);
}

/** Each query's rows without the snapshot id, which differs between the stores. */
const QUERIES = [
  'SELECT labels, process_count, failed_processes, goroutine_count, created_at FROM snapshots',
  'SELECT process_id, program, error FROM processes ORDER BY process_id',
  'SELECT goroutine_id, status, top_function, stack_id FROM goroutines ORDER BY goroutine_id',
  'SELECT count(*), sum(line) FROM frames',
  'SELECT count(*) FROM stacks',
  'SELECT count(*) FROM captured',
  'SELECT goroutine_id, id FROM client_calls ORDER BY goroutine_id',
  'SELECT client_goroutine, server_goroutine FROM call_pairs ORDER BY 1',
  'SELECT from_goroutine_id, to_goroutine_id FROM links ORDER BY 1',
];

async function sameRows(got: Store, gotId: number, want: Store, wantId: number, what: string): Promise<void> {
  for (const sql of QUERIES) {
    const w = await want.query(sql, { snapshot: wantId });
    const g = await got.query(sql, { snapshot: gotId });
    assert.deepEqual(g.rows, w.rows, `${what}: ${sql}`);
    assert.ok(g.rows.length > 0, `${what}: ${sql} has rows`);
  }
}

test('a snapshot exported from the scaled-out store imports into an embedded store with the same rows', async () => {
  const url = pg.database('exp');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const stores: DuckDBStore[] = [];
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml');
    await a.addSnapshot(input);
    const id = await a.addSnapshot({ ...input, labels: { team: 'edge' } });
    for (const format of ['parquet', 'duckdb'] as ExportFormat[]) {
      const out = outPath(`snap.${format}`);
      // Exported by B, which never cached the snapshot: read from the objects.
      assert.deepEqual(await b.exportWithNotes(id, format, out), []);
      assert.deepEqual(b.cacheState().ids, [], 'the export does not go through the cache');
      const embedded = await openStore(freshDataDir());
      stores.push(embedded);
      const r = await embedded.importSnapshot(out);
      assert.deepEqual(r, { snapshotId: id, specVersionsImported: 1 });
      await sameRows(embedded, id, a, id, format);
      assert.deepEqual(await embedded.listSnapshots(), (await a.listSnapshots()).slice(1));
      assert.deepEqual(await embedded.specLog(), await a.specLog());
    }
    await assert.rejects(b.exportSnapshot(99, 'parquet', outPath('none')), /no snapshot 99 in postgres:/);
  } finally {
    a.close();
    b.close();
    for (const s of stores) s.close();
  }
});

test('an embedded store’s export becomes a new snapshot of the scaled-out store, queried on another server', async () => {
  const url = pg.database('imp');
  const objectsUrl = freshObjectsUrl();
  const embedded = await openStore(freshDataDir());
  const a = await SharedStore.open({ store: url, objects: objectsUrl, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects: objectsUrl, cacheDir: freshCacheDir() });
  try {
    await embedded.setSpec(SPEC, 'tester', 'spec.yaml');
    const eid = await embedded.addSnapshot(input);
    const out = outPath('snap.duckdb');
    await embedded.exportSnapshot(eid, 'duckdb', out);

    // Into an empty scaled-out store: the export's spec history comes along.
    const first = await a.importSnapshot(out);
    assert.deepEqual(first, { snapshotId: 1, specVersionsImported: 1 });
    assert.deepEqual(await b.specLog(), await embedded.specLog());
    await sameRows(b, first.snapshotId, embedded, eid, 'first import, on B');

    // Again, now that the store has snapshots and a spec: a new id from the sequence, the
    // capturing version mapped by its text, objects written then indexed.
    await a.addSnapshot(input);
    const second = await a.importSnapshot(out);
    assert.deepEqual(second, { snapshotId: 3, originalId: eid, specVersionsImported: 0 });
    await sameRows(b, 3, embedded, eid, 'second import, on B');
    const keys = (await FileObjects.fromUrl(new URL(objectsUrl)).list('snapshots/3/')).map((o) => o.key);
    assert.ok(
      keys.some((k) => k.endsWith('/goroutines.parquet')),
      keys.join('\n'),
    );
    const listed = (await b.listSnapshots()).find((s) => s.snapshotId === 3);
    assert.equal(listed?.specVersion, 1);

    // Where each came from: raw.imports, as the embedded store keeps it, on every server and
    // whichever snapshots its cache holds.
    const IMPORTS_SQL =
      "SELECT snapshot_id, original_snapshot_id, path, format, imported_at > now() - INTERVAL '10 minutes' FROM raw.imports ORDER BY 1";
    const wanted = [
      [1, eid, out, 'duckdb', true],
      [3, eid, out, 'duckdb', true],
    ];
    assert.deepEqual((await b.query(IMPORTS_SQL, { latest: true })).rows, wanted, 'B');
    const reference = await openStore(freshDataDir());
    try {
      await reference.importSnapshot(out);
      assert.deepEqual((await reference.query(IMPORTS_SQL, { latest: true })).rows, [
        [eid, eid, out, 'duckdb', true],
      ]);
    } finally {
      reference.close();
    }

    // What is not an export is refused with why; nothing is stored, its id is not reused.
    await assert.rejects(a.importSnapshot(freshDataDir()), /not a Periscope Parquet export/);
    assert.deepEqual(
      (await b.listSnapshots()).map((s) => s.snapshotId),
      [1, 2, 3],
    );
    assert.equal(await a.addSnapshot(input), 5);
    // Deleted with its snapshot, also from a cache that held that snapshot.
    await b.query('SELECT 1', { snapshot: 1 });
    await a.deleteSnapshots([1]);
    assert.deepEqual((await b.query(IMPORTS_SQL, { latest: true })).rows, [wanted[1]], 'after a deletion');
  } finally {
    embedded.close();
    a.close();
    b.close();
  }
});

test('periscope export and import with --store: out of the scaled-out store and back in as a new snapshot', async () => {
  const url = pg.database('cli');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml');
    const id = await a.addSnapshot(input);
    const out = outPath('cli.parquet');
    const where = ['--store', url, '--objects', objects];
    const e = await cli('export', '--snapshot', String(id), '--format', 'parquet', '--out', out, ...where);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, new RegExp(`snapshot ${id} exported to ${out} \\(parquet\\)`));
    const i = await cli('import', out, ...where);
    assert.equal(i.code, 0, i.stderr);
    assert.match(i.stdout, /^snapshot 2 imported into postgres:.*\(it was snapshot 1 where it came from\)$/m);
    await sameRows(a, 2, a, id, 'CLI round trip');
    const both = await cli('import', out, '--store', url, '--data', freshDataDir());
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /give --data DIR \(the local store\) or --store URL, not both/);
    const noObjects = await cli('export', '--snapshot', '1', '--out', outPath('x'), '--store', url);
    assert.match(noObjects.stderr, /--store needs --objects URL/);
  } finally {
    a.close();
  }
});

/** Every path under `dir`, for comparing what is there before and after. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

test('periscope export --store only reads: a SELECT-only PostgreSQL role and objects nobody may write', async () => {
  const url = pg.database('rdr');
  const objects = freshObjectsUrl();
  const dir = fileURLToPath(objects);
  const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  let id: number;
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml');
    id = await a.addSnapshot(input);
  } finally {
    a.close();
  }
  const admin = new pgClient.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('CREATE ROLE reader LOGIN');
    await admin.query('GRANT USAGE ON SCHEMA periscope TO reader');
    await admin.query('GRANT SELECT ON ALL TABLES IN SCHEMA periscope TO reader');
  } finally {
    await admin.end();
  }
  const readerUrl = url.replace('postgres://postgres@', 'postgres://reader@');
  const before = tree(dir);
  // Immutable directories: not even root may add, change or delete an object in them.
  execFileSync('chattr', ['-R', '+i', dir]);
  try {
    const out = outPath('ro.parquet');
    const e = await cli(
      'export',
      '--snapshot',
      String(id),
      '--format',
      'parquet',
      '--out',
      out,
      '--store',
      readerUrl,
      '--objects',
      objects,
    );
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, new RegExp(`snapshot ${id} exported to ${out} \\(parquet\\)`));
    assert.deepEqual(tree(dir), before, 'nothing was written to the object store');
    const shared = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() }).catch(
      (err: Error) => err,
    );
    // A server's open checks that it may write: refused while the objects are immutable.
    assert.ok(shared instanceof Error, 'a server cannot open an object store it cannot write');
    assert.match(shared.message, /cannot write to the object store/);
    // A database without Periscope's tables is named as such, not as a permission problem.
    const empty = pg.database('rdr_empty');
    const none = await cli(
      'export',
      '--snapshot',
      '1',
      '--out',
      outPath('none'),
      '--store',
      empty,
      '--objects',
      objects,
    );
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no Periscope store in postgres:.*rdr_empty/);
  } finally {
    execFileSync('chattr', ['-R', '-i', dir]);
  }
  // The rows exported by the reader are the snapshot's (read back as a server reads them).
  const check = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const embedded = await openStore(freshDataDir());
  try {
    const out = outPath('ro2.parquet');
    const e = await cli(
      'export',
      '--snapshot',
      String(id),
      '--format',
      'parquet',
      '--out',
      out,
      '--store',
      readerUrl,
      '--objects',
      objects,
    );
    assert.equal(e.code, 0, e.stderr);
    await embedded.importSnapshot(out);
    await sameRows(embedded, id, check, id, 'exported by a reader');
  } finally {
    check.close();
    embedded.close();
  }
});
