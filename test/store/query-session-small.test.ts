/**
 * A query session runs a statement whose last result was small whole (one call into DuckDB,
 * its chunks then read synchronously) and streams the others: the rows are the same either way.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import type { DuckDBQuerySession } from '../../src/store/query-session.js';
import type { TextChunk } from '../../src/store/store.js';
import { syntheticSnapshot } from '../../support/synthetic-snapshot.js';
import { freshDataDir } from './store-support.js';

let store: DuckDBStore;
let session: DuckDBQuerySession;

before(async () => {
  store = await DuckDBStore.open(freshDataDir());
  for (let i = 0; i < 2; i++)
    await store.addSnapshot({
      processes: [{ hostname: 'h', snapshot: syntheticSnapshot(3000, 1) }],
      specText: '',
    });
  session = await store.session({ all: true });
});

after(() => {
  session.close();
  store.close();
});

/** Runs a statement through streamText and returns how it ran and its rows as text. */
async function read(
  sql: string,
  from: DuckDBQuerySession = session,
): Promise<{ materialized: boolean; rows: string[] }> {
  const bytesAsText = (c: TextChunk, col: number, r: number): string => {
    const column = c.columns[col]!;
    if ('bytes' in column)
      return column.lengths[r]! < 0
        ? 'null'
        : column.bytes.toString('utf8', column.starts[r]!, column.starts[r]! + column.lengths[r]!);
    return String(column[r]);
  };
  const s = await from.streamText(sql, [], (c, ref) =>
    c.type === 'BIGINT' ? undefined : `CAST(${ref} AS VARCHAR)`,
  );
  const rows: string[] = [];
  for (let c = await s.next(); c; c = await s.next())
    for (let r = 0; r < c.rowCount; r++)
      rows.push(Array.from({ length: c.columns.length }, (_, col) => bytesAsText(c, col, r)).join('|'));
  return { materialized: s.materialized, rows };
}

test('a statement that returned few rows runs whole the next time, with the same rows', async () => {
  const sql = 'SELECT snapshot_id, goroutine_count FROM snapshots ORDER BY snapshot_id';
  const first = await read(sql);
  assert.equal(first.materialized, false, 'a statement never run before is streamed');
  assert.equal(first.rows.length, 2);
  const second = await read(sql);
  assert.equal(second.materialized, true, 'a statement that returned 2 rows was streamed again');
  assert.deepEqual(second.rows, first.rows);
  assert.deepEqual((await read(sql)).rows, first.rows);
});

test('an unordered statement known small runs whole with the rows it streams: NULLs, lists, JSON, times in the session zone', async () => {
  // A LIMIT over this scan is what DuckDB plans as a late materialization: it is bounded otherwise (smallBound).
  const zoned = await store.session({ all: true });
  try {
    await zoned.setTimeZone('Asia/Kolkata');
    const sql =
      'SELECT *, NULL::INTEGER AS nothing, [snapshot_id, NULL] AS list, created_at AS at, snapshot_id * 1.5 AS half FROM snapshots';
    const first = await read(sql, zoned);
    assert.equal(first.materialized, false, 'a statement never run before is streamed');
    assert.equal(first.rows.length, 2);
    assert.match(first.rows[0]!, /\|null\|\[1, NULL\]\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.\d]*\+05:30\|1\.5$/);
    const second = await read(sql, zoned);
    assert.equal(second.materialized, true, 'a statement that returned 2 rows was streamed again');
    assert.deepEqual(second.rows, first.rows);
    // Values as DuckDB prints them (no cell printed in SQL), held whole as a portal's answer is.
    const held = await zoned.queryText(sql);
    const streamed = await zoned.queryText(`${sql} -- not known`);
    assert.deepEqual(held, streamed);
    assert.equal(held.rows.length, 2);
    assert.deepEqual(held.rows[1]!.slice(-4, -2), [null, '[2, NULL]']);
  } finally {
    zoned.close();
  }
});

test('a statement that returned more than a chunk of rows stays streamed', async () => {
  const sql = 'SELECT snapshot_id, goroutine_id, status FROM goroutines ORDER BY snapshot_id, goroutine_id';
  const first = await read(sql);
  assert.equal(first.rows.length, 6000);
  const second = await read(sql);
  assert.equal(second.materialized, false, 'a 6000-row result was run whole');
  assert.deepEqual(second.rows, first.rows);
});

test('a statement read only in part is streamed the next time', async () => {
  const sql = 'SELECT goroutine_id FROM goroutines ORDER BY goroutine_id LIMIT 3';
  const s = await session.streamText(sql);
  assert.equal(s.materialized, false);
  assert.equal(
    (await session.streamText(sql)).materialized,
    false,
    'a result never read to its end was counted',
  );
});

