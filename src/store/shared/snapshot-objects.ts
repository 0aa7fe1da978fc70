/**
 * A snapshot as objects: written once as Parquet, one file per raw table of the rows of all the
 * processes one server stored (its part of a fleet snapshot, or the whole snapshot), under
 * `snapshots/<id>/part-<random hex>/<table>.parquet`, and read back into a DuckDB store's raw
 * tables. Versions before wrote one object per process and table
 * (`snapshots/<id>/<process id URI-encoded>/<table>.parquet`: tens of thousands of puts for a
 * 10,000-process snapshot, docs/storage.md "1,000 agents"); their objects are read the same way. The Parquet files are written and read by a scratch
 * in-memory DuckDB of our own (file access on, no user SQL ever runs there), so the served
 * cache keeps DuckDB's file access off; rows cross between the two as data chunks.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendQueryResult, TableWriter } from '../bulk-append.js';
import { DuckDBInstance } from '../duckdb-api.js';
import { writeSnapshot } from '../ingest.js';
import type { ObjectStore } from '../object-store.js';
import { ensureSchema, recordValueTypes, SNAPSHOT_TABLES, SNAPSHOTS, SPEC_VERSIONS } from '../schema.js';
import { literal } from '../sql-text.js';
import type { SnapshotInput, SpecVersion } from '../store.js';
import type { ImportRecord, IndexedObjects, IndexedSnapshot } from './pg-index.js';

const NO_DOWNLOADS = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };

/** Per-process tables an object may hold (`snapshots` is in PostgreSQL, `stacks` per process). */
const PROCESS_TABLES: readonly string[] = [
  ...SNAPSHOT_TABLES.map(([t]) => t).filter((t) => t !== 'snapshots'),
  'stacks',
];

/** An indexed object that the object store does not have (deleted after its index row was read, or outside Periscope). */
export class MissingObjectError extends Error {}

/**
 * The rows of a snapshot could not be built (a value that does not fit its column): the
 * object store was not touched. Its message is DuckDB's.
 */
export class RowsNotBuiltError extends Error {
  override readonly name = 'RowsNotBuiltError';
}

/** One stored object of a snapshot. */
export interface SnapshotObject {
  readonly key: string;
  readonly table: string;
  readonly size: number;
}

/** One process of a written snapshot: its `processes` facts and its objects. */
export interface WrittenProcess {
  readonly processId: string;
  readonly hostname: string | null;
  readonly pid: number | null;
  readonly program: string | null;
  readonly executable: string | null;
  readonly buildId: string | null;
  readonly goVersion: string | null;
  readonly error: string | null;
  readonly objects: readonly SnapshotObject[];
}

/** The `snapshots` row of a written snapshot, as the index keeps it. */
export interface WrittenSnapshot {
  readonly createdAt: Date;
  readonly labels: string;
  readonly captureSpec: string;
  readonly processCount: number;
  readonly failedProcesses: number;
  readonly goroutineCount: number;
  readonly processes: readonly WrittenProcess[];
  readonly bytes: number;
}

/**
 * The key of one table of one part of a snapshot: `part-<random hex>` for what this version
 * writes (all the processes of a server's part), or a process id (URI-encoded) for objects
 * written by versions before it, one per process, still read.
 */
export function objectKey(snapshotId: number, part: string, table: string): string {
  return `snapshots/${snapshotId}/${encodeURIComponent(part)}/${table}.parquet`;
}

/** The prefix of every object of a snapshot. */
export function snapshotPrefix(snapshotId: number): string {
  return `snapshots/${snapshotId}/`;
}

