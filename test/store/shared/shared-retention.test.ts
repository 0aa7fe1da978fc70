/**
 * Retention by program rule on the scaled-out store: a real PostgreSQL, a file:// object
 * store and real snapshots of a Go fixture. The index and objects lose what the embedded store
 * loses for the same rules, another server's cache forgets it, and only one server runs a pass
 * at a time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ProcessSnapshot } from '../../../src/snapshot/snapshot-types.js';
import { FileObjects } from '../../../src/store/file-objects.js';
import type { ObjectStore } from '../../../src/store/object-store.js';
import { parseRetentionRule } from '../../../src/store/retention.js';
import { S3Objects } from '../../../src/store/s3-objects.js';
import { SharedStore } from '../../../src/store/shared/shared-store.js';
import type { SnapshotInput } from '../../../src/store/store.js';
import { type S3Server, startS3Server } from '../../../support/s3-server.js';
import { freshDataDir, openStore, startFixture, takeSnapshot } from '../store-support.js';
import { freshCacheDir, freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

const DAY = 86_400_000;
const RULES = [parseRetentionRule('orders=7d'), parseRetentionRule('*=30d')];
let pg: TestPostgres;
let snap: ProcessSnapshot;

before(async () => {
  pg = await startTestPostgres();
  const t = await startFixture('linkpair');
  try {
    snap = takeSnapshot(t.pid);
  } finally {
    t.kill();
  }
});

after(() => pg?.stop());

/** Two programs on two hosts, and a failed process of `orders`, taken `daysAgo` days before `now`. */
function input(now: Date, daysAgo: number): SnapshotInput {
  return {
    processes: [
      { hostname: 'host-a', program: 'orders', snapshot: snap },
      { hostname: 'host-b', program: 'billing', snapshot: snap },
    ],
    failed: [{ hostname: 'host-c', pid: 7, program: 'orders', error: 'gone' }],
    specText: '',
    createdAt: new Date(now.getTime() - daysAgo * DAY),
  };
}

const QUERIES = [
  'SELECT snapshot_id, process_count, failed_processes, goroutine_count FROM snapshots ORDER BY 1',
  'SELECT snapshot_id, process_id, program, error FROM processes ORDER BY 1, 2',
  'SELECT snapshot_id, process_id, count(*) FROM goroutines GROUP BY ALL ORDER BY 1, 2',
  'SELECT count(*), sum(line) FROM frames',
  'SELECT count(*) FROM stacks',
];

test('a pass drops the old processes of a program from the index and the objects, as the embedded store does; another server sees it', async () => {
  const url = pg.database('trim');
  const objectsUrl = freshObjectsUrl();
  const files = FileObjects.fromUrl(new URL(objectsUrl));
  const a = await SharedStore.open({ store: url, objects: objectsUrl, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects: objectsUrl, cacheDir: freshCacheDir() });
  const embedded = await openStore(freshDataDir());
  const now = new Date();
  try {
    // 1: 40 days old (every process expired: goes whole); 2: 10 days old (orders' expired,
    // billing's kept); 3: new.
    for (const days of [40, 10, 0]) {
      const sid = await a.addSnapshot(input(now, days));
      assert.equal(sid, await embedded.addSnapshot(input(now, days)));
    }
    // B caches every snapshot before the pass: it must forget what the pass deletes.
    const before = await b.query(QUERIES[1]!, { all: true });
    assert.equal(before.rows.length, 9);
    assert.deepEqual(b.cacheState().ids, [1, 2, 3]);
    const keys2 = (await files.list('snapshots/2/')).map((o) => o.key);

    const got = await a.applyRetention(RULES, now);
    const want = await embedded.applyRetention(RULES, now);
    assert.deepEqual(got, want);
    assert.deepEqual(got.snapshotIds, [1]);
    assert.deepEqual(got.trimmedSnapshotIds, [2]);
    assert.deepEqual(
      got.trimmedProcesses.map((t) => t.processId),
      [`host-a:${snap.pid}`, 'host-c:7'],
    );

    // The objects: none of snapshot 1, all of snapshot 3; snapshot 2's part objects hold the
    // rows of all its processes, so they stay while host-b is indexed (its readers leave the
    // dropped processes' rows out: the queries below).
    assert.deepEqual(await files.list('snapshots/1/'), []);
    const left2 = (await files.list('snapshots/2/')).map((o) => o.key);
    assert.ok(left2.length > 0 && left2.every((k) => k.startsWith('snapshots/2/part-')), left2.join('\n'));
    assert.deepEqual(left2, keys2);
    assert.ok((await files.list('snapshots/3/')).length > 0);

    // B (which held them cached) and a third server answer as the embedded store does.
    const c = await SharedStore.open({ store: url, objects: objectsUrl, cacheDir: freshCacheDir() });
    try {
      for (const sql of QUERIES) {
        const w = await embedded.query(sql, { all: true });
        assert.deepEqual((await b.query(sql, { all: true })).rows, w.rows, `B: ${sql}`);
        assert.deepEqual((await c.query(sql, { all: true })).rows, w.rows, `C: ${sql}`);
      }
      assert.deepEqual(await b.listSnapshots(), await embedded.listSnapshots());
      assert.deepEqual(await c.listSnapshots(), await embedded.listSnapshots());
      assert.ok(b.cacheState().dropped >= 2, 'B dropped snapshots 1 and 2 and fetched 2 again');
    } finally {
      c.close();
    }

    // A second pass finds nothing more; a snapshot id is never reused.
    const again = await b.applyRetention(RULES, now);
    assert.deepEqual(again, {
      snapshotIds: [],
      trimmedSnapshotIds: [],
      processes: 0,
      trimmedProcesses: [],
      probeRows: 0,
    });
    assert.equal(await b.addSnapshot(input(now, 0)), 4);
  } finally {
    a.close();
    b.close();
    embedded.close();
  }
});

