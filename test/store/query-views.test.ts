/**
 * A query builds exactly the views it names and what those read (query-tables.ts finds the
 * names, view-deps.ts what they read). A view missed is a "Catalog Error" for the user, a
 * view too many is time: each case checks the set of views built on a real connection, then
 * runs the query on that connection with nothing else built.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { defaultSpec } from '../../src/spec/default-spec.js';
import { DB_FILE } from '../../src/store/data-dir.js';
import { DuckDBInstance } from '../../src/store/duckdb-api.js';
import type { DuckDBStore } from '../../src/store/duckdb-store.js';
import { tablesOfQuery } from '../../src/store/query-tables.js';
import { QueryViews } from '../../src/store/query-views.js';
import { specForScope } from '../../src/store/scope-spec.js';
import type { QueryScope } from '../../src/store/store.js';
import { knownViews } from '../../src/store/view-deps.js';
import { syntheticSnapshot } from '../../support/synthetic-snapshot.js';
import { freshDataDir, openStore } from './store-support.js';

// The synthetic process's two functions, a SQL column that reads `stacks` (which reads
// `goroutines`), derived tables over function tables, over a derived table, over `links`
// (with a quoted, mixed-case name), and a link between the function tables.
const SPEC = `functions:
  - function: main.(*Server).handle
    table: handle
    capture:
      req_id: req.ID
      path: req.URL.Path
    columns:
      is_api: path LIKE '/api%'
  - function: database/sql.(*DB).QueryContext
    table: dbq
    capture:
      req_id: ctx.Value("req")
      sql: query
    columns:
      stack_count: (SELECT count(*) FROM stacks)
derived:
  - name: handle_db
    sql: >
      SELECT h.snapshot_id, h.goroutine_id, h.path, d.sql FROM handle h
      JOIN dbq d ON h.snapshot_id = d.snapshot_id AND CAST(h.req_id AS VARCHAR) = CAST(d.req_id AS VARCHAR)
  - name: handle_db_count
    sql: SELECT snapshot_id, count(*) AS n FROM handle_db GROUP BY snapshot_id
  - name: Linked_Reqs
    sql: SELECT snapshot_id, from_goroutine_id FROM "LINKS" WHERE link = 'req'
links:
  - name: req
    from: { table: handle, columns: [req_id] }
    to: { table: dbq, columns: [req_id] }
`;

const FN = ['frames', 'captured'];
/** The built-in spec's link tables: every query of `links` reads them too. */
const BUILTIN_LINK_TABLES = defaultSpec().links.flatMap((l) => [l.from.table, l.to.table]);

let dir: string;
let instance: DuckDBInstance;

before(async () => {
  dir = freshDataDir();
  const store: DuckDBStore = await openStore(dir);
  await store.setSpec(SPEC, 'tester', 'spec.yaml');
  for (let i = 0; i < 3; i++)
    await store.addSnapshot({
      processes: [{ hostname: 'test', snapshot: syntheticSnapshot(200, 6) }],
      specText: SPEC,
    });
  store.close();
  instance = await DuckDBInstance.create(join(dir, DB_FILE), { access_mode: 'READ_ONLY' });
});

after(() => instance?.closeSync());

function sorted(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.toLowerCase()))].sort();
}

/** A fresh connection's views for one query: what was built, whether the spec was read, the rows. */
async function buildFor(
  sql: string,
  scope: QueryScope = { latest: true },
): Promise<{ built: string[]; specRead: boolean; rows: unknown[][]; conn: DuckDBConnection }> {
  const conn = await instance.connect();
  let specRead = false;
  const views = await QueryViews.open(conn, scope, async () => {
    specRead = true;
    return (await specForScope(conn, scope)).spec;
  });
  await views.build(await views.viewsFor(await tablesOfQuery(conn, sql)));
  const r = await conn.runAndReadAll('SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal');
  const built = sorted(r.getRows().map((row) => String(row[0])));
  assert.deepEqual(views.problems, [], `no view of ${sql} failed to build`);
  const rows = (await conn.runAndReadAll(sql)).getRows();
  return { built, specRead, rows, conn };
}

