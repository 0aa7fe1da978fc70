/**
 * Grafana's PostgreSQL data source against the PostgreSQL protocol, replayed with its own
 * driver (pgx v5, testdata/pgxgrafana) and its own SQL: the health check, the version and
 * TimescaleDB probes it makes when a data source is saved, the query builder's table and
 * column lists, and time-series panels with expanded macros, each with the OIDs and values
 * Grafana decodes. The store holds real snapshots of the goroutines fixture.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { expandGrafanaMacros } from '../../support/grafana-macros.js';
import { type PgxOutcome, pgxReplay } from '../../support/pgx-grafana.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

function conn(database = 'all'): string {
  return `postgres://grafana:${encodeURIComponent(srv.user)}@127.0.0.1:${srv.port}/${database}?sslmode=disable`;
}

/** Runs one step and returns its outcome, failing with the server's error when there is one. */
async function one(name: string, sql: string, database = 'all'): Promise<PgxOutcome> {
  const [o] = await pgxReplay(conn(database), [{ name, sql }]);
  assert.ok(o, 'pgxgrafana answered nothing');
  assert.equal(o.error, undefined, `${name}: ${JSON.stringify(o.error)}`);
  return o;
}

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot(2));
});

after(() => srv.server.close());

test('the health check (pgx Ping, then SELECT 1) succeeds', async () => {
  const [ping, select] = await pgxReplay(conn(), [
    { name: 'ping', sql: '' },
    { name: 'select 1', sql: 'SELECT 1' },
  ]);
  assert.equal(ping?.error, undefined);
  assert.deepEqual(
    select?.results[0]?.fields.map((f) => f.oid),
    [23],
  );
  assert.deepEqual(select?.results[0]?.rows, [[1]]);
});

test('the version query answers an int4 that Grafana reads as PostgreSQL 15', async () => {
  const o = await one('version', "SELECT current_setting('server_version_num')::int/100 as version");
  assert.deepEqual(o.results[0]?.fields, [{ name: 'version', oid: 23, type: 'int4' }]);
  assert.deepEqual(o.results[0]?.rows, [[1500]]);
  const num = await one(
    'version num',
    "SELECT current_setting('server_version_num') AS v, current_schema() AS s",
  );
  assert.deepEqual(num.results[0]?.rows, [['150000', 'main']]);
});

test('the TimescaleDB probe finds no extension', async () => {
  const o = await one('timescaledb', "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'");
  // pgx copies a result's fields with its first row: no rows, no fields, as from PostgreSQL.
  assert.deepEqual(o.results[0]?.rows, []);
  assert.equal(o.results[0]?.tag, 'SELECT 0');
});

// Grafana's showTables() and getSchema(table), as its query builder sends them.
const searchPath = `
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )`;

test('the query builder lists the scope’s tables', async () => {
  const o = await one(
    'tables',
    `SELECT
    CASE WHEN ${searchPath}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN ${searchPath} THEN 0 ELSE 1 END, 1`,
  );
  assert.deepEqual(o.results[0]?.fields, [{ name: 'table', oid: 25, type: 'text' }]);
  const names = o.results[0]!.rows.map((r) => r[0]);
  for (const t of ['goroutines', 'frames', 'processes', 'snapshots'])
    assert.ok(names.includes(t), `${t} in ${names}`);
  const inSchema = await one(
    'tables of main',
    `SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'main'
      ORDER BY 1`,
  );
  assert.deepEqual(inSchema.results[0]?.rows, o.results[0]?.rows);
});

test('the query builder lists a table’s columns with PostgreSQL type names', async () => {
  for (const table of ['goroutines', 'main.goroutines']) {
    const lit = `'${table}'`;
    const o = await one(
      `columns of ${table}`,
      `SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident(${lit}),1) = 2
        THEN quote_ident(table_schema) = (parse_ident(${lit}))[1]
          AND quote_ident(table_name) = (parse_ident(${lit}))[2]
        ELSE quote_ident(table_name) = ${lit}
          AND ${searchPath}
      END`,
    );
    const cols = new Map(o.results[0]!.rows.map((r) => [r[0], r[1]]));
    assert.equal(cols.get('goroutine_id'), 'bigint');
    assert.equal(cols.get('status'), 'text');
    assert.equal(cols.get('system'), 'boolean');
    assert.equal(cols.get('labels'), 'json');
  }
  const snapshots = await one(
    'columns of snapshots',
    `SELECT quote_ident(column_name) AS "column", data_type AS "type" FROM information_schema.columns WHERE quote_ident(table_name) = 'snapshots'`,
  );
  assert.ok(
    snapshots.results[0]!.rows.some((r) => r[0] === 'created_at' && r[1] === 'timestamp with time zone'),
  );
});

test('a time-series panel with expanded macros returns a timestamptz time column and float8/int8 values', async () => {
  const now = new Date();
  const range = {
    from: new Date(now.getTime() - 3_600_000),
    to: new Date(now.getTime() + 60_000),
    intervalSeconds: 60,
  };
  const timeFilter = expandGrafanaMacros(
    `SELECT $__time(s.created_at), g.status AS metric, count(*) AS goroutines
     FROM goroutines g JOIN snapshots s USING (snapshot_id)
     WHERE $__timeFilter(s.created_at)
     GROUP BY ALL ORDER BY 1`,
    range,
  );
  assert.match(timeFilter, /s\.created_at BETWEEN '\d{4}-\d\d-\d\dT[\d:.]+Z' AND '/);
  const o = await one('timeFilter', timeFilter);
  assert.deepEqual(
    o.results[0]?.fields.map((f) => [f.name, f.oid]),
    [
      ['time', 1184],
      ['metric', 25],
      ['goroutines', 20],
    ],
  );
  const rows = o.results[0]!.rows;
  assert.ok(rows.length >= 2, `one row per snapshot and status: ${JSON.stringify(rows)}`);
  assert.equal(new Set(rows.map((r) => r[0])).size, 2, 'two snapshots, two times');
  for (const [t, , n] of rows) {
    assert.ok(Date.parse(String(t)) >= range.from.getTime(), String(t));
    assert.ok(typeof n === 'number' && n > 0);
  }
  const grouped = expandGrafanaMacros(
    `SELECT $__timeGroupAlias(s.created_at, $__interval), avg(s.goroutine_count) AS goroutines
     FROM (SELECT *, epoch(created_at) AS epoch_s FROM snapshots) s
     WHERE $__unixEpochFilter(s.epoch_s) GROUP BY 1 ORDER BY 1`,
    range,
  );
  assert.match(grouped, /floor\(extract\(epoch from s\.created_at\)\/60\)\*60 AS "time"/);
  assert.match(grouped, /s\.epoch_s >= \d+ AND s\.epoch_s <= \d+/);
  const g = await one('timeGroup', grouped);
  assert.deepEqual(
    g.results[0]?.fields.map((f) => [f.name, f.oid]),
    [
      ['time', 701],
      ['goroutines', 701],
    ],
  );
  const [[t]] = g.results[0]!.rows as [[number]];
  assert.equal(t % 60, 0);
  assert.ok(Math.abs(t * 1000 - now.getTime()) < 3_600_000);
});

test('a refused statement comes back as a PgError with its SQLSTATE, and the pool stays usable', async () => {
  const [drop, after] = await pgxReplay(conn(), [
    { name: 'drop', sql: 'DROP TABLE goroutines' },
    { name: 'after', sql: 'SELECT count(*) AS n FROM snapshots' },
  ]);
  assert.equal(drop?.error?.code, '25006');
  assert.deepEqual(after?.results[0]?.rows, [[2]]);
});
