/**
 * The snapshot index and the spec history in PostgreSQL: snapshot ids from a sequence, a
 * snapshot's row and its processes with their object keys (inserted in one transaction after
 * every object is put; an imported one's origin with them, `imports`), and spec versions
 * appended under a table lock so two servers never give out one number twice.
 */
import type pg from 'pg';
import type { SnapshotInfo, SpecVersion, StoredBinary } from '../store.js';
import { unifiedDiff } from '../unified-diff.js';
import { FLEET_CHANNEL, inPgTransaction, withPgRetry } from './pg-schema.js';
import type { SnapshotObject, WrittenProcess, WrittenSnapshot } from './snapshot-objects.js';

/** Processes indexed per INSERT statement. */
const INDEX_BATCH = 1000;

const ISO = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A snapshot as the index holds it: enough for a cache to load it and list it. */
export interface IndexedSnapshot extends SnapshotInfo {
  readonly captureSpec: string;
  readonly failedProcesses: number;
  /** Bytes of its objects. */
  readonly bytes: number;
}

/** The next snapshot id (never reused, also after deletions). */
export async function nextSnapshotId(pool: pg.Pool): Promise<number> {
  const q = await withPgRetry(() =>
    pool.query<{ id: string }>("SELECT nextval('periscope.snapshot_ids') AS id"),
  );
  return Number(q.rows[0]!.id);
}

/** Where an imported snapshot came from: a row of the embedded store's `raw.imports`. */
export interface ImportRecord {
  readonly originalSnapshotId: number;
  /** The export's path as `periscope import` was given it. */
  readonly path: string;
  /** `duckdb` or `parquet`. */
  readonly format: string;
  /** When, as ISO 8601 text in UTC to the microsecond (as both databases keep it; a Date has ms). */
  readonly importedAt: string;
}

/**
 * Makes a written snapshot visible: its row and its processes (and, imported, where it came
 * from), in one transaction.
 */
export async function indexSnapshot(
  pool: pg.Pool,
  id: number,
  specVersion: number | null,
  w: WrittenSnapshot,
  imported?: ImportRecord,
): Promise<void> {
  await inPgTransaction(pool, async (c) => {
    await c.query('INSERT INTO periscope.snapshots VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      id,
      w.createdAt,
      w.labels,
      specVersion,
      w.captureSpec,
      w.processCount,
      w.failedProcesses,
      w.goroutineCount,
      w.bytes,
    ]);
    // Rows in batches, one statement each (not a round trip per process: 10,000 of them took seconds).
    for (let i = 0; i < w.processes.length; i += INDEX_BATCH) {
      const batch = w.processes.slice(i, i + INDEX_BATCH);
      const col = <T>(f: (p: WrittenProcess) => T): T[] => batch.map(f);
      await c.query(
        'INSERT INTO periscope.snapshot_processes SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])',
        [
          id,
          col((p) => p.processId),
          col((p) => p.hostname),
          col((p) => p.pid),
          col((p) => p.program),
          col((p) => p.executable),
          col((p) => p.buildId),
          col((p) => p.goVersion),
          col((p) => p.error),
          col((p) => JSON.stringify(p.objects)),
        ],
      );
    }
    if (imported)
      await c.query('INSERT INTO periscope.imports VALUES ($1, $2, $3, $4, $5::timestamptz)', [
        id,
        imported.originalSnapshotId,
        imported.path,
        imported.format,
        imported.importedAt,
      ]);
  });
}

/** Every import record, by snapshot id (a snapshot's goes with it: ON DELETE CASCADE). */
export async function importRecords(pool: pg.Pool): Promise<(ImportRecord & { snapshotId: number })[]> {
  const r = await withPgRetry(() =>
    pool.query<{
      snapshot_id: string;
      original_snapshot_id: string;
      path: string;
      format: string;
      imported_at: string;
    }>(
      `SELECT snapshot_id, original_snapshot_id, path, format,
         to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS imported_at
       FROM periscope.imports ORDER BY snapshot_id`,
    ),
  );
  return r.rows.map((x) => ({
    snapshotId: Number(x.snapshot_id),
    originalSnapshotId: Number(x.original_snapshot_id),
    path: x.path,
    format: x.format,
    importedAt: x.imported_at,
  }));
}

