import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { ProcessSnapshot } from '../../../src/snapshot/snapshot-types.js';
import type { DuckDBStore } from '../../../src/store/duckdb-store.js';
import { FileObjects } from '../../../src/store/file-objects.js';
import type { ObjectStore } from '../../../src/store/object-store.js';
import { connectPg } from '../../../src/store/shared/pg-schema.js';
import { SharedStore } from '../../../src/store/shared/shared-store.js';
import type { SnapshotInput } from '../../../src/store/store.js';
import { freshDataDir, inputOf, openStore, startFixture, takeSnapshot } from '../store-support.js';
import { callsSpec, FACTS, ORDERS } from './probe-batch-support.js';
import { freshCacheDir, freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

// The linkpair fixture and a spec with function tables, derived tables and a link (as links.test.ts).
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

/** A database of its own per test (the schema is created on connect). */

const QUERIES = [
  'SELECT snapshot_id, labels, process_count, failed_processes, goroutine_count, spec_version FROM snapshots',
  'SELECT process_id, program, error FROM processes ORDER BY process_id',
  'SELECT goroutine_id, status, top_function, stack_id FROM goroutines ORDER BY goroutine_id',
  'SELECT count(*), sum(line) FROM frames',
  'SELECT count(*) FROM stacks',
  'SELECT goroutine_id, id FROM client_calls ORDER BY goroutine_id',
  'SELECT client_goroutine, server_goroutine FROM call_pairs ORDER BY 1',
  'SELECT from_goroutine_id, to_goroutine_id FROM links ORDER BY 1',
];

test('a snapshot stored by one server is queried by another with the same views as the embedded store', async () => {
  const url = pg.database('views');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const embedded: DuckDBStore = await openStore(freshDataDir());
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml');
    await embedded.setSpec(SPEC, 'tester', 'spec.yaml');
    const id = await a.addSnapshot(input);
    assert.equal(id, await embedded.addSnapshot(input));
    // One object per table for all the snapshot's processes, under a part prefix of the snapshot.
    const keys = (await FileObjects.fromUrl(new URL(objects)).list('')).map((o) => o.key);
    const parts = new Set(
      keys.map((k) => /^snapshots\/(\d+)\/(part-[0-9a-f]{16})\/[a-z_]+\.parquet$/.exec(k)?.[2]),
    );
    assert.deepEqual([...parts].length, 1, keys.join('\n'));
    assert.ok(
      keys.every((k) => k.startsWith(`snapshots/${id}/`)),
      keys.join('\n'),
    );
    for (const table of ['processes', 'goroutines', 'frames', 'stacks'])
      assert.ok(
        keys.some((k) => k.endsWith(`/${table}.parquet`)),
        `${table}: ${keys.join('\n')}`,
      );
    assert.equal((await b.currentSpec())?.yaml, SPEC, 'the spec set on A is B’s');
    for (const sql of QUERIES) {
      const want = await embedded.query(sql, { latest: true });
      const got = await b.query(sql, { latest: true });
      assert.deepEqual(got.rows, want.rows, sql);
      assert.ok(got.rows.length > 0, `${sql} has rows`);
      assert.deepEqual(got.warnings, want.warnings, sql);
    }
    assert.deepEqual(await b.listSnapshots(), await embedded.listSnapshots());
    assert.deepEqual(await b.storedBinaries(), await embedded.storedBinaries());
    assert.deepEqual(b.cacheState().ids, [id]);
  } finally {
    a.close();
    b.close();
    embedded.close();
  }
});

/** FileObjects whose puts fail after `okPuts` of them (the real directory underneath). */
function failingAfter(url: string, okPuts: number): ObjectStore {
  const real = FileObjects.fromUrl(new URL(url));
  let puts = 0;
  return {
    put: async (key, body) => {
      if (++puts > okPuts && !key.startsWith('periscope-check/')) throw new Error('disk full');
      await real.put(key, body);
    },
    get: (key) => real.get(key),
    list: (prefix) => real.list(prefix),
    delete: (keys) => real.delete(keys),
    describe: () => real.describe(),
  };
}

test('a snapshot whose objects fail half-way is never visible, and its objects are removed', async () => {
  const url = pg.database('halfway');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({
    store: url,
    objects: failingAfter(objects, 3),
    cacheDir: freshCacheDir(),
  });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  try {
    await assert.rejects(a.addSnapshot(input), /disk full/);
    assert.deepEqual(await b.listSnapshots(), []);
    assert.deepEqual((await b.query('SELECT count(*) FROM goroutines', { all: true })).rows, [[0]]);
    assert.deepEqual(await FileObjects.fromUrl(new URL(objects)).list('snapshots/'), []);
    // The next snapshot gets a new id; the failed one's is never reused.
    const id = await b.addSnapshot(input);
    assert.equal(id, 2);
    assert.deepEqual(
      (await b.listSnapshots()).map((s) => s.snapshotId),
      [2],
    );
  } finally {
    a.close();
    b.close();
  }
});

