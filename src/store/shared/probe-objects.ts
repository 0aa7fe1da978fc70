/**
 * Probe and trace data as objects: the batches one server buffered during a flush interval,
 * turned into the raw rows the embedded store writes (probe-store.ts, trace-store.ts, by a
 * scratch DuckDB) and put as one Parquet object per non-empty raw table under
 * `probes/<day>/<writer>-<n>/<table>.parquet`; and those objects read back into a DuckDB
 * store's raw tables, event seqs moved to the range the index gave the batch.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendQueryResult, type ColumnList } from '../bulk-append.js';
import type { ObjectStore } from '../object-store.js';
import {
  ensureProbeSchema,
  PROBE_COUNTS,
  PROBE_DURATIONS,
  PROBE_EVENTS,
  PROBE_NOTICES,
  PROBE_VALUE_TYPES,
} from '../probe-schema.js';
import { type ProbeBatchInput, writeProbeBatch } from '../probe-store.js';
import { literal } from '../sql-text.js';
import { ensureTraceSchema, TRACE_COUNTS, TRACE_EVENTS, TRACES } from '../trace-schema.js';
import { type TraceBatchInput, writeTraceBatch } from '../trace-store.js';
import type { RewrittenProbeBatch as RewriteResult } from './pg-probe-rewrites.js';
import type { IndexedProbeBatch, ProbeObject, WrittenProbeBatch } from './pg-probes.js';
import { scratch } from './snapshot-objects.js';

/** The raw tables a probe batch's objects hold, with their columns. */
export const PROBE_OBJECT_TABLES: readonly (readonly [string, ColumnList])[] = [
  ['probe_events', PROBE_EVENTS],
  ['probe_counts', PROBE_COUNTS],
  ['probe_durations', PROBE_DURATIONS],
  ['probe_notices', PROBE_NOTICES],
  ['probe_value_types', PROBE_VALUE_TYPES],
  ['traces', TRACES],
  ['trace_events', TRACE_EVENTS],
  ['trace_counts', TRACE_COUNTS],
];

/** What one flush holds: the agents' batches in arrival order. */
export interface ProbeFlushInput {
  readonly probes: readonly ProbeBatchInput[];
  readonly traces: readonly TraceBatchInput[];
}

/** The prefix of every probe object. */
export const PROBES_PREFIX = 'probes/';
/** The prefix of rows copied by `store migrate` (probes/copied/<fingerprint>/: the key says they were copied). */
export const COPIED_PREFIX = `${PROBES_PREFIX}copied/`;

/** The key prefix of one flush: by day, writer and number. */
export function flushPrefix(day: string, writer: string, n: number): string {
  return `${PROBES_PREFIX}${day}/${writer}-${n}/`;
}

/**
 * Writes a flush's rows and puts them as objects under `prefix`. Event seqs in the objects
 * run 1..events, in arrival order; the index gives the batch its real range. Nothing is
 * visible until the caller indexes what this returns.
 */
export async function putProbeObjects(
  objects: ObjectStore,
  prefix: string,
  input: ProbeFlushInput,
): Promise<WrittenProbeBatch> {
  return scratch(async (conn, dir) => {
    await conn.run('CREATE SCHEMA IF NOT EXISTS raw');
    await ensureProbeSchema(conn);
    await ensureTraceSchema(conn);
    let seq = 1;
    const state = { types: new Set<string>(), processes: new Map<string, string>() };
    // The processes' facts go to PostgreSQL (pg-probes.ts), not into objects.
    for (const b of input.probes) seq = await writeProbeBatch(conn, seq, { ...b, processes: [] }, state);
    for (const t of input.traces) await writeTraceBatch(conn, t);
    const written: ProbeObject[] = [];
    let bytes = 0;
    for (const [table] of PROBE_OBJECT_TABLES) {
      const n = Number((await conn.runAndReadAll(`SELECT count(*) FROM raw.${table}`)).getRows()[0]![0]);
      if (n === 0) continue;
      const file = join(dir, `${table}.parquet`);
      await conn.run(`COPY raw.${table} TO ${literal(file)} (FORMAT parquet)`);
      const body = await readFile(file);
      const key = `${prefix}${table}.parquet`;
      await objects.put(key, body);
      written.push({ key, table, size: body.length });
      bytes += body.length;
    }
    let startUs: number | null = null;
    let endUs: number | null = null;
    const ids = new Set<string>();
    const saw = (process: string, ...us: number[]): void => {
      ids.add(process);
      for (const t of us) {
        if (startUs === null || t < startUs) startUs = t;
        if (endUs === null || t > endUs) endUs = t;
      }
    };
    for (const b of input.probes) {
      for (const e of b.events) saw(e.process, e.timeUs);
      for (const c of b.counts) saw(c.process, c.startUs, c.endUs);
      for (const h of b.histograms) saw(h.process, h.startUs, h.endUs);
      for (const x of b.notices) saw(x.process, x.timeUs);
    }
    for (const b of input.traces) {
      for (const t of b.traces) saw(t.process, t.startUs, t.endUs);
      for (const c of b.counts) saw(c.process, c.startUs, c.endUs);
    }
    return {
      prefix,
      objects: written,
      events: seq - 1,
      startUs,
      endUs,
      processIds: [...ids].sort(),
      bytes,
    };
  });
}

