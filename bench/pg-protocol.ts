/**
 * Benchmark: the PostgreSQL protocol. Rows per second of a 1M-row query over Periscope's
 * PostgreSQL port, over the HTTP API (POST /v1/query, CSV and JSON) for the same query, and
 * over a real PostgreSQL server (Debian's, started here on a port of its own) holding the
 * same rows; and the latency of a small query over an open connection, on both servers, sent
 * as a simple query (with and without an ORDER BY) and with a parameter (the extended protocol,
 * as node-postgres sends it).
 * Rows are counted by a minimal protocol client (support/pg-wire-client.ts) that parses no
 * values, the same against both servers, which answer in turn (one run of each, then the
 * next) so that the machine's load weighs on both alike. Goal: within 2x of PostgreSQL on both.
 *
 * Beside the small queries, the floor of any answer from DuckDB in this process: the same
 * statements prepared once on an in-memory DuckDB holding the same rows, run through the same
 * binding (@duckdb/node-api `run()`, its rows read), in turn with the others; no socket, no
 * session, no audit. What the port adds is the difference; PostgreSQL's whole answer (socket
 * both ways included) against this floor says how close to PostgreSQL a DuckDB-based answer
 * can come at all.
 *
 * The store: --snapshots snapshots of a synthetic process of --goroutines goroutines each
 * (1 frame), so the `all` scope's goroutines has snapshots × goroutines rows.
 *
 * Usage: npx tsc -p . && node dist/bench/pg-protocol.js [--goroutines 250000] [--snapshots 4]
 *   [--runs 5] [--small-runs 200]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/server.js';
import { DB_FILE } from '../src/store/data-dir.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { WireClient } from '../support/pg-wire-client.js';
import { startPostgres } from '../support/postgres-server.js';
import { median, ratio } from '../support/stats.js';
import { writeSyntheticStore } from '../support/synthetic-store.js';
import { formatTable, ms } from '../support/table.js';

/** Milliseconds with two decimals below 10 ms (a small query over PostgreSQL takes a fraction of one). */
function msFine(x: number): string {
  return Number.isNaN(x) ? 'n/a' : x < 10 ? `${x.toFixed(2)} ms` : ms(x);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const GOROUTINES = Number(arg('goroutines') ?? 250_000);
const SNAPSHOTS = Number(arg('snapshots') ?? 4);
const RUNS = Number(arg('runs') ?? 5);
const SMALL_RUNS = Number(arg('small-runs') ?? 200);
const COLUMNS = 'snapshot_id, goroutine_id, status, wait_reason, wait_ns, created_by';
const BIG = `SELECT ${COLUMNS} FROM goroutines`;
const SMALL = 'SELECT snapshot_id, goroutine_count FROM snapshots ORDER BY snapshot_id';
/** The same rows without an ORDER BY (over the table's scan: what DuckDB may plan otherwise under a LIMIT). */
const SMALL_UNORDERED = 'SELECT snapshot_id, goroutine_count FROM snapshots';
/** The small query with a parameter that selects every snapshot (the same rows). */
const SMALL_PARAM =
  'SELECT snapshot_id, goroutine_count FROM snapshots WHERE snapshot_id >= $1 ORDER BY snapshot_id';

async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The time of the big query over one connection; checks the row count. */
async function bigQuery(c: WireClient, rows: number): Promise<number> {
  return timeMs(async () => {
    const r = await c.query(BIG);
    if (r.rows !== rows) throw new Error(`${r.rows} rows, expected ${rows}`);
  });
}

/** The same small statements on DuckDB alone, in this process (see the header). */
interface DuckFloor {
  small(): Promise<void>;
  unordered(): Promise<void>;
  param(): Promise<void>;
  close(): void;
}

async function duckFloor(snapCsv: string): Promise<DuckFloor> {
  const { DuckDBInstance } = await import('../src/store/duckdb-api.js');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`CREATE TABLE snapshots AS SELECT * FROM read_csv('${snapCsv}', header = true)`);
  const small = await conn.prepare(SMALL);
  const unordered = await conn.prepare(SMALL_UNORDERED);
  const param = await conn.prepare(SMALL_PARAM);
  const read = async (p: typeof small): Promise<void> => {
    const r = await p.run();
    if (r.rowCount !== SNAPSHOTS) throw new Error(`DuckDB alone: ${r.rowCount} rows, expected ${SNAPSHOTS}`);
    for (let i = 0; i < r.chunkCount; i++) r.getChunk(i).getColumns();
  };
  return {
    small: () => read(small),
    unordered: () => read(unordered),
    param: () => {
      param.bindVarchar(1, '0');
      return read(param);
    },
    close: () => {
      conn.closeSync();
      db.closeSync();
    },
  };
}