test('a query naming no table builds no view and never reads the spec', async () => {
  for (const sql of [
    'SELECT 1 AS one',
    'SELECT current_date, 40 + 2',
    'SELECT * FROM (VALUES (1), (2)) v(x)',
  ]) {
    const { built, specRead, conn } = await buildFor(sql);
    assert.deepEqual(built, [], sql);
    assert.equal(specRead, false, sql);
    conn.closeSync();
  }
});

test('built-in tables build alone, without the spec; stacks brings goroutines; raw.* needs no view', async () => {
  const cases: [string, string[]][] = [
    ['SELECT count(*) FROM goroutines', ['goroutines']],
    ['SELECT count(*) FROM stacks', ['goroutines', 'stacks']],
    [
      'SELECT count(*) FROM frames f JOIN processes p USING (snapshot_id, process_id)',
      ['frames', 'processes'],
    ],
    ['SELECT count(*) FROM raw.goroutines', []],
    ['SELECT count(*) FROM RAW."Goroutines"', []],
    ['WITH g AS (SELECT * FROM goroutines) SELECT count(*) FROM g', ['goroutines']],
    [
      'SELECT (SELECT count(*) FROM captured), (SELECT max(version) FROM spec_versions)',
      ['captured', 'spec_versions'],
    ],
  ];
  for (const [sql, want] of cases) {
    const { built, specRead, conn } = await buildFor(sql);
    assert.deepEqual(built, want, sql);
    assert.equal(specRead, false, sql);
    conn.closeSync();
  }
});

test('a function table builds with frames and captured, and what its SQL columns read', async () => {
  const { built, specRead, rows, conn } = await buildFor(
    'SELECT count(*) FROM handle WHERE is_api IS NOT NULL',
  );
  assert.deepEqual(built, sorted(['handle', ...FN]));
  assert.equal(specRead, true);
  assert.ok(Number(rows[0]![0]) > 0, 'the synthetic handle frames are there');
  conn.closeSync();
  const dbq = await buildFor('SELECT max(stack_count) FROM dbq');
  assert.deepEqual(dbq.built, sorted(['dbq', ...FN, 'stacks', 'goroutines']));
  dbq.conn.closeSync();
});

test('a derived table over function tables, and one over that, build what they read transitively', async () => {
  const one = await buildFor('SELECT count(*) FROM handle_db');
  assert.deepEqual(one.built, sorted(['handle_db', 'handle', 'dbq', ...FN, 'stacks', 'goroutines']));
  one.conn.closeSync();
  const two = await buildFor('SELECT sum(n) FROM handle_db_count');
  assert.deepEqual(
    two.built,
    sorted(['handle_db_count', 'handle_db', 'handle', 'dbq', ...FN, 'stacks', 'goroutines']),
  );
  assert.ok(Number(two.rows[0]![0]) > 0, 'handle_db joins rows');
  two.conn.closeSync();
});

test('links and a derived table over links build every link table (the built-in ones too)', async () => {
  const want = sorted(['links', 'handle', 'dbq', ...FN, 'stacks', 'goroutines', ...BUILTIN_LINK_TABLES]);
  const links = await buildFor("SELECT count(*) FROM links WHERE link = 'req'");
  assert.deepEqual(links.built, want);
  assert.ok(Number(links.rows[0]![0]) > 0, 'the req link pairs rows');
  links.conn.closeSync();
  const derived = await buildFor('SELECT count(*) FROM "LINKED_REQS"');
  assert.deepEqual(derived.built, sorted(['linked_reqs', ...want]));
  assert.deepEqual(derived.rows, links.rows);
  derived.conn.closeSync();
});