/** Objects fetched at once while loading. */
const FETCH_AT_ONCE = 16;

/** How indexed batches are loaded. */
export interface LoadOptions {
  /** Only rows flushed in batches numbered above this (a cache that holds part of a rewritten batch). */
  readonly after?: number;
  /** Each row (but value types) gets the number of the batch it was flushed in, as a last column. */
  readonly origin?: boolean;
}

/**
 * Appends indexed batches' rows to the raw tables on `target` (inside the caller's
 * transaction): every object fetched (FETCH_AT_ONCE at a time), then one read per table and
 * kind of batch (flushed, or rewritten: its rows carry their batch number) over all of its
 * files, each event's seq moved by its batch's first seq, value types only those not held yet.
 */
export async function loadProbeObjects(
  objects: ObjectStore,
  batches: readonly IndexedProbeBatch[],
  target: DuckDBConnection,
  opts: LoadOptions = {},
): Promise<void> {
  const columns = new Map(PROBE_OBJECT_TABLES.map(([t, cols]) => [t, cols.map(([c]) => `"${c}"`)]));
  // A table a newer Periscope writes is not ours to read.
  const todo = batches.flatMap((b) => b.objects.filter((o) => columns.has(o.table)).map((o) => ({ b, o })));
  if (todo.length === 0) return;
  await scratch(async (conn, dir) => {
    const files = new Map<string, { file: string; offset: number; origin: number; rewritten: boolean }[]>();
    for (let i = 0; i < todo.length; i += FETCH_AT_ONCE)
      await Promise.all(
        todo.slice(i, i + FETCH_AT_ONCE).map(async ({ b, o }, k) => {
          const body = await objects.get(o.key);
          if (!body)
            throw new Error(
              `object ${o.key} of probe batch ${b.batchNo} is missing from ${objects.describe()}: replaced by compaction or retention since the index was read (the next look reads it again), or deleted outside Periscope`,
            );
          const file = join(dir, `${i + k}.parquet`);
          await writeFile(file, body);
          const rewritten = b.batchFirst !== null;
          const group = `${o.table}:${rewritten}`;
          const list = files.get(group) ?? [];
          list.push({ file, offset: b.seqFirst - 1, origin: b.batchNo, rewritten });
          files.set(group, list);
        }),
      );
    await target.run(
      'CREATE OR REPLACE TEMP TABLE new_value_types AS SELECT * FROM raw.probe_value_types LIMIT 0',
    );
    const after = opts.after ?? 0;
    for (const [group, list] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const table = group.slice(0, group.indexOf(':'));
      const cols = columns.get(table)!;
      const paths = `[${list.map((f) => literal(f.file)).join(', ')}]`;
      const values = `(VALUES ${list.map((f) => `(${literal(f.file)}, ${f.offset}, ${f.origin})`).join(', ')}) o(f, off, origin)`;
      const from = `read_parquet(${paths}, filename = true) p JOIN ${values} ON p.filename = o.f`;
      let sql: string;
      if (table === 'probe_value_types') sql = `SELECT ${cols.map((c) => `p.${c}`).join(', ')} FROM ${from}`;
      else {
        const origin = list[0]!.rewritten ? 'p.batch_no' : 'o.origin';
        const select = cols.map((c) =>
          c === '"seq"' && table === 'probe_events' ? 'p.seq + o.off AS seq' : `p.${c}`,
        );
        if (opts.origin) select.push(`${origin} AS batch_no`);
        sql = `SELECT ${select.join(', ')} FROM ${from} WHERE ${origin} > ${after}${table === 'probe_events' ? ' ORDER BY seq' : ''}`;
      }
      const appender =
        table === 'probe_value_types'
          ? await target.createAppender('new_value_types', 'main', 'temp')
          : await target.createAppender(table, 'raw');
      await appendQueryResult(conn, sql, appender);
    }
    await target.run(
      'INSERT INTO raw.probe_value_types SELECT DISTINCT * FROM temp.new_value_types EXCEPT SELECT * FROM raw.probe_value_types',
    );
    await target.run('DROP TABLE temp.new_value_types');
  });
}