test('the cache fetches what a scope needs, evicts the least recently used beyond its bound, never one in use', async () => {
  const url = pg.database('cache');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir(), cacheBytes: 1 });
  try {
    const ids = [await a.addSnapshot(input), await a.addSnapshot(input)];
    // B's generation (which the PostgreSQL port's kept sessions follow) moves when A writes.
    const before = b.generation;
    ids.push(await a.addSnapshot(input));
    const until = Date.now() + 10_000;
    while (b.generation === before && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(b.generation, before, 'B saw A’s write');
    const held = await b.session({ snapshot: ids[0]! });
    assert.deepEqual(b.cacheState().ids, [ids[0]]);
    // Bound of 1 byte: each new scope evicts the others, except the one the open session holds.
    const r = await b.query('SELECT DISTINCT snapshot_id FROM goroutines', { latest: true });
    assert.deepEqual(r.rows, [[ids[2]]]);
    assert.deepEqual(b.cacheState().ids, [ids[0], ids[2]]);
    assert.deepEqual((await held.query('SELECT DISTINCT snapshot_id FROM goroutines')).rows, [[ids[0]]]);
    held.close();
    await b.query('SELECT 1', { snapshot: ids[1]! });
    assert.deepEqual(b.cacheState().ids, [ids[1]]);
    assert.equal(b.cacheState().evicted, 2);
    // All snapshots at once: all are fetched for the session, beyond the bound.
    const all = await b.query('SELECT count(DISTINCT snapshot_id) FROM goroutines', { all: true });
    assert.deepEqual(all.rows, [[3]]);
    // Deleted on A: gone from the index, the objects and B's cache.
    assert.deepEqual(await a.deleteSnapshots([ids[0]!, 99]), [ids[0]]);
    assert.deepEqual(
      (await b.query('SELECT DISTINCT snapshot_id FROM goroutines ORDER BY 1', { all: true })).rows,
      [[ids[1]], [ids[2]]],
    );
    assert.deepEqual(await FileObjects.fromUrl(new URL(objects)).list(`snapshots/${ids[0]}/`), []);
  } finally {
    a.close();
    b.close();
  }
});

test('the probe data a cache holds counts against its bound: snapshots are evicted to make room', async () => {
  const url = pg.database('cache_probes');
  const objects = freshObjectsUrl();
  const open = (cacheBytes?: number) =>
    SharedStore.open({
      store: url,
      objects,
      cacheDir: freshCacheDir(),
      probeFlush: { intervalMs: 50 },
      ...(cacheBytes ? { cacheBytes } : {}),
    });
  const a = await open();
  const pool = await connectPg(url);
  try {
    const ids = [await a.addSnapshot(input), await a.addSnapshot(input)];
    const bytes = async (table: string) =>
      Number((await pool.query(`SELECT sum(bytes) AS n FROM periscope.${table}`)).rows[0].n);
    const snapshotBytes = (await bytes('snapshots')) / 2;
    // Room for both snapshots and a little more; probe data may take 3/4 of it.
    const b = await open(Math.round(snapshotBytes * 2.5));
    try {
      await b.query('SELECT 1', { snapshot: ids[0]! });
      await b.query('SELECT 1', { latest: true });
      assert.deepEqual(b.cacheState(), { ids, fetched: 2, evicted: 0, dropped: 0 });
      // Probe data worth about one snapshot, within its share: it stays, a snapshot goes.
      await a.setSpec(callsSpec('n: n'), 'tester', 'spec.yaml', { force: true });
      for (let i = 0; (await bytes('probe_batches')) < snapshotBytes; i++)
        await a.addProbeBatch({
          agentId: 'agent-1',
          processes: FACTS,
          events: Array.from({ length: 200 }, (_, k) => ({
            probe: 'calls',
            process: ORDERS,
            timeUs: 1_700_000_000_000_000 + i * 1000 + k,
            goroutine: 100 + k,
            thread: 7,
            site: { kind: 'entry' as const, function: 'main.handle', file: 'main.go', line: 42 },
            values: { n: `${i}-${k}-${'x'.repeat(k % 17)}` },
          })),
          counts: [],
          histograms: [],
          notices: [],
        });
      await b.query('SELECT 1', { latest: true });
      const held = b.probeState().heldBytes;
      assert.ok(held >= snapshotBytes && b.probeState().flooredRows === 0, `probe data: ${held} bytes`);
      assert.deepEqual(b.cacheState(), { ids: [ids[1]], fetched: 2, evicted: 1, dropped: 0 });
    } finally {
      await b.close();
    }
  } finally {
    await pool.end();
    await a.close();
  }
});