/** The real object directory, whose deletes wait until `open()` is called. */
function gatedDeletes(url: string): { objects: ObjectStore; reached: Promise<void>; open: () => void } {
  const real = FileObjects.fromUrl(new URL(url));
  let open = (): void => undefined;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  let reach = (): void => undefined;
  const reached = new Promise<void>((r) => {
    reach = r;
  });
  return {
    objects: {
      put: (key, body) => real.put(key, body),
      get: (key) => real.get(key),
      list: (prefix) => real.list(prefix),
      delete: async (keys) => {
        if (keys.some((k) => k.startsWith('snapshots/'))) {
          reach();
          await gate;
        }
        await real.delete(keys);
      },
      describe: () => real.describe(),
    },
    reached,
    open,
  };
}

test('two servers never run a pass at once: the second finds the first one’s lock and skips', async () => {
  const url = pg.database('lock');
  const objectsUrl = freshObjectsUrl();
  const gated = gatedDeletes(objectsUrl);
  const a = await SharedStore.open({ store: url, objects: gated.objects, cacheDir: freshCacheDir() });
  const b = await SharedStore.open({ store: url, objects: objectsUrl, cacheDir: freshCacheDir() });
  const now = new Date();
  try {
    await b.addSnapshot(input(now, 40));
    await b.addSnapshot(input(now, 10));
    const first = a.applyRetention(RULES, now);
    // A has committed its index change and waits in deleting the objects, holding the lock.
    await gated.reached;
    const second = await b.applyRetention(RULES, now);
    assert.deepEqual(second, {
      snapshotIds: [],
      trimmedSnapshotIds: [],
      processes: 0,
      trimmedProcesses: [],
      probeRows: 0,
      elsewhere: true,
    });
    gated.open();
    const done = await first;
    assert.deepEqual(done.snapshotIds, [1]);
    assert.deepEqual(done.trimmedSnapshotIds, [2]);
    assert.equal(done.processes, 5);
    assert.equal(done.elsewhere, undefined);
    // The lock is free again: B's next pass runs (and finds nothing left).
    const third = await b.applyRetention(RULES, now);
    assert.equal(third.elsewhere, undefined);
    assert.equal(third.processes, 0);
    assert.deepEqual(
      (await b.query('SELECT snapshot_id, count(*) FROM processes GROUP BY 1', { all: true })).rows,
      [[2, 1]],
    );
  } finally {
    gated.open();
    a.close();
    b.close();
  }
});

test('on an S3-compatible store (SeaweedFS): the expired processes’ objects go, the rest is queried and exported', async () => {
  let s3: S3Server | undefined;
  const url = pg.database('s3');
  const now = new Date();
  try {
    s3 = await startS3Server();
    const objects = S3Objects.fromUrl(s3.url('retention'), { env: s3.env });
    const a = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
    const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
    const embedded = await openStore(freshDataDir());
    try {
      await a.addSnapshot(input(now, 40));
      await a.addSnapshot(input(now, 10));
      assert.equal((await b.query('SELECT count(*) FROM processes', { all: true })).rows[0]?.[0], 6);
      const r = await b.applyRetention(RULES, now);
      assert.deepEqual([r.snapshotIds, r.trimmedSnapshotIds, r.processes], [[1], [2], 5]);
      assert.deepEqual(await objects.list('snapshots/1/'), []);
      const left = (await objects.list('snapshots/2/')).map((o) => o.key);
      assert.ok(left.length > 0 && left.every((k) => k.startsWith('snapshots/2/part-')), left.join('\n'));
      const rows = 'SELECT snapshot_id, process_id, program FROM processes ORDER BY 1, 2';
      assert.deepEqual((await a.query(rows, { all: true })).rows, [[2, `host-b:${snap.pid}`, 'billing']]);
      const out = join(mkdtempSync(join(tmpdir(), 'periscope-export-')), 'snap2');
      await a.exportSnapshot(2, 'parquet', out);
      assert.deepEqual(await embedded.importSnapshot(out), { snapshotId: 2, specVersionsImported: 0 });
      assert.deepEqual((await embedded.query(rows, { all: true })).rows, [
        [2, `host-b:${snap.pid}`, 'billing'],
      ]);
      assert.deepEqual(await embedded.listSnapshots(), await a.listSnapshots());
    } finally {
      a.close();
      b.close();
      embedded.close();
    }
  } finally {
    await s3?.stop();
  }
});