/** Runs `fn` on a scratch in-memory DuckDB (file access on) with a temporary directory, both gone after. */
export async function scratch<T>(fn: (conn: DuckDBConnection, dir: string) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', NO_DOWNLOADS);
  const conn = await instance.connect();
  const dir = mkdtempSync(join(tmpdir(), 'periscope-objects-'));
  try {
    return await fn(conn, dir);
  } finally {
    conn.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Turns a snapshot into rows with id `snapshotId` (given by the index) and puts one Parquet
 * object per non-empty table. Returns what the index row needs; nothing is
 * visible to readers until the caller inserts that row.
 */
export async function putSnapshotObjects(
  objects: ObjectStore,
  snapshotId: number,
  input: SnapshotInput,
  specVersion: number | null,
): Promise<WrittenSnapshot> {
  return scratch(async (conn, dir) => {
    await ensureSchema(conn);
    try {
      await writeSnapshot(conn, snapshotId, input, specVersion);
    } catch (e) {
      throw new RowsNotBuiltError(e instanceof Error ? e.message : String(e), { cause: e });
    }
    return putRawRows(conn, dir, objects, snapshotId);
  });
}

/**
 * Copies snapshot `snapshotId` of the embedded store in `dbFile` (read only) and puts it as
 * objects under the same id: what `periscope store migrate` does per snapshot. Returns what the
 * index row needs, and the snapshot's spec version.
 */
export async function putEmbeddedSnapshot(
  objects: ObjectStore,
  dbFile: string,
  snapshotId: number,
): Promise<
  WrittenSnapshot & { readonly specVersion: number | null; readonly imported: ImportRecord | undefined }
> {
  return scratch(async (conn, dir) => {
    await ensureSchema(conn);
    await conn.run(`ATTACH ${literal(dbFile)} AS src (READ_ONLY)`);
    let imported: ImportRecord | undefined;
    try {
      imported = await importRecordIn(conn, snapshotId, 'src.raw');
      for (const [table] of SNAPSHOT_TABLES)
        await conn.run(
          `INSERT INTO raw.${table} BY NAME SELECT * FROM src.raw.${table} WHERE snapshot_id = ${snapshotId}`,
        );
      await conn.run(
        'INSERT INTO raw.stacks BY NAME SELECT * FROM src.raw.stacks WHERE stack_id IN (SELECT DISTINCT stack_id FROM raw.goroutines)',
      );
    } finally {
      await conn.run('DETACH src');
    }
    const v = (await conn.runAndReadAll('SELECT spec_version FROM raw.snapshots')).getRowsJS()[0]?.[0];
    const written = await putRawRows(conn, dir, objects, snapshotId);
    return { ...written, specVersion: v === null || v === undefined ? null : Number(v), imported };
  });
}

/**
 * Puts the rows of the one snapshot in `conn`'s raw tables as objects: one per non-empty table
 * for all its processes (a server's part of a fleet snapshot, or a whole snapshot), under a
 * part prefix of its own. Every process lists those objects (they hold its rows).
 */
export async function putRawRows(
  conn: DuckDBConnection,
  dir: string,
  objects: ObjectStore,
  snapshotId: number,
): Promise<WrittenSnapshot> {
  const snap = (
    await conn.runAndReadAll(
      'SELECT created_at::VARCHAR, labels::VARCHAR, capture_spec, process_count, failed_processes, goroutine_count FROM raw.snapshots',
    )
  ).getRowsJS()[0]!;
  const procs = (
    await conn.runAndReadAll(
      'SELECT process_id, hostname, pid, program, executable, build_id, go_version, error FROM raw.processes ORDER BY process_id',
    )
  ).getRowsJS();
  const part = `part-${randomBytes(8).toString('hex')}`;
  const written: SnapshotObject[] = [];
  let bytes = 0;
  for (const table of PROCESS_TABLES) {
    const count = Number((await conn.runAndReadAll(`SELECT count(*) FROM raw.${table}`)).getRows()[0]![0]);
    if (count === 0) continue;
    const order = table === 'stacks' ? 'stack_id, depth' : 'process_id';
    const file = join(dir, `${table}.parquet`);
    await conn.run(
      `COPY (SELECT * FROM raw.${table} ORDER BY ${order}) TO ${literal(file)} (FORMAT parquet)`,
    );
    const body = await readFile(file);
    const key = objectKey(snapshotId, part, table);
    await objects.put(key, body);
    written.push({ key, table, size: body.length });
    bytes += body.length;
  }
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const processes: WrittenProcess[] = procs.map(([pid, host, ospid, program, exe, build, go, error]) => ({
    processId: String(pid),
    hostname: str(host),
    pid: ospid === null ? null : Number(ospid),
    program: str(program),
    executable: str(exe),
    buildId: str(build),
    goVersion: str(go),
    error: str(error),
    objects: written,
  }));
  return {
    createdAt: new Date(String(snap[0])),
    labels: String(snap[1]),
    captureSpec: String(snap[2] ?? ''),
    processCount: Number(snap[3]),
    failedProcesses: Number(snap[4]),
    goroutineCount: Number(snap[5]),
    processes,
    bytes,
  };
}

/** Each object once: processes of one part list the same objects. */
export function distinctObjects(list: readonly SnapshotObject[]): SnapshotObject[] {
  const byKey = new Map<string, SnapshotObject>();
  for (const o of list) if (!byKey.has(o.key)) byKey.set(o.key, o);
  return [...byKey.values()];
}

/**
 * Reads a snapshot's objects into the raw tables on `target` (inside the caller's
 * transaction): each object's rows are appended as data chunks; stacks the target already
 * holds are skipped.
 */
export async function loadSnapshotObjects(
  objects: ObjectStore,
  keys: readonly SnapshotObject[],
  target: DuckDBConnection,
  snapshotId: number,
  processIds?: readonly string[],
): Promise<void> {
  // A part's objects hold the rows of every process it stored; those retention dropped from the
  // index since are left out (stacks are shared, by hash, and kept).
  const only =
    processIds === undefined
      ? ''
      : ` WHERE process_id IN (${processIds.length > 0 ? processIds.map(literal).join(', ') : 'NULL'})`;
  await scratch(async (conn, dir) => {
    await target.run('CREATE OR REPLACE TEMP TABLE new_stacks AS SELECT * FROM raw.stacks LIMIT 0');
    let n = 0;
    for (const o of distinctObjects(keys)) {
      const body = await objects.get(o.key);
      if (!body)
        throw new MissingObjectError(
          `object ${o.key} of snapshot ${snapshotId} is missing from ${objects.describe()} (deleted outside Periscope?)`,
        );
      const file = join(dir, `${n++}.parquet`);
      await writeFile(file, body);
      const appender =
        o.table === 'stacks'
          ? await target.createAppender('new_stacks', 'main', 'temp')
          : await target.createAppender(o.table, 'raw');
      await appendQueryResult(
        conn,
        `SELECT * FROM read_parquet(${literal(file)})${o.table === 'stacks' ? '' : only}`,
        appender,
      );
    }
    await target.run(
      'INSERT INTO raw.stacks SELECT DISTINCT * FROM temp.new_stacks n WHERE n.stack_id NOT IN (SELECT DISTINCT stack_id FROM raw.stacks)',
    );
    await target.run('DROP TABLE temp.new_stacks');
    await recordValueTypes(target, snapshotId);
  });
}

/**
 * Loads an indexed snapshot into the raw tables on `target` (inside the caller's transaction):
 * its `snapshots` row as the index holds it, then its processes' objects.
 */
export async function loadIndexedSnapshot(
  objects: ObjectStore,
  s: IndexedSnapshot,
  indexed: IndexedObjects,
  target: DuckDBConnection,
): Promise<void> {
  const w = new TableWriter('snapshots', SNAPSHOTS);
  w.add(
    s.snapshotId,
    new Date(s.createdAt),
    JSON.stringify(s.labels),
    s.specVersion,
    s.captureSpec,
    s.processes,
    s.failedProcesses,
    s.goroutines,
  );
  await w.flush(target, 'raw');
  await loadSnapshotObjects(objects, indexed.objects, target, s.snapshotId, indexed.processIds);
}

/** Appends spec versions (as PostgreSQL holds them) to the raw spec history on `target`. */
export async function loadSpecVersions(
  target: DuckDBConnection,
  versions: readonly SpecVersion[],
): Promise<void> {
  const w = new TableWriter('spec_versions', SPEC_VERSIONS);
  for (const v of versions) w.add(v.version, new Date(v.createdAt), v.author, v.yaml, v.diff);
  await w.flush(target, 'raw');
}

/**
 * The number of rows of each object (Parquet) that belong to its process (a part's object holds
 * the rows of all the part's processes), read from the object store.
 */
export async function objectRowCounts(
  objects: ObjectStore,
  of: readonly { readonly key: string; readonly processId: string }[],
): Promise<number[]> {
  if (of.length === 0) return [];
  return scratch(async (conn, dir) => {
    const counts: number[] = [];
    for (const { key, processId } of of) {
      const body = await objects.get(key);
      if (!body)
        throw new Error(`object ${key} is missing from ${objects.describe()} (deleted outside Periscope?)`);
      const file = join(dir, `${counts.length}.parquet`);
      await writeFile(file, body);
      const n = (
        await conn.runAndReadAll(
          `SELECT count(*) FROM read_parquet(${literal(file)}) WHERE process_id = ${literal(processId)}`,
        )
      ).getRows()[0]?.[0];
      counts.push(Number(n));
    }
    return counts;
  });
}

/** The import record in the raw tables on `conn` (DuckDB) of snapshot `id`, if it has one. */
export async function importRecordIn(
  conn: DuckDBConnection,
  id: number,
  schema = 'raw',
): Promise<ImportRecord | undefined> {
  const r = (
    await conn.runAndReadAll(
      `SELECT original_snapshot_id, path, format, strftime(imported_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') FROM ${schema}.imports WHERE snapshot_id = ${id}`,
    )
  ).getRowsJS()[0];
  if (!r) return undefined;
  return {
    originalSnapshotId: Number(r[0]),
    path: String(r[1]),
    format: String(r[2]),
    importedAt: String(r[3]),
  };
}