test('spec versions, investigations and firings are shared; a spec whose SQL does not build is refused', async () => {
  const url = pg.database('shared');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  try {
    assert.deepEqual(await a.setSpec(SPEC, 'ann', 'spec.yaml'), { version: 1, changed: true, warnings: [] });
    assert.deepEqual(await b.setSpec(SPEC, 'bob', 'spec.yaml'), { version: 1, changed: false, warnings: [] });
    await assert.rejects(
      b.setSpec('derived:\n  - name: bad\n    sql: SELECT nope FROM nowhere\n', 'bob', 'x.yaml'),
      /was not stored/,
    );
    const v2 = await b.setSpec(
      'derived:\n  - name: bad\n    sql: SELECT nope FROM nowhere\n',
      'bob',
      'x.yaml',
      { force: true },
    );
    assert.equal(v2.version, 2);
    assert.equal(v2.warnings.length, 1);
    assert.deepEqual(
      (await a.specLog()).map((v) => [v.version, v.author]),
      [
        [1, 'ann'],
        [2, 'bob'],
      ],
    );
    assert.match((await a.specVersion(2))!.diff, /^\+\s+sql: SELECT nope/m);
    const inv = await a.addInvestigation({
      name: 'slow',
      owner: 'ann',
      question: 'why?',
      notes: '',
      definition: '{"x":1}',
      createdAt: '2026-01-02T03:04:05.000Z',
    });
    const f = await b.addFiring({
      investigationId: inv,
      investigation: 'slow',
      firedAt: '2026-01-02T03:05:00.000Z',
      trigger: 'schedule',
      detail: { n: 1 },
      traceKept: false,
    });
    await a.patchFiring(f, { snapshotId: 5, reportRows: 1, webhook: '200' });
    await a.addReportRows([
      { firingId: f, investigationId: inv, query: 'SELECT 1', rowNumber: 0, row: { x: 1 } },
    ]);
    await b.closeInvestigation(inv, 'bob', new Date('2026-01-03T00:00:00Z'));
    const [got] = await a.investigations();
    assert.deepEqual(got, {
      id: inv,
      name: 'slow',
      owner: 'ann',
      question: 'why?',
      notes: '',
      definition: '{"x":1}',
      createdAt: '2026-01-02T03:04:05.000Z',
      closedAt: '2026-01-03T00:00:00.000Z',
      closedBy: 'bob',
      fires: 1,
      lastFiredAt: '2026-01-02T03:05:00.000Z',
    });
    assert.deepEqual(await b.firings(inv, 10), [
      {
        id: f,
        firedAt: '2026-01-02T03:05:00.000Z',
        trigger: 'schedule',
        snapshotId: 5,
        traceKept: false,
        reportRows: 1,
        webhook: '200',
      },
    ]);
    // SQL over the investigation tables on either server sees them, report rows as they are added.
    const sql = (store: SharedStore, q: string) => store.query(q, { latest: true }).then((r) => r.rows);
    assert.deepEqual(await sql(b, 'SELECT investigation_id, name, closed_by FROM investigations'), [
      [inv, 'slow', 'bob'],
    ]);
    assert.deepEqual(await sql(b, 'SELECT firing_id, snapshot_id, webhook FROM investigation_firings'), [
      [f, 5, '200'],
    ]);
    assert.deepEqual(await sql(b, 'SELECT row_number, "row" FROM investigation_reports'), [[0, { x: 1 }]]);
    await a.addReportRows([
      { firingId: f, investigationId: inv, query: 'SELECT 1', rowNumber: 1, row: { x: 2 } },
    ]);
    assert.deepEqual(await sql(b, 'SELECT row_number, "row" FROM investigation_reports ORDER BY 1'), [
      [0, { x: 1 }],
      [1, { x: 2 }],
    ]);
    const sid = await a.addSnapshot(input);
    await a.putFleetMeta(sid, { requestId: 'r1' });
    assert.deepEqual(await b.fleetMeta(sid), { requestId: 'r1' });
    await b.deleteSnapshots([sid]);
    assert.equal(await a.fleetMeta(sid), undefined, 'deleted with its snapshot');
  } finally {
    a.close();
    b.close();
  }
});

test('opening says what failed: PostgreSQL unreachable, object directory not writable', async () => {
  const port = pg.port + 1;
  await assert.rejects(
    SharedStore.open({
      store: `postgres://postgres:secret@127.0.0.1:${port}/db`,
      objects: freshObjectsUrl(),
      cacheDir: freshCacheDir(),
    }),
    (e: Error) => {
      assert.match(
        e.message,
        new RegExp(
          `cannot reach PostgreSQL at postgres://postgres@127.0.0.1:${port}/db: .*check that it runs`,
        ),
      );
      assert.doesNotMatch(e.message, /secret/);
      return true;
    },
  );
  // A directory under a regular file cannot be created.
  const file = join(freshCacheDir(), 'a-file');
  writeFileSync(file, '');
  await assert.rejects(
    SharedStore.open({
      store: pg.url,
      objects: pathToFileURL(join(file, 'objects')).href,
      cacheDir: freshCacheDir(),
    }),
    /cannot create the object directory .*a-file\/objects: ENOTDIR.*check the path/,
  );
});