test('a small statement whose table grew past a chunk while the session was open gives every row, streamed', async () => {
  await store.setSpec(
    'programs:\n  - name: pv\n    match: { executable: "pv$" }\nprobes:\n  - name: calls\n    program: pv\n    function: main.handle\n    capture: { n: n }\n    ttl: 1h\n',
    'test',
    'spec',
    { force: true },
  );
  const batch = (from: number, count: number) =>
    store.addProbeBatch({
      agentId: 'a1',
      events: Array.from({ length: count }, (_, i) => ({
        probe: 'calls',
        process: 'h:1',
        timeUs: 1_700_000_000_000_000 + from + i,
        goroutine: 1,
        thread: 1,
        site: { kind: 'entry' as const, function: 'main.handle' },
        values: { n: from + i },
      })),
      counts: [],
      histograms: [],
      notices: [],
    });
  await batch(0, 2);
  const probes = await store.session({ all: true });
  try {
    const sql = 'SELECT n FROM calls ORDER BY n';
    // The same rows without an ORDER BY: a LIMIT over this scan is what DuckDB plans as a late
    // materialization, so it is bounded otherwise (smallBound), and must still hit its bound.
    const unordered = 'SELECT seq FROM probe_events';
    const readAll = async (text: string) => {
      const s = await probes.streamText(text, [], (_c, ref) => `CAST(${ref} AS VARCHAR)`);
      let rows = 0;
      for (let c = await s.next(); c; c = await s.next()) rows += c.rowCount;
      return { rows, materialized: s.materialized };
    };
    for (const text of [sql, unordered]) {
      assert.deepEqual(await readAll(text), { rows: 2, materialized: false });
      assert.deepEqual(await readAll(text), { rows: 2, materialized: true });
    }
    const generation = store.generation;
    await batch(2, 3000);
    assert.equal(store.generation, generation, 'the batch moved the generation: this session would be stale');
    for (const text of [sql, unordered]) {
      // Run under its bound, it hit it: run again as it is, every row.
      assert.deepEqual(await readAll(text), { rows: 3002, materialized: false }, text);
      assert.deepEqual(await readAll(text), { rows: 3002, materialized: false }, text);
    }
  } finally {
    probes.close();
  }
});

/** Runs a statement with parameters through streamText (values as DuckDB prints them) and returns how it ran, its columns and rows. */
async function readParams(
  sql: string,
  params: readonly (string | null)[],
): Promise<{ materialized: boolean; columns: string[]; rows: string[] }> {
  const s = await session.streamText(sql, params);
  const rows: string[] = [];
  for (let c = await s.next(); c; c = await s.next())
    for (let r = 0; r < c.rowCount; r++)
      rows.push(c.columns.map((col) => String((col as readonly (string | null)[])[r])).join('|'));
  return { materialized: s.materialized, columns: s.columns.map((c) => `${c.name} ${c.type}`), rows };
}

test('a statement with parameters known small runs whole with other values, its columns named and typed as it is', async () => {
  const sql =
    'SELECT snapshot_id, goroutine_count, $2 AS s, $3 AS s, 1, 1 FROM snapshots WHERE snapshot_id >= $1::BIGINT ORDER BY snapshot_id DESC';
  const first = await readParams(sql, ['1', 'x', null]);
  assert.equal(first.materialized, false, 'a statement never run before is streamed');
  assert.deepEqual(first.rows, ['2|3000|x|null|1|1', '1|3000|x|null|1|1']);
  const second = await readParams(sql, ['2', 'y', 'z']);
  assert.equal(
    second.materialized,
    true,
    'a parameterised statement that returned 2 rows was streamed again',
  );
  assert.deepEqual(second.rows, ['2|3000|y|z|1|1']);
  // A `SELECT *` around it would name the repeated columns s_1 and 1_1; a NULL parameter is typed otherwise.
  assert.deepEqual(second.columns, [
    'snapshot_id BIGINT',
    'goroutine_count BIGINT',
    's VARCHAR',
    's VARCHAR',
    '1 INTEGER',
    '1 INTEGER',
  ]);
  const streamed = await readParams(`${sql} -- not known`, ['2', 'y', 'z']);
  assert.deepEqual(streamed, { ...second, materialized: false });
  const held = await session.queryText(sql, ['2', 'y', 'z']);
  assert.deepEqual(
    held.columns.map((c) => `${c.name} ${c.type}`),
    second.columns,
  );
  assert.deepEqual(held.rows, [['2', '3000', 'y', 'z', '1', '1']]);
});

test('a statement with parameters known small that another value makes large gives every row, streamed, then runs whole again', async () => {
  const sql =
    'SELECT goroutine_id FROM goroutines WHERE snapshot_id = 1 AND goroutine_id >= $1::BIGINT ORDER BY goroutine_id';
  const ids = (
    await session.queryText('SELECT goroutine_id FROM goroutines WHERE snapshot_id = 1 ORDER BY goroutine_id')
  ).rows.map((r) => r[0]!);
  assert.equal(ids.length, 3000);
  const tail = ids[2997]!;
  assert.deepEqual((await readParams(sql, [tail])).rows, ids.slice(2997));
  assert.equal((await readParams(sql, [tail])).materialized, true);
  // Known small, run under the limit with a value that selects every row: run again as it is.
  const all = await readParams(sql, [ids[0]!]);
  assert.deepEqual(all, { materialized: false, columns: ['goroutine_id BIGINT'], rows: ids });
  assert.equal(
    (await readParams(sql, [tail])).materialized,
    false,
    'a statement that returned 3000 rows ran whole',
  );
  assert.deepEqual(await readParams(sql, [tail]), {
    materialized: true,
    columns: ['goroutine_id BIGINT'],
    rows: ids.slice(2997),
  });
  // Held whole (a PostgreSQL portal's answer), as it ran.
  assert.deepEqual(
    (await session.queryText(sql, [ids[0]!])).rows.map((r) => r[0]),
    ids,
  );
  assert.deepEqual(
    (await session.queryText(sql, [tail])).rows.map((r) => r[0]),
    ids.slice(2997),
  );
});

test('a statement with parameters known small still takes exactly its parameters', async () => {
  const sql = 'SELECT snapshot_id FROM snapshots WHERE snapshot_id = $1::BIGINT';
  await readParams(sql, ['1']);
  assert.equal((await readParams(sql, ['1'])).materialized, true);
  await assert.rejects(readParams(sql, []), /the statement has 1 parameters; 0 were given/);
  await assert.rejects(readParams(sql, ['x']), /Could not convert string 'x'|Conversion Error/);
  assert.deepEqual((await readParams(sql, ['2'])).rows, ['2']);
});