/** Every indexed snapshot, oldest first (or only those whose ids are given). */
export async function readIndex(pool: pg.Pool, ids?: readonly number[]): Promise<IndexedSnapshot[]> {
  const where = ids ? 'WHERE snapshot_id = ANY($1::bigint[])' : '';
  const q = await withPgRetry(() =>
    pool.query(
      `SELECT snapshot_id, ${ISO('created_at')} AS at, labels, spec_version, capture_spec, process_count, failed_processes, goroutine_count, bytes ` +
        `FROM periscope.snapshots ${where} ORDER BY snapshot_id`,
      ids ? [ids] : [],
    ),
  );
  return q.rows.map((r) => ({
    snapshotId: Number(r.snapshot_id),
    createdAt: String(r.at),
    labels: r.labels as Record<string, string>,
    specVersion: r.spec_version === null ? null : Number(r.spec_version),
    processes: Number(r.process_count),
    goroutines: Number(r.goroutine_count),
    captureSpec: String(r.capture_spec),
    failedProcesses: Number(r.failed_processes),
    bytes: Number(r.bytes),
  }));
}

/** The processes one snapshot's index holds now, and the objects that hold their rows. */
export interface IndexedObjects {
  /** Every process's objects (a part's objects are listed by each of its processes). */
  readonly objects: SnapshotObject[];
  /** The processes indexed: a part object's rows of other processes (trimmed by retention) are not theirs. */
  readonly processIds: string[];
}

/** The objects of one snapshot's processes, and which processes are indexed. */
export async function snapshotObjects(pool: pg.Pool, id: number): Promise<IndexedObjects> {
  const q = await withPgRetry(() =>
    pool.query<{ process_id: string; objects: SnapshotObject[] }>(
      'SELECT process_id, objects FROM periscope.snapshot_processes WHERE snapshot_id = $1 ORDER BY process_id',
      [id],
    ),
  );
  return { objects: q.rows.flatMap((r) => r.objects), processIds: q.rows.map((r) => r.process_id) };
}

/** Removes snapshots from the index (their objects are deleted by the caller after); returns the ids that were there. */
export async function unindexSnapshots(pool: pg.Pool, ids: readonly number[]): Promise<number[]> {
  const q = await withPgRetry(() =>
    pool.query<{ snapshot_id: string }>(
      'DELETE FROM periscope.snapshots WHERE snapshot_id = ANY($1::bigint[]) RETURNING snapshot_id',
      [ids],
    ),
  );
  return q.rows.map((r) => Number(r.snapshot_id)).sort((a, b) => a - b);
}

/** The distinct binaries of indexed snapshots, newest first. */
export async function indexedBinaries(pool: pg.Pool): Promise<StoredBinary[]> {
  const q = await withPgRetry(() =>
    pool.query(
      'SELECT build_id, executable, min(go_version) AS go, array_agg(DISTINCT hostname ORDER BY hostname) AS hosts, max(snapshot_id) AS last ' +
        'FROM periscope.snapshot_processes WHERE error IS NULL AND executable IS NOT NULL GROUP BY build_id, executable ORDER BY last DESC, executable',
    ),
  );
  return q.rows.map((r) => ({
    ...(r.build_id ? { buildId: String(r.build_id) } : {}),
    executable: String(r.executable),
    ...(r.go ? { goVersion: String(r.go) } : {}),
    hostnames: ((r.hosts as (string | null)[] | null) ?? []).filter((h) => h !== null).map(String),
    lastSnapshot: Number(r.last),
  }));
}

/** Spec versions, oldest first (or the current one, or one version). */
export async function readSpecVersions(pool: pg.Pool, only?: number | 'current'): Promise<SpecVersion[]> {
  const where =
    only === 'current'
      ? ' ORDER BY version DESC LIMIT 1'
      : only !== undefined
        ? ' WHERE version = $1'
        : ' ORDER BY version';
  const q = await withPgRetry(() =>
    pool.query(
      `SELECT version, ${ISO('created_at')} AS at, author, yaml, diff FROM periscope.spec_versions${where}`,
      typeof only === 'number' ? [Math.trunc(only)] : [],
    ),
  );
  return q.rows.map((r) => ({
    version: Number(r.version),
    createdAt: String(r.at),
    author: String(r.author),
    yaml: String(r.yaml),
    diff: String(r.diff),
  }));
}

