/**
 * Objects nobody indexed, on a real PostgreSQL and a file:// object store shared by two
 * scaled-out stores (two servers): a fleet snapshot's parts written under an id whose index
 * row never came (its origin died) are deleted once unindexed for longer than the safe age;
 * an indexed snapshot's objects, an in-flight fleet request's and a younger orphan's are not.
 * One server collects at a time (the advisory lock), and two passes at once delete each
 * orphan once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startServer } from '../../../src/server/server.js';
import type { ObjectStore } from '../../../src/store/object-store.js';
import { openObjectStore } from '../../../src/store/open-objects.js';
import { ORPHAN_LOCK } from '../../../src/store/shared/orphan-objects.js';
import { SharedStore } from '../../../src/store/shared/shared-store.js';
import type { SnapshotInput } from '../../../src/store/store.js';
import { inputOf, startFixture, takeSnapshot } from '../store-support.js';
import { freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

let pgServer: TestPostgres;
let input: SnapshotInput;
let a: SharedStore;
let b: SharedStore;
let objectStore: ObjectStore;
let objectsUrl = '';

before(async () => {
  pgServer = await startTestPostgres();
  const t = await startFixture('linkpair');
  try {
    input = inputOf(takeSnapshot(t.pid), '', { team: 'core' });
  } finally {
    t.kill();
  }
  const objects = freshObjectsUrl();
  objectsUrl = objects;
  objectStore = openObjectStore(objects);
  const open = () =>
    SharedStore.open({
      store: pgServer.url,
      objects,
      cacheDir: mkdtempSync(join(tmpdir(), 'periscope-cache-')),
    });
  a = await open();
  b = await open();
});

after(() => {
  a?.close();
  b?.close();
  pgServer?.stop();
});

/** What a server that died before the index row leaves: a snapshot id's objects, never indexed. */
async function orphan(on: SharedStore): Promise<number> {
  const id = await on.fleet.nextSnapshotId();
  const w = await on.fleet.putPart(id, input, null);
  assert.ok(w.processes[0]!.objects.length > 0);
  return id;
}

/** The snapshot ids that have objects, as the object store lists them. */
async function idsWithObjects(): Promise<number[]> {
  const keys = (await objectStore.list('snapshots/')).map((o) => o.key);
  return [...new Set(keys.map((k) => Number(k.split('/')[1])))].sort((x, y) => x - y);
}

test('orphan objects older than the age are collected; indexed, in-flight and younger ones are not', async () => {
  const indexed = await a.addSnapshot(input);
  const old = await orphan(a);
  const inFlight = await orphan(b);
  await a.fleet.createRequest(
    { requestId: 'in-flight', snapshotId: inFlight, origin: 'test-origin', specVersion: 0, noPause: false },
    [{ serverId: 'test-origin', targets: [] }],
  );
  assert.deepEqual(
    await idsWithObjects(),
    [indexed, old, inFlight].sort((x, y) => x - y),
  );

  // First seen now: younger than the age, nothing goes.
  const first = await a.collectOrphans(1000);
  assert.deepEqual(
    { ...first },
    { locked: false, unindexed: 1, collected: [], probePrefixes: [], objects: 0, bytes: 0 },
  );
  await new Promise((r) => setTimeout(r, 1300));
  const young = await orphan(b); // first seen by the next pass
  const second = await b.collectOrphans(1000);
  assert.equal(second.locked, false);
  assert.deepEqual(second.collected, [old], 'the old orphan only');
  assert.ok(second.objects > 0 && second.bytes > 0, JSON.stringify(second));
  assert.equal(second.unindexed, 2, 'the old and the young orphan were unindexed');
  assert.deepEqual(
    await idsWithObjects(),
    [indexed, inFlight, young].sort((x, y) => x - y),
  );
  // The indexed snapshot is whole: a fresh cache (b never fetched it) reads its rows.
  const r = await b.query('SELECT count(*) FROM goroutines', { snapshot: indexed });
  assert.ok(Number(r.rows[0]?.[0]) > 0, 'the indexed snapshot still has its goroutines');

  // Another server holds the collector's lock: this pass does nothing.
  const holder = new pg.Client({ connectionString: pgServer.url });
  await holder.connect();
  try {
    await holder.query('SELECT pg_advisory_lock($1)', [ORPHAN_LOCK]);
    const locked = await a.collectOrphans(0);
    assert.deepEqual(
      { ...locked },
      { locked: true, unindexed: 0, collected: [], probePrefixes: [], objects: 0, bytes: 0 },
    );
    assert.ok((await idsWithObjects()).includes(young), 'nothing deleted while another server collects');
  } finally {
    await holder.end();
  }
  // The request is forgotten (it ended an hour ago): its unindexed objects are orphans now.
  pgServer.psql("DELETE FROM periscope.fleet_requests WHERE request_id = 'in-flight'");
  const third = await a.collectOrphans(0);
  assert.deepEqual(
    [...third.collected].sort((x, y) => x - y),
    [inFlight, young].sort((x, y) => x - y),
  );
  assert.deepEqual(await idsWithObjects(), [indexed]);
  assert.equal(pgServer.psql('SELECT count(*) FROM periscope.orphan_sightings').trim(), '0');
});

test('two servers collecting at once delete each orphan once', async () => {
  const made = [await orphan(a), await orphan(b), await orphan(a)];
  const passes = await Promise.all([a.collectOrphans(0), b.collectOrphans(0), a.collectOrphans(0)]);
  const collected = passes.flatMap((p) => p.collected).sort((x, y) => x - y);
  assert.deepEqual(collected, made, `each once: ${JSON.stringify(passes)}`);
  for (const id of made) assert.ok(!(await idsWithObjects()).includes(id));
});

test('a server collects them on its timer and logs what it deleted', async () => {
  const lines: string[] = [];
  // Both are stored before the server starts, whole: with an age of 0.5 s, a write still under
  // way when a pass lists it (on a busy machine storing a snapshot takes over a second) would be
  // collected too, as it should be at that age; the production age is an hour (orphanAgeMs).
  const indexed = await a.addSnapshot(input);
  const lost = await orphan(b);
  const server = await startServer({
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'periscope-orphan-server-')),
    agentLog: () => undefined,
    log: (l) => lines.push(l),
    shared: { store: pgServer.url, objects: objectsUrl, orphans: { intervalMs: 200, ageMs: 500 } },
  });
  try {
    // The pass logs once it is over, after its deletions: waited for by its line (the one that
    // names this orphan), not by the objects being gone (seen mid-pass, before the line).
    const deleted = new RegExp(
      `object store: deleted \\d+ objects .* no index row names.*: snapshot ids ${lost}$`,
    );
    const end = Date.now() + 20_000;
    while (!lines.some((l) => deleted.test(l))) {
      assert.ok(Date.now() < end, `the server never collected ${lost}: ${lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ids = await idsWithObjects();
    assert.ok(!ids.includes(lost), `the orphan's objects are gone: ${ids}`);
    assert.ok(ids.includes(indexed), 'the indexed snapshot keeps its objects');
    assert.equal(server.orphans?.totals.snapshots, 1);
  } finally {
    await server.close();
  }
});