/** The time columns of each table, for a batch's time range. */
function timeColumns(cols: ColumnList): string[] {
  return cols.map(([c]) => c).filter((c) => c === 'time_us' || c === 'start_us' || c === 'end_us');
}

/**
 * Rewrites a run of indexed batches as one (compaction merges them; retention drops rows):
 * their rows loaded into a scratch DuckDB with the batch each was flushed in, `edit` run over
 * its raw tables (returns rows it deleted), and what is left put as one Parquet object per
 * non-empty table under `prefix` (each row with its `batch_no`, event seqs relative to the
 * run's first). `written` is undefined when no row is left (nothing put), or when `onlyIfEdited`
 * and `edit` deleted nothing.
 */
export async function rewriteProbeObjects(
  objects: ObjectStore,
  run: readonly IndexedProbeBatch[],
  prefix: string,
  edit: (conn: DuckDBConnection) => Promise<number> = async () => 0,
  onlyIfEdited = false,
): Promise<{ written: Omit<RewriteResult, 'createdAt'> | undefined; deleted: number }> {
  return scratch(async (conn, dir) => {
    await conn.run('CREATE SCHEMA IF NOT EXISTS raw');
    await ensureProbeSchema(conn);
    await ensureTraceSchema(conn);
    for (const [table] of PROBE_OBJECT_TABLES)
      if (table !== 'probe_value_types')
        await conn.run(`ALTER TABLE raw.${table} ADD COLUMN batch_no BIGINT`);
    await loadProbeObjects(objects, run, conn, { origin: true });
    const deleted = await edit(conn);
    if (onlyIfEdited && deleted === 0) return { written: undefined, deleted };
    const seqFirst = run[0]!.seqFirst;
    const last = run.at(-1)!;
    const written: ProbeObject[] = [];
    let bytes = 0;
    let rows = 0;
    let startUs: number | null = null;
    let endUs: number | null = null;
    const ids = new Set<string>();
    for (const [table, cols] of PROBE_OBJECT_TABLES) {
      const n = Number((await conn.runAndReadAll(`SELECT count(*) FROM raw.${table}`)).getRows()[0]![0]);
      if (n === 0) continue;
      if (table !== 'probe_value_types') rows += n;
      const file = join(dir, `${table}.parquet`);
      const body =
        table === 'probe_events'
          ? `SELECT * REPLACE (seq - ${seqFirst - 1} AS seq) FROM raw.${table} ORDER BY seq`
          : `SELECT * FROM raw.${table}`;
      await conn.run(`COPY (${body}) TO ${literal(file)} (FORMAT parquet)`);
      const data = await readFile(file);
      const key = `${prefix}${table}.parquet`;
      await objects.put(key, data);
      written.push({ key, table, size: data.length });
      bytes += data.length;
      const times = timeColumns(cols);
      if (times.length === 0) continue;
      const r = (
        await conn.runAndReadAll(
          `SELECT min(least(${times.join(', ')})), max(greatest(${times.join(', ')})) FROM raw.${table}`,
        )
      ).getRowsJS()[0]!;
      if (r[0] !== null && (startUs === null || Number(r[0]) < startUs)) startUs = Number(r[0]);
      if (r[1] !== null && (endUs === null || Number(r[1]) > endUs)) endUs = Number(r[1]);
      for (const [p] of (
        await conn.runAndReadAll(`SELECT DISTINCT process_id FROM raw.${table}`)
      ).getRowsJS())
        ids.add(String(p));
    }
    if (rows === 0) {
      if (written.length > 0) await objects.delete(written.map((o) => o.key));
      return { written: undefined, deleted };
    }
    return {
      written: {
        prefix,
        objects: written,
        events: 0,
        startUs,
        endUs,
        processIds: [...ids].sort(),
        bytes,
        batchFirst: run[0]!.batchFirst ?? run[0]!.batchNo,
        seqFirst,
        seqs: last.seqFirst + last.events - seqFirst,
      },
      deleted,
    };
  });
}