test('quoted, mixed-case and schema-qualified names of views build just those views', async () => {
  const want = sorted(['handle', ...FN]);
  for (const sql of [
    'SELECT count(*) FROM "handle"',
    'SELECT count(*) FROM "HANDLE"',
    'SELECT count(*) FROM Handle',
    'SELECT count(*) FROM main.handle',
    'SELECT count(*) FROM temp.handle',
    'SELECT count(*) FROM temp.main.handle',
    'SELECT count(*) FROM "temp"."main"."Handle"',
    'SELECT count(*) FROM handle h WHERE h.goroutine_id IN (SELECT goroutine_id FROM raw.frames)',
  ]) {
    const { built, conn } = await buildFor(sql);
    assert.deepEqual(built, want, sql);
    conn.closeSync();
  }
});

test('--all: the views show every snapshot, and build the same set as for one snapshot', async () => {
  const all = await buildFor('SELECT snapshot_id, n FROM handle_db_count ORDER BY snapshot_id', {
    all: true,
  });
  assert.deepEqual(
    all.rows.map((r) => Number(r[0])),
    [1, 2, 3],
  );
  const one = await buildFor('SELECT snapshot_id, n FROM handle_db_count ORDER BY snapshot_id', {
    snapshot: 2,
  });
  assert.deepEqual(
    one.rows.map((r) => Number(r[0])),
    [2],
  );
  assert.deepEqual(all.built, one.built);
  const stacks = await buildFor(
    'SELECT count(DISTINCT snapshot_id) FROM stacks JOIN raw.goroutines USING (stack_id)',
    {
      all: true,
    },
  );
  assert.deepEqual(stacks.built, ['goroutines', 'stacks']);
  for (const c of [all.conn, one.conn, stacks.conn]) c.closeSync();
});

test('what the name search cannot be sure of builds every view: table functions, DESCRIBE, unknown names', async () => {
  const conn = await instance.connect();
  const spec = (await specForScope(conn, { latest: true })).spec;
  conn.closeSync();
  const every = sorted([...knownViews(spec)]);
  for (const sql of [
    'SELECT count(*) FROM duckdb_views()',
    "SELECT count(*) FROM query_table('handle')",
    'DESCRIBE handle_db',
    'SELECT count(*) FROM information_schema.tables',
  ]) {
    const { built, conn } = await buildFor(sql);
    assert.deepEqual(built, every, sql);
    conn.closeSync();
  }
  const c2 = await instance.connect();
  const views = await QueryViews.open(c2, { latest: true }, async () => spec);
  assert.equal(
    await views.viewsFor(await tablesOfQuery(c2, 'SELECT * FROM handel')),
    'all',
    'a typo gets every view',
  );
  c2.closeSync();
});

test('every view of the spec builds and reads with only its own dependencies', async () => {
  const conn = await instance.connect();
  const spec = (await specForScope(conn, { latest: true })).spec;
  conn.closeSync();
  for (const name of knownViews(spec)) {
    const { conn: c } = await buildFor(`SELECT * FROM ${name} LIMIT 1`);
    c.closeSync();
  }
});

test('a view read in a way the name search misses: the query builds every view again and answers', async () => {
  // `query_table` with a computed name: no mention of `handle` for the search to find.
  const spec = SPEC.replace(
    '\nlinks:\n',
    "\n  - name: via_query_table\n    sql: SELECT count(*) AS n FROM query_table('hand' || 'le')\nlinks:\n",
  );
  assert.notEqual(spec, SPEC);
  const d = freshDataDir();
  const store = await openStore(d);
  try {
    await store.setSpec(spec, 'tester', 'spec.yaml');
    await store.addSnapshot({
      processes: [{ hostname: 'test', snapshot: syntheticSnapshot(50, 4) }],
      specText: '',
    });
    const direct = await store.query('SELECT count(*) FROM handle', { latest: true });
    const r = await store.query('SELECT n FROM via_query_table', { latest: true });
    assert.deepEqual(r.rows, direct.rows);
    assert.deepEqual(r.warnings, []);
  } finally {
    store.close();
  }
});
