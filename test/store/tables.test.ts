import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import type { DuckDBStore } from '../../src/store/duckdb-store.js';
import { freshDataDir, inputOf, objects, openStore, startFixture, takeSnapshot } from './store-support.js';

const SPEC = `functions:
  - function: main.park
    table: parked
    capture:
      server: srv.Name
      port: srv.Addr.Port
      items: items
      m: m
      n: n
      bad_key: m["nope"]
`;

let store: DuckDBStore;
let zoo: ProcessSnapshot;
let exprs: ProcessSnapshot;
let zooId: number;
let exprsId: number;

before(async () => {
  store = await openStore(freshDataDir());
  const z = await startFixture('goroutines');
  try {
    zoo = takeSnapshot(z.pid);
  } finally {
    await z.kill();
  }
  zooId = await store.addSnapshot(inputOf(zoo, '', { env: 'test', run: 'zoo' }));
  const e = await startFixture('exprs');
  try {
    exprs = takeSnapshot(e.pid, SPEC);
  } finally {
    await e.kill();
  }
  await store.setSpec(SPEC, 'tester', 'spec.yaml');
  exprsId = await store.addSnapshot(inputOf(exprs, SPEC));
});

after(() => store.close());

test('snapshot ids count up and the latest snapshot is the default scope', async () => {
  assert.deepEqual([zooId, exprsId], [1, 2]);
  const r = await store.query('SELECT snapshot_id FROM snapshots', { latest: true });
  assert.deepEqual(r.rows, [[2]]);
  const all = await store.query('SELECT snapshot_id, labels FROM snapshots ORDER BY 1', { all: true });
  assert.deepEqual(all.rows, [
    [1, { env: 'test', run: 'zoo' }],
    [2, {}],
  ]);
  const specs = await store.query('SELECT snapshot_id, spec_version FROM snapshots ORDER BY 1', {
    all: true,
  });
  assert.deepEqual(specs.rows, [
    [1, null],
    [2, 1],
  ]);
});

test('processes holds the process with its costs', async () => {
  const [p] = objects(await store.query('SELECT * FROM processes', { snapshot: zooId }));
  assert.equal(p!.process_id, `${hostname()}:${zoo.pid}`);
  assert.equal(p!.pid, zoo.pid);
  assert.equal(p!.executable, zoo.executable);
  assert.equal(p!.build_id, zoo.buildId ?? null);
  assert.equal(p!.go_version, zoo.goVersion ?? null);
  assert.equal(p!.pause_ns, zoo.pauseNs);
  assert.equal(p!.bytes_read, zoo.bytesRead);
  assert.equal(p!.goroutine_count, zoo.goroutines.length);
  assert.equal(p!.error, null);
});

test('goroutines holds exactly the goroutines of the snapshot', async () => {
  const rows = objects(
    await store.query('SELECT * FROM goroutines ORDER BY goroutine_id', { snapshot: zooId }),
  );
  const want = [...zoo.goroutines].sort((a, b) => a.id - b.id);
  assert.equal(rows.length, want.length);
  want.forEach((g, i) => {
    const r = rows[i]!;
    assert.deepEqual(
      {
        id: r.goroutine_id,
        status: r.status,
        wait: r.wait_reason,
        waitNs: r.wait_ns,
        labels: r.labels,
        createdBy: r.created_by,
        parent: r.created_by_goroutine,
        start: r.start_function,
        thread: r.thread_id,
        system: r.system,
        frames: r.frame_count,
        top: r.top_function,
      },
      {
        id: g.id,
        status: g.status,
        wait: g.waitReason ?? null,
        waitNs: g.waitDurationNs ?? null,
        labels: Object.fromEntries(g.labels),
        createdBy: g.createdBy?.function ?? null,
        parent: g.createdBy?.parentId ?? null,
        start: g.startFunction ?? null,
        thread: g.threadId ?? null,
        system: g.system,
        frames: g.stack.frames.length,
        top: (g.stack.frames.find((f) => !f.hidden) ?? g.stack.frames[0])?.function ?? null,
      },
    );
  });
  assert.ok(
    want.some((g) => g.labels.length > 0),
    'the zoo has labelled goroutines',
  );
});

test('frames holds every frame, depth 0 innermost, and stacks reproduce each stack', async () => {
  const frames = (
    await store.query(
      'SELECT goroutine_id, depth, function, file, line, pc, inlined FROM frames ORDER BY goroutine_id, depth',
      { snapshot: zooId },
    )
  ).rows;
  const want = [...zoo.goroutines]
    .sort((a, b) => a.id - b.id)
    .flatMap((g) => g.stack.frames.map((f, d) => [g.id, d, f.function, f.file, f.line, f.pc, f.inlined]));
  assert.deepEqual(frames, want);
  const viaStacks = (
    await store.query(
      'SELECT g.goroutine_id, s.depth, s.function, s.file, s.line FROM goroutines g JOIN stacks s USING (stack_id) ORDER BY 1, 2',
      { snapshot: zooId },
    )
  ).rows;
  assert.deepEqual(
    viaStacks,
    want.map((r) => r.slice(0, 5)),
  );
  const distinct = new Set(
    zoo.goroutines.map((g) => JSON.stringify(g.stack.frames.map((f) => [f.function, f.line]))),
  );
  const stackIds = await store.query('SELECT count(DISTINCT stack_id) FROM goroutines', { snapshot: zooId });
  assert.equal(stackIds.rows[0]![0], distinct.size);
});

test('captured holds every captured value in long form', async () => {
  const rows = (
    await store.query(
      'SELECT goroutine_id, depth, function, "column", expr, value, error FROM captured ORDER BY goroutine_id, depth, "column"',
      { latest: true },
    )
  ).rows;
  const want = exprs.goroutines
    .flatMap((g) =>
      g.captures.flatMap((c) =>
        c.values.map((v) => [g.id, c.depth, c.function, v.column, v.expr, v.value, v.error ?? null]),
      ),
    )
    .sort((a, b) => String(a[3]).localeCompare(String(b[3])));
  assert.equal(rows.length, 6);
  assert.deepEqual(rows, want);
});

test('a function table has one row per frame with typed columns', async () => {
  const r = await store.query('SELECT * FROM parked', { latest: true });
  assert.deepEqual(
    r.columns.map((c) => [c.name, c.type]),
    [
      ['snapshot_id', 'BIGINT'],
      ['process_id', 'VARCHAR'],
      ['goroutine_id', 'BIGINT'],
      ['depth', 'INTEGER'],
      ['server', 'VARCHAR'],
      ['port', 'BIGINT'],
      ['items', 'JSON'],
      ['m', 'JSON'],
      ['n', 'BIGINT'],
      ['bad_key', 'JSON'],
    ],
  );
  const g = exprs.goroutines.find((x) => x.captures.length > 0)!;
  assert.deepEqual(objects(r), [
    {
      snapshot_id: exprsId,
      process_id: `${hostname()}:${exprs.pid}`,
      goroutine_id: g.id,
      depth: g.captures[0]!.depth,
      server: 'alpha',
      port: 80,
      items: ['p', 'q', 'r'],
      m: { x: 1, y: 2 },
      n: 4,
      bad_key: null,
    },
  ]);
  const zooRows = await store.query('SELECT count(*) FROM parked', { snapshot: zooId });
  assert.deepEqual(zooRows.rows, [[0]]);
});
