/**
 * Benchmark: storing probe events in the scaled-out store against the embedded one (the
 * anchor). The same stream (--batches batches of --events events each, as agents send them,
 * all handed to the store at once, as a busy server does) is stored by the embedded DuckDB
 * store, and by a SharedStore on a real PostgreSQL and a file:// object directory (buffered,
 * flushed as Parquet, indexed, loaded back into the cache), and read back by a second
 * SharedStore (another server: every batch loaded into its cache). Wall time and this
 * process's CPU time until every batch is readable; PostgreSQL's own CPU is not counted.
 * Medians of --runs runs, sides alternated; ratios anchor/Periscope. Then what a server that
 * starts loads per flush: --flushes small flushes (10 events each, as a quiet fleet writes one a
 * second per server) loaded by a new server as it opens, and the same after one compaction
 * pass merged them (probe-compaction.ts): the uncompacted start is the anchor of the compacted
 * one. --runs 0 measures only the start.
 *
 * Usage: npx tsc -p . && node dist/bench/probe-shared.js [--runs N] [--batches N] [--events N] [--flushes N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { SharedStore } from '../src/store/shared/shared-store.js';
import type { ProbeBatchInput } from '../src/store/store.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { startPostgres } from '../support/postgres-server.js';
import { ratio, summarize } from '../support/stats.js';
import { formatTable, ms } from '../support/table.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const RUNS = arg('runs', 3);
const BATCHES = arg('batches', 50);
const EVENTS = arg('events', 1000);
/** Flushes of a few events each that a new server loads at its start (the cost per flush). */
const FLUSHES = arg('flushes', 200);

