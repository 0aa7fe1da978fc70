/**
 * Two `functions:` entries on the same Go function: each table gets its rows from that
 * function's frames, with its own captures, through the whole path (plan, capture in the
 * pause, the agent's wire form, ingest, function-table views, the spec fit check).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { renderSnapshot } from '../../src/cli/commands/snapshot-view.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/protocol/snapshot-wire.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { checkSpecFit } from '../../src/snapshot/spec-fit.js';
import { effectiveSpecOfText } from '../../src/spec/effective-spec.js';
import type { DuckDBStore } from '../../src/store/duckdb-store.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { freshDataDir, inputOf, objects, openStore, startFixture, takeSnapshot } from './store-support.js';

// `n` is captured by both entries, under different column names.
const SPEC = `functions:
  - function: main.park
    table: park_server
    capture:
      server: srv.Name
      n: n
  - function: main.park
    table: park_items
    capture:
      first: items[0]
      count: n
      missing: srv.Nope
`;

let store: DuckDBStore;
let snap: ProcessSnapshot;

before(async () => {
  store = await openStore(freshDataDir());
  const e = await startFixture('exprs');
  try {
    snap = takeSnapshot(e.pid, SPEC);
  } finally {
    await e.kill();
  }
  await store.setSpec(SPEC, 'tester', 'spec.yaml');
  // As an agent sends it.
  await store.addSnapshot(inputOf(decodeSnapshot(JSON.parse(encodeSnapshot(snap))), SPEC));
});

after(() => store.close());

test('both tables on one function have a row per frame, with their own columns', async () => {
  const a = objects(await store.query('SELECT * FROM park_server', { latest: true }));
  const b = objects(await store.query('SELECT * FROM park_items', { latest: true }));
  assert.equal(a.length, 1);
  assert.equal(b.length, 1);
  assert.equal(a[0]!.server, 'alpha');
  assert.equal(a[0]!.n, 4);
  assert.equal(b[0]!.first, 'p');
  assert.equal(b[0]!.count, 4);
  assert.equal(a[0]!.goroutine_id, b[0]!.goroutine_id);
  assert.equal(a[0]!.depth, b[0]!.depth);
  assert.equal(b[0]!.missing, null, 'a capture that does not fit this binary is NULL');
  assert.deepEqual(Object.keys(a[0]!), ['snapshot_id', 'process_id', 'goroutine_id', 'depth', 'server', 'n']);
});

test('the captured rows name the table each value was captured for', async () => {
  const r = await store.query(
    'SELECT table_name, "column", expr FROM captured ORDER BY table_name, "column"',
    { latest: true },
  );
  assert.deepEqual(r.rows, [
    ['park_items', 'count', 'n'],
    ['park_items', 'first', 'items[0]'],
    ['park_server', 'n', 'n'],
    ['park_server', 'server', 'srv.Name'],
  ]);
});

test('the entry that does not fit is reported as its own table, the other is not', async () => {
  const errs = snap.captureErrors ?? [];
  assert.deepEqual(
    errs.map((x) => [x.table, x.column]),
    [['park_items', 'missing']],
  );
});

test('the spec fit check compiles both entries', async () => {
  const { path } = await buildFixture('exprs');
  const fit = checkSpecFit(
    await GoBinary.open(path),
    effectiveSpecOfText(SPEC, 'spec.yaml', { defaults: false }),
  );
  assert.deepEqual(
    fit.errors.map((x) => [x.table, x.column]),
    [['park_items', 'missing']],
  );
  assert.deepEqual(fit.functionsAbsent, []);
});

test('a function absent from the binary is listed once however many tables it feeds', async () => {
  const { path } = await buildFixture('exprs');
  const spec = `functions:
  - function: main.nowhere
    table: t1
    capture: { a: x }
  - function: main.nowhere
    table: t2
    capture: { b: y }
`;
  const fit = checkSpecFit(
    await GoBinary.open(path),
    effectiveSpecOfText(spec, 'spec.yaml', { defaults: false }),
  );
  assert.deepEqual(fit.functionsAbsent, ['main.nowhere']);
});

test("periscope snapshot's summary names the table of each line of a frame several tables capture on", () => {
  const text = renderSnapshot(snap);
  const lines = text.split('\n').filter((l) => l.includes('main.park [frame'));
  assert.equal(lines.length, 2, text);
  assert.match(lines[0]!, /main\.park \[frame \d+, park_server\]: server="alpha" {2}n=4/);
  assert.match(lines[1]!, /main\.park \[frame \d+, park_items\]: first="p" {2}count=4$/);
});
