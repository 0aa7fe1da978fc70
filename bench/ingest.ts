/**
 * Benchmark: storing a big snapshot and asking it the usual questions. A synthetic snapshot of
 * 100k goroutines x 10 frames (values captured on two functions) is ingested by Periscope's
 * DuckDB store and, as the anchor, by SQLite (better-sqlite3, what Side-Eye used) with the
 * same tables; then both answer: goroutines grouped by stack, the longest waits, a join of
 * two function tables. Time and size on disk, medians of --runs runs, ratios anchor/Periscope.
 *
 * Usage: npx tsc -p . && node dist/bench/ingest.js [--runs N] [--goroutines N] [--frames N]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { type SqliteDatabase, sqliteIngest, sqliteOpen } from '../support/sqlite-anchor.js';
import { ratio, summarize } from '../support/stats.js';
import { SYNTHETIC_SPEC, syntheticSnapshot } from '../support/synthetic-snapshot.js';
import { formatTable, ms } from '../support/table.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const RUNS = arg('runs', 3);
const GOROUTINES = arg('goroutines', 100_000);
const FRAMES = arg('frames', 10);

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** The questions, in DuckDB (over Periscope's tables) and SQLite (same tables) dialects. */
const QUERIES: { name: string; duck: string; lite: string }[] = [
  {
    name: 'goroutines grouped by stack (top 20)',
    duck: 'SELECT stack_id, count(*) AS n, any_value(top_function) AS top FROM goroutines GROUP BY stack_id ORDER BY n DESC LIMIT 20',
    lite: 'SELECT stack_id, count(*) AS n, min(top_function) AS top FROM goroutines WHERE snapshot_id = 1 GROUP BY stack_id ORDER BY n DESC LIMIT 20',
  },
  {
    name: 'longest waits (top 20)',
    duck: "SELECT goroutine_id, wait_reason, wait_ns FROM goroutines WHERE status = 'waiting' ORDER BY wait_ns DESC LIMIT 20",
    lite: "SELECT goroutine_id, wait_reason, wait_ns FROM goroutines WHERE snapshot_id = 1 AND status = 'waiting' ORDER BY wait_ns DESC LIMIT 20",
  },
  {
    name: 'join of two function tables',
    duck:
      'SELECT count(*) AS n, count(DISTINCT h.path) AS paths FROM handle h JOIN dbq q ' +
      'ON h.snapshot_id = q.snapshot_id AND h.process_id = q.process_id AND h.goroutine_id = q.goroutine_id WHERE h.req_id = q.req_id',
    lite:
      'SELECT count(*) AS n, count(DISTINCT h.path) AS paths FROM handle h JOIN dbq q ' +
      'ON h.snapshot_id = q.snapshot_id AND h.process_id = q.process_id AND h.goroutine_id = q.goroutine_id WHERE h.snapshot_id = 1 AND h.req_id = q.req_id',
  },
  {
    name: 'frames by function (top 10)',
    duck: 'SELECT function, count(*) AS n FROM frames GROUP BY function ORDER BY n DESC, function LIMIT 10',
    lite: 'SELECT function, count(*) AS n FROM frames WHERE snapshot_id = 1 GROUP BY function ORDER BY n DESC, function LIMIT 10',
  },
];

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `ingest: ${GOROUTINES} goroutines x ${FRAMES} frames, ${RUNS} runs; ${machine.short}; load ${loadAverage()}`,
  );
  const snap = syntheticSnapshot(GOROUTINES, FRAMES);
  const captured = snap.goroutines.reduce(
    (n, g) => n + g.captures.reduce((m, c) => m + c.values.length, 0),
    0,
  );
  console.log(`rows: ${GOROUTINES} goroutines, ${GOROUTINES * FRAMES} frames, ${captured} captured values`);
  const root = mkdtempSync(join(tmpdir(), 'periscope-bench-ingest-'));
  const duckIngest: number[] = [];
  const liteIngest: number[] = [];
  const liteIndex: number[] = [];
  let duckBytes = 0;
  let liteBytes = 0;
  const duckDir = join(root, 'duck');
  const liteDir = join(root, 'lite');
  for (let r = 0; r < RUNS; r++) {
    rmSync(duckDir, { recursive: true, force: true });
    rmSync(liteDir, { recursive: true, force: true });
    // Alternate which side goes first.
    const sides = [
      async () => {
        const t0 = performance.now();
        const store = await DuckDBStore.open(duckDir);
        await store.setSpec(SYNTHETIC_SPEC, 'bench', 'synthetic.yaml');
        await store.addSnapshot({
          processes: [{ hostname: 'bench', snapshot: snap }],
          specText: SYNTHETIC_SPEC,
        });
        // Timed as before: up to the last write, not the close's checkpoint.
        duckIngest.push(performance.now() - t0);
        await store.close();
        duckBytes = dirBytes(duckDir);
      },
      async () => {
        const t0 = performance.now();
        mkdirSync(liteDir, { recursive: true });
        const { indexMs } = sqliteIngest(join(liteDir, 'anchor.sqlite'), snap, SYNTHETIC_SPEC);
        liteIngest.push(performance.now() - t0);
        liteIndex.push(indexMs);
        liteBytes = dirBytes(liteDir);
      },
    ];
    if (r % 2 === 1) sides.reverse();
    for (const s of sides) await s();
  }
  const rows: string[][] = [['figure', 'Periscope (DuckDB)', 'SQLite', 'ratio (SQLite / Periscope)']];
  const di = summarize(duckIngest).median;
  const li = summarize(liteIngest).median;
  rows.push([
    'ingest, median (incl. SQLite indexes)',
    ms(di),
    `${ms(li)} (indexes ${ms(summarize(liteIndex).median)})`,
    ratio(li, di),
  ]);
  rows.push([
    'size on disk',
    `${(duckBytes / 2 ** 20).toFixed(1)} MiB`,
    `${(liteBytes / 2 ** 20).toFixed(1)} MiB`,
    ratio(liteBytes, duckBytes),
  ]);

  const store = await DuckDBStore.open(duckDir, { readOnly: true });
  const session = await store.session({ latest: true });
  const lite: SqliteDatabase = sqliteOpen(join(liteDir, 'anchor.sqlite'));
  for (const q of QUERIES) {
    const once: number[] = [];
    const inSession: number[] = [];
    const lt: number[] = [];
    let dr = '';
    let lr = '';
    for (let r = 0; r < Math.max(RUNS, 5); r++) {
      let t0 = performance.now();
      const res = await store.query(q.duck, { latest: true });
      once.push(performance.now() - t0);
      dr = JSON.stringify(res.rows.length > 0 ? res.rows[0] : null);
      t0 = performance.now();
      await session.query(q.duck);
      inSession.push(performance.now() - t0);
      t0 = performance.now();
      const lres = lite.prepare(q.lite).all() as Record<string, unknown>[];
      lt.push(performance.now() - t0);
      lr = JSON.stringify(lres.length > 0 ? Object.values(lres[0]!) : null);
    }
    if (dr !== lr) console.log(`  note: first rows differ for "${q.name}": ${dr} vs ${lr}`);
    const o = summarize(once).median;
    const d = summarize(inSession).median;
    const l = summarize(lt).median;
    rows.push([
      `query: ${q.name}, median`,
      `${d.toFixed(1)} ms (one-off ${o.toFixed(1)} ms)`,
      `${l.toFixed(1)} ms`,
      `${ratio(l, d)} (one-off ${ratio(l, o)})`,
    ]);
  }
  session.close();
  await store.close();
  lite.close();
  console.log(formatTable(rows));
  console.log(
    'Periscope queries: in an open session (views built once), and one-off through Store.query (a fresh\n' +
      'connection, the spec’s views, the read-only check) as `periscope query` runs them. SQLite: a prepared\n' +
      'statement on an open database.',
  );
  rmSync(root, { recursive: true, force: true });
}

await main();