async function smallQuery(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 10; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < SMALL_RUNS; i++) times.push(await timeMs(run));
  return median(times);
}

/** A timed statement of a server (undefined: that server is missing). */
type Run = (() => Promise<unknown>) | undefined;

/**
 * Medians of `runs` timed in turn (each round runs every one, then the next round), after 10
 * untimed rounds; NaN for a run that is missing (no PostgreSQL here).
 */
async function inTurn(runs: readonly [Run, Run, Run]): Promise<[number, number, number]> {
  for (let i = 0; i < 10; i++) for (const run of runs) await run?.();
  const times: [number[], number[], number[]] = [[], [], []];
  for (let i = 0; i < SMALL_RUNS; i++)
    for (const [k, run] of runs.entries()) if (run) times[k]!.push(await timeMs(run));
  const at = (k: 0 | 1 | 2): number => (runs[k] ? median(times[k]) : Number.NaN);
  return [at(0), at(1), at(2)];
}

async function httpQuery(url: string, token: string, sql: string, format: 'csv' | 'json'): Promise<string> {
  const r = await fetch(`${url}/v1/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql, all: true, format }),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${text.slice(0, 200)}`);
  return text;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const total = GOROUTINES * SNAPSHOTS;
  console.log(
    `pg-protocol: ${total} rows (${SNAPSHOTS} snapshots × ${GOROUTINES} goroutines); ${RUNS} runs, ${SMALL_RUNS} small; ${machine.short}; Node ${machine.node}; load ${loadAverage()}; ${today()}`,
  );
  const root = mkdtempSync(join(tmpdir(), 'periscope-bench-pg-'));
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  const csv = join(root, 'goroutines.csv');
  const snapCsv = join(root, 'snapshots.csv');
  await writeSyntheticStore(dataDir, SNAPSHOTS, GOROUTINES);
  {
    // The same rows for PostgreSQL, read from the store's file.
    const { DuckDBInstance } = await import('../src/store/duckdb-api.js');
    const db = await DuckDBInstance.create(join(dataDir, DB_FILE), { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    await conn.run(`COPY (SELECT ${COLUMNS} FROM raw.goroutines) TO '${csv}' (HEADER, FORMAT csv)`);
    await conn.run(
      `COPY (SELECT snapshot_id, goroutine_count FROM raw.snapshots) TO '${snapCsv}' (HEADER, FORMAT csv)`,
    );
    conn.closeSync();
    db.closeSync();
    chmodSync(csv, 0o644);
    chmodSync(snapCsv, 0o644);
  }
  const server = await startServer({ dataDir, port: 0, pg: { port: 0 }, agentLog: () => undefined });
  const token = (await server.context.tokens.create('user', 'bench')).token;
  const pgPort = server.pgPort!;
  const rows: string[][] = [['measure', 'Periscope', 'PostgreSQL', 'ratio (PostgreSQL/Periscope)']];
  const notes: string[] = [];
  const pg = startPostgres(join(root, 'pg'), 20_000 + (process.pid % 20_000));
  try {
    // Both servers answer in turn, run by run, so that the machine's load (shared, it swings)
    // weighs on both alike: the ratio is the figure, not the times.
    let anchor: WireClient | undefined;
    if ('missing' in pg) notes.push(`PostgreSQL: ${pg.missing}`);
    else {
      pg.psql(
        `CREATE TABLE goroutines (snapshot_id bigint, goroutine_id bigint, status text, wait_reason text, wait_ns bigint, created_by text);
         COPY goroutines FROM '${csv}' (FORMAT csv, HEADER);
         CREATE TABLE snapshots (snapshot_id bigint, goroutine_count bigint);
         COPY snapshots FROM '${snapCsv}' (FORMAT csv, HEADER);`,
      );
      pg.psql('VACUUM ANALYZE');
      anchor = await WireClient.connect({ port: pg.port, user: 'postgres', database: 'postgres' });
      notes.push(`PostgreSQL ${pg.version} (fsync off, default settings otherwise)`);
    }
    const ours = await WireClient.connect({ port: pgPort, user: 'bench', database: 'all', password: token });
    const duck = await duckFloor(snapCsv);
    const oursBig: number[] = [];
    const pgBig: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      oursBig.push(await bigQuery(ours, total));
      if (anchor) pgBig.push(await bigQuery(anchor, total));
    }
    const [small, smallPg, smallDuck] = await inTurn([
      () => ours.query(SMALL),
      anchor && (() => anchor.query(SMALL)),
      duck.small,
    ]);
    const [unordered, unorderedPg, unorderedDuck] = await inTurn([
      () => ours.query(SMALL_UNORDERED),
      anchor && (() => anchor.query(SMALL_UNORDERED)),
      duck.unordered,
    ]);
    const param = async (c: WireClient) => {
      const r = await c.queryParams(SMALL_PARAM, ['0']);
      if (r.rows !== SNAPSHOTS) throw new Error(`${r.rows} rows, expected ${SNAPSHOTS}`);
    };
    const [withParam, withParamPg, withParamDuck] = await inTurn([
      () => param(ours),
      anchor && (() => param(anchor)),
      duck.param,
    ]);
    duck.close();
    ours.close();
    anchor?.close();
    const csvTimes: number[] = [];
    for (let i = 0; i < RUNS; i++)
      csvTimes.push(await timeMs(() => httpQuery(server.url, token, BIG, 'csv')));
    const csvMs = median(csvTimes);
    const jsonTimes: number[] = [];
    for (let i = 0; i < RUNS; i++)
      jsonTimes.push(await timeMs(() => httpQuery(server.url, token, BIG, 'json')));
    const httpSmall = await smallQuery(() => httpQuery(server.url, token, SMALL, 'json'));

    const big = median(oursBig);
    const bigPg = anchor ? median(pgBig) : Number.NaN;
    const perSec = (t: number): string => `${Math.round((total / t) * 1000).toLocaleString('en-US')} rows/s`;
    rows.push([`${total} rows, simple query (time)`, ms(big), ms(bigPg), ratio(bigPg, big)]);
    rows.push([`${total} rows, simple query (rate)`, perSec(big), perSec(bigPg), '']);
    rows.push([`same over HTTP, CSV (time; ratio HTTP/pg port)`, ms(csvMs), '', ratio(csvMs, big)]);
    rows.push([
      `same over HTTP, JSON (time; ratio HTTP/pg port)`,
      ms(median(jsonTimes)),
      '',
      ratio(median(jsonTimes), big),
    ]);
    rows.push([
      `small query over an open connection (median of ${SMALL_RUNS})`,
      msFine(small),
      msFine(smallPg),
      ratio(smallPg, small),
    ]);
    rows.push([
      `same without ORDER BY (median of ${SMALL_RUNS})`,
      msFine(unordered),
      msFine(unorderedPg),
      ratio(unorderedPg, unordered),
    ]);
    rows.push([
      `same with a parameter ($1, extended protocol; median of ${SMALL_RUNS})`,
      msFine(withParam),
      msFine(withParamPg),
      ratio(withParamPg, withParam),
    ]);
    rows.push(['small query over HTTP (keep-alive)', msFine(httpSmall), '', ratio(httpSmall, small)]);
    // The floor (see the header): PostgreSQL's whole answer against DuckDB's run alone.
    const floor = (label: string, d: number | undefined, p: number | undefined): void => {
      rows.push([
        `${label}: DuckDB alone in this process (no socket)`,
        msFine(d!),
        msFine(p!),
        ratio(p!, d!),
      ]);
    };
    floor('small query', smallDuck, smallPg);
    floor('without ORDER BY', unorderedDuck, unorderedPg);
    floor('with a parameter', withParamDuck, withParamPg);
    console.log(formatTable(rows));
    for (const n of notes) console.log(n);
    console.log(`load at the end: ${loadAverage()}`);
  } finally {
    if (!('missing' in pg)) pg.stop();
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