function batch(i: number): ProbeBatchInput {
  return {
    agentId: `agent-${i % 4}`,
    events: Array.from({ length: EVENTS }, (_, k) => ({
      probe: 'calls',
      process: `host-${i % 4}:${100 + (k % 8)}`,
      timeUs: 1_700_000_000_000_000 + i * EVENTS + k,
      goroutine: k,
      thread: 1,
      site: { kind: 'entry', function: 'main.handle', file: 'main.go', line: 42 },
      values: { n: k, user: `user-${k % 50}`, path: '/api/v1/orders' },
    })),
    counts: [],
    histograms: [],
    notices: [],
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function timed(fn: () => Promise<void>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `probe-shared: ${BATCHES} batches x ${EVENTS} events, ${RUNS} runs; ${machine.short}; load ${loadAverage()}`,
  );
  const root = mkdtempSync(join(tmpdir(), 'periscope-bench-probes-'));
  const port = await freePort();
  const pgDir = mkdtempSync(join(tmpdir(), 'periscope-bench-pg-')); // the postgres user must reach it
  const pg = startPostgres(pgDir, port);
  if ('missing' in pg) throw new Error(`this benchmark needs PostgreSQL: ${pg.missing}`);
  const batches = Array.from({ length: BATCHES }, (_, i) => batch(i));
  const total = BATCHES * EVENTS;
  const embedded: Sample[] = [];
  const shared: Sample[] = [];
  const other: Sample[] = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      const sides = [
        async () => {
          const dir = join(root, `embedded-${r}`);
          const store = await DuckDBStore.open(dir, { noExternalAccess: true });
          embedded.push(
            await timed(async () => {
              await Promise.all(batches.map((b) => store.addProbeBatch(b)));
            }),
          );
          await store.close();
        },
        async () => {
          pg.psql(`CREATE DATABASE run${r}`);
          const url = `postgres://postgres@127.0.0.1:${port}/run${r}`;
          const objects = pathToFileURL(mkdtempSync(join(root, 'objects-'))).href;
          const a = await SharedStore.open({ store: url, objects, cacheDir: join(root, `a-${r}`) });
          const b = await SharedStore.open({ store: url, objects, cacheDir: join(root, `b-${r}`) });
          try {
            shared.push(
              await timed(async () => {
                await Promise.all(batches.map((x) => a.addProbeBatch(x)));
              }),
            );
            other.push(
              await timed(async () => {
                const got = await b.probeEvents({ after: total - 1, limit: 10 });
                if (got.length !== 1) throw new Error(`B read ${got.length} events after ${total - 1}`);
              }),
            );
          } finally {
            a.close();
            b.close();
          }
        },
      ];
      if (r % 2 === 1) sides.reverse();
      for (const s of sides) await s();
    }
  } finally {
    pg.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  }
  // A new server's start over many small flushes.
  let startSample: Sample | undefined;
  let compactSample: Sample | undefined;
  let compactedStart: Sample | undefined;
  let merged = '';
  {
    const pgDir2 = mkdtempSync(join(tmpdir(), 'periscope-bench-pg-'));
    const port2 = await freePort();
    const pg2 = startPostgres(pgDir2, port2);
    if ('missing' in pg2) throw new Error(pg2.missing);
    const root2 = mkdtempSync(join(tmpdir(), 'periscope-bench-probes-'));
    try {
      const url = `postgres://postgres@127.0.0.1:${port2}/postgres`;
      const objects = pathToFileURL(mkdtempSync(join(root2, 'objects-'))).href;
      const a = await SharedStore.open({
        store: url,
        objects,
        cacheDir: join(root2, 'a'),
        probeFlush: { intervalMs: 5 },
        probeCompaction: { intervalMs: 0, ageMs: 0 },
      });
      const small = { ...batch(0), events: batch(0).events.slice(0, 10) };
      for (let i = 0; i < FLUSHES; i++) await a.addProbeBatch(small);
      /** A new server: opening starts the load; the first read waits for it. */
      const start = async (dir: string): Promise<Sample> => {
        let c: SharedStore | undefined;
        let n = 0;
        const sample = await timed(async () => {
          c = await SharedStore.open({ store: url, objects, cacheDir: join(root2, dir) });
          n = (await c.probeEvents({ after: 0, limit: 100_000 })).length;
        });
        c!.close();
        if (n !== FLUSHES * 10) throw new Error(`the new server holds ${n} events, not ${FLUSHES * 10}`);
        return sample;
      };
      startSample = await start('c');
      compactSample = await timed(async () => {
        const p = await a.compactProbes();
        merged = `${p.replaced} flushes into ${p.merged} batch(es)`;
      });
      a.close();
      compactedStart = await start('d');
    } finally {
      pg2.stop();
      rmSync(root2, { recursive: true, force: true });
      rmSync(pgDir2, { recursive: true, force: true });
    }
  }
  const med = (xs: Sample[], k: keyof Sample) => summarize(xs.map((x) => x[k])).median;
  const rows: string[][] = [['figure', 'Periscope (shared)', 'embedded (anchor)', 'ratio (anchor / shared)']];
  if (RUNS > 0)
    rows.push([
      `store ${total} events, wall, median`,
      ms(med(shared, 'wallMs')),
      ms(med(embedded, 'wallMs')),
      ratio(med(embedded, 'wallMs'), med(shared, 'wallMs')),
    ]);
  if (RUNS > 0) {
    rows.push([
      'store, CPU of this process, median',
      ms(med(shared, 'cpuMs')),
      ms(med(embedded, 'cpuMs')),
      ratio(med(embedded, 'cpuMs'), med(shared, 'cpuMs')),
    ]);
    rows.push(['another server loads them all, wall, median', ms(med(other, 'wallMs')), '', '']);
    rows.push(['another server loads them all, CPU, median', ms(med(other, 'cpuMs')), '', '']);
  }
  rows.push([
    `a new server opens and reads ${FLUSHES} flushes of 10 events, wall / CPU`,
    `${ms(startSample!.wallMs)} / ${ms(startSample!.cpuMs)}`,
    '',
    `${(startSample!.wallMs / FLUSHES).toFixed(1)} ms a flush`,
  ]);
  rows.push([
    `one compaction pass merges ${merged}, wall / CPU`,
    `${ms(compactSample!.wallMs)} / ${ms(compactSample!.cpuMs)}`,
    '',
    '',
  ]);
  rows.push([
    'a new server opens and reads them after that pass, wall / CPU',
    `${ms(compactedStart!.wallMs)} / ${ms(compactedStart!.cpuMs)}`,
    `uncompacted: ${ms(startSample!.wallMs)}`,
    ratio(startSample!.wallMs, compactedStart!.wallMs),
  ]);
  console.log(formatTable(rows));
  console.log(`load ${loadAverage()} at the end`);
}

await main();