/** Spec versions newer than `after`, oldest first (what a cache has not mirrored yet). */
export async function specVersionsAfter(pool: pg.Pool, after: number): Promise<SpecVersion[]> {
  return (await readSpecVersions(pool)).filter((v) => v.version > after);
}

/** Appends a spec version unless the text is the current one; the table is locked meanwhile. */
export async function addSpecVersion(
  pool: pg.Pool,
  yaml: string,
  author: string,
): Promise<{ version: number; changed: boolean }> {
  return inPgTransaction(pool, async (c) => {
    await c.query('LOCK TABLE periscope.spec_versions IN EXCLUSIVE MODE');
    const cur = (
      await c.query<{ version: number; yaml: string }>(
        'SELECT version, yaml FROM periscope.spec_versions ORDER BY version DESC LIMIT 1',
      )
    ).rows[0];
    if (cur && cur.yaml === yaml) return { version: Number(cur.version), changed: false };
    const version = (cur ? Number(cur.version) : 0) + 1;
    const diff = unifiedDiff(
      cur?.yaml ?? '',
      yaml,
      cur ? `spec version ${cur.version}` : '/dev/null',
      `spec version ${version}`,
    );
    await c.query('INSERT INTO periscope.spec_versions VALUES ($1, now(), $2, $3, $4)', [
      version,
      author,
      yaml,
      diff,
    ]);
    // Delivered at commit: every server sends the new version to its agents (fleet-spec.ts).
    await c.query('SELECT pg_notify($1, $2)', [FLEET_CHANNEL, `spec:${version}`]);
    return { version, changed: true };
  });
}

/**
 * Takes a whole spec history (numbers, times, authors, texts and diffs kept) when PostgreSQL
 * has none yet, under the table lock; false (nothing written) when it has one by now.
 */
export async function adoptSpecHistory(pool: pg.Pool, versions: readonly SpecVersion[]): Promise<boolean> {
  return inPgTransaction(pool, async (c) => {
    await c.query('LOCK TABLE periscope.spec_versions IN EXCLUSIVE MODE');
    const n = await c.query<{ n: string }>('SELECT count(*) AS n FROM periscope.spec_versions');
    if (Number(n.rows[0]?.n) > 0) return false;
    for (const v of versions)
      await c.query('INSERT INTO periscope.spec_versions VALUES ($1, $2, $3, $4, $5)', [
        v.version,
        v.createdAt,
        v.author,
        v.yaml,
        v.diff,
      ]);
    return true;
  });
}

/** The newest version whose text is exactly `yaml`, if any. */
export async function specVersionOfText(pool: pg.Pool, yaml: string): Promise<number | null> {
  const q = await withPgRetry(() =>
    pool.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM periscope.spec_versions WHERE yaml = $1',
      [yaml],
    ),
  );
  const v = q.rows[0]?.v;
  return v === null || v === undefined ? null : Number(v);
}

/** Records a fleet snapshot's server-side metadata (JSON). */
export async function putFleetMeta(pool: pg.Pool, id: number, meta: unknown): Promise<void> {
  await withPgRetry(() =>
    pool.query(
      'INSERT INTO periscope.fleet_snapshots VALUES ($1, $2) ON CONFLICT (snapshot_id) DO UPDATE SET meta = EXCLUDED.meta',
      [id, JSON.stringify(meta)],
    ),
  );
}

/** A fleet snapshot's metadata, if recorded. */
export async function fleetMeta(pool: pg.Pool, id: number): Promise<unknown> {
  const q = await withPgRetry(() =>
    pool.query<{ meta: unknown }>('SELECT meta FROM periscope.fleet_snapshots WHERE snapshot_id = $1', [id]),
  );
  return q.rows[0]?.meta;
}
