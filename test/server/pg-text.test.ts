/**
 * The text of values over the PostgreSQL port's streamed path (a statement without
 * parameters: DuckDB prints the cells in bulk, pg-types.ts `cellSql`, and they are copied as
 * bytes, store/varchar-cells.ts): each type as PostgreSQL prints it, and a long answer's
 * values, NULLs and order kept across many chunks; and the names of columns a statement did
 * not name.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

/** The raw text of each value (no parsing by type), a query through the simple protocol. */
async function rawRows(sql: string): Promise<{ names: string[]; rows: (string | null)[][] }> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'latest',
    password: srv.user,
  });
  await c.connect();
  try {
    const r = await c.query<(string | null)[]>({
      text: sql,
      rowMode: 'array',
      types: { getTypeParser: () => (v: string) => v },
    });
    return { names: r.fields.map((f) => f.name), rows: r.rows };
  } finally {
    await c.end();
  }
}

test('each type is printed as PostgreSQL prints it', async () => {
  const cases: [string, string | null][] = [
    ['true', 't'],
    ['false', 'f'],
    ['NULL::BOOLEAN', null],
    ['7::TINYINT', '7'],
    ['-9007199254740993::BIGINT', '-9007199254740993'],
    ['170141183460469231731687303715884105727::HUGEINT', '170141183460469231731687303715884105727'],
    ['12.50::DECIMAL(10,2)', '12.50'],
    ['2.5::DOUBLE', '2.5'],
    ['1e20::DOUBLE', '1e+20'],
    ['0.1::FLOAT', '0.1'],
    ["'nan'::DOUBLE", 'NaN'],
    ["'inf'::DOUBLE", 'Infinity'],
    ["'-inf'::FLOAT", '-Infinity'],
    ["TIMESTAMP '2024-01-01 12:00:00.25'", '2024-01-01 12:00:00.25'],
    ["TIMESTAMPTZ '2024-01-01 12:00:00+00'", '2024-01-01 12:00:00+00'],
    ["DATE '2024-02-29'", '2024-02-29'],
    ["TIME '12:00:01.5'", '12:00:01.5'],
    ["INTERVAL '1 day 2 hours'", '1 day 02:00:00'],
    ["'0b3c6d2e-8f3a-4b7e-9c1d-2e5f6a7b8c9d'::UUID", '0b3c6d2e-8f3a-4b7e-9c1d-2e5f6a7b8c9d'],
    ["'grüße 👋, a text longer than twelve bytes'", 'grüße 👋, a text longer than twelve bytes'],
    ['\'{"a": [1]}\'::JSON', '{"a": [1]}'],
    ["['x y', 'é', NULL]", '{"x y",é,NULL}'],
    ['[1, 2]', '{1,2}'],
  ];
  const { rows } = await rawRows(`SELECT ${cases.map(([e], i) => `${e} AS c${i}`).join(', ')}`);
  assert.deepEqual(
    rows[0],
    cases.map(([, v]) => v),
  );
});

test('a streamed answer of many chunks keeps every value, its NULLs and its order', async () => {
  const n = 10_000;
  const { rows } = await rawRows(
    `SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat('é', i % 23) || i::VARCHAR END AS s, i % 3 = 0 AS b FROM range(${n}) t(i) ORDER BY i DESC`,
  );
  assert.equal(rows.length, n);
  rows.forEach((row, k) => {
    const i = n - 1 - k;
    assert.deepEqual(row, [
      String(i),
      i % 7 === 0 ? null : `${'é'.repeat(i % 23)}${i}`,
      i % 3 === 0 ? 't' : 'f',
    ]);
  });
});

test('columns a statement did not name are named as PostgreSQL names them (?column?, count, x)', async () => {
  const { names, rows } = await rawRows(
    `SELECT 1, 'a', goroutine_id, goroutine_id::VARCHAR, count(*), upper('a'), goroutine_id + 1, CASE WHEN true THEN 1 END, 2 AS "2", 3 "y z", 4 AS n FROM goroutines GROUP BY ALL LIMIT 1`,
  );
  assert.deepEqual(names, [
    '?column?',
    '?column?',
    'goroutine_id',
    'goroutine_id',
    'count',
    'upper',
    '?column?',
    'case',
    '2',
    'y z',
    'n',
  ]);
  assert.equal(rows[0]![0], '1');
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'latest',
    password: srv.user,
  });
  await c.connect();
  try {
    const r = await c.query('SELECT 1, $1::INT AS two', [2]);
    assert.deepEqual(
      r.fields.map((f) => f.name),
      ['?column?', 'two'],
    );
    assert.deepEqual(r.rows[0], { '?column?': 1, two: 2 });
  } finally {
    await c.end();
  }
});
