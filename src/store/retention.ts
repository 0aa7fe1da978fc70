/**
 * Retention: the rows of processes captured longer ago than their program's rule allows are
 * deleted from every per-snapshot table (a snapshot left without processes goes too, stacks no
 * goroutine refers to any more as well), and probe data and request traces recorded longer
 * ago than their process's program's rule allows, in one transaction. DuckDB does not give deleted
 * space back to the file system (measured with v1.5: a store of 223 MB with 90 % of its rows
 * deleted stays at 243 MB after CHECKPOINT, VACUUM, FORCE CHECKPOINT, and after rewriting the
 * table in place); only a copy of the database into a new file is small (20 MB), so
 * `compactStore` does that and swaps the files.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import { DuckDBInstance } from './duckdb-api.js';
import { SNAPSHOT_TABLES } from './schema.js';

/** One rule: processes of `program` (or of every program: `*`) are kept for `maxAgeSeconds`. */
export interface RetentionRule {
  readonly program: string;
  readonly maxAgeSeconds: number;
}

/** What a retention pass deleted. */
export interface RetentionResult {
  /** Snapshots deleted whole. */
  readonly snapshotIds: readonly number[];
  /** Snapshots that lost some processes (of programs with a shorter rule) but keep others. */
  readonly trimmedSnapshotIds: readonly number[];
  /** Process rows deleted. */
  readonly processes: number;
  /** The processes deleted from the trimmed snapshots (`processes.process_id`: host:pid). */
  readonly trimmedProcesses: readonly { readonly snapshotId: number; readonly processId: string }[];
  /** Rows of probe events, counts, histograms and notices, and of request traces, their events and counts, deleted. */
  readonly probeRows: number;
  /** Set when no pass ran: another server of the scaled-out store was running one (nothing deleted here). */
  readonly elsewhere?: true;
}

/** Parses `PROGRAM=AGE` (AGE like 90m, 12h, 30d, 2w); `*` is every program without a rule of its own. */
export function parseRetentionRule(text: string): RetentionRule {
  const m = /^([^=\s]+)=(\d{1,9})([mhdw])$/.exec(text.trim());
  if (!m)
    throw new PeriscopeError(
      'bad-usage',
      `retention rule "${text}" is not PROGRAM=AGE (e.g. orders=7d, or *=30d for every other program; units m, h, d, w)`,
    );
  const unit = { m: 60, h: 3600, d: 86_400, w: 604_800 }[m[3] as 'm' | 'h' | 'd' | 'w'];
  return { program: m[1] ?? '*', maxAgeSeconds: Number(m[2]) * unit };
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The SQL condition that selects rows to delete at `now`: a program's own rule, else `*`;
 * programs without either are kept. `program` is the SQL of the row's program, `olderThan`
 * the SQL condition that the row is older than a cutoff. Plain SQL that DuckDB and PostgreSQL
 * both read (the scaled-out store's index uses it too).
 */
export function expiredCondition(
  rules: readonly RetentionRule[],
  now: Date,
  program: string,
  olderThan: (cutoff: Date) => string,
): string {
  const own = rules.filter((r) => r.program !== '*');
  const star = rules.find((r) => r.program === '*');
  const cutoff = (r: RetentionRule) => olderThan(new Date(now.getTime() - r.maxAgeSeconds * 1000));
  const parts = own.map((r) => `(${program} = ${sqlString(r.program)} AND ${cutoff(r)})`);
  if (star) {
    const named = own.map((r) => sqlString(r.program)).join(', ');
    parts.push(`(${named ? `coalesce(${program}, '') NOT IN (${named}) AND ` : ''}${cutoff(star)})`);
  }
  return parts.length ? parts.join(' OR ') : 'false';
}

/** The probe and request-trace tables and the column that says when each row was recorded (µs since the epoch). */
const PROBE_TIMES = [
  ['probe_events', 'time_us'],
  ['probe_counts', 'end_us'],
  ['probe_durations', 'end_us'],
  ['probe_notices', 'time_us'],
  ['traces', 'end_us'],
  ['trace_events', 'time_us'],
  ['trace_counts', 'end_us'],
] as const;

/**
 * Deletes the probe and request-trace rows (of the `raw` tables on `conn`) recorded longer ago
 * than their process's program's rule allows, the program read from the table `programs`
 * (process_id, program; a process it lacks: the `*` rule). Returns the rows deleted. The
 * embedded store's retention, and the scaled-out store's over objects and over each cache.
 */
export async function deleteExpiredProbeRows(
  conn: DuckDBConnection,
  rules: readonly RetentionRule[],
  now: Date,
  programs: string,
): Promise<number> {
  let rows = 0;
  for (const [table, at] of PROBE_TIMES) {
    const r = await conn.runAndReadAll(
      `DELETE FROM raw.${table} t WHERE ${expiredCondition(rules, now, `(SELECT pp.program FROM ${programs} pp WHERE pp.process_id = t.process_id)`, (c) => `t.${at} < ${c.getTime() * 1000}`)} RETURNING 1`,
    );
    rows += r.currentRowCount;
  }
  return rows;
}

/** Deletes what the rules no longer keep, in one transaction. */
export async function deleteExpired(
  conn: DuckDBConnection,
  rules: readonly RetentionRule[],
  now: Date,
): Promise<RetentionResult> {
  await conn.run('BEGIN TRANSACTION');
  try {
    await conn.run(
      "INSERT OR REPLACE INTO raw.meta SELECT 'max_snapshot_id', CAST(greatest(coalesce(max(snapshot_id), 0), coalesce((SELECT max(value::BIGINT) FROM raw.meta WHERE key = 'max_snapshot_id'), 0)) AS VARCHAR) FROM raw.snapshots",
    );
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE expired AS SELECT p.snapshot_id, p.process_id FROM raw.processes p JOIN raw.snapshots s USING (snapshot_id) WHERE ${expiredCondition(rules, now, 'p.program', (c) => `s.created_at < TIMESTAMPTZ ${sqlString(c.toISOString())}`)}`,
    );
    // Probe data goes by when it was recorded, with the rule of its process's program as its
    // latest stored snapshot names it (read before those snapshots go), else as its agent
    // reported it with the data (raw.probe_processes); a process known to neither: the `*` rule.
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE probe_programs AS
         SELECT process_id, arg_max(program, snapshot_id) AS program FROM raw.processes GROUP BY process_id
         UNION ALL
         SELECT process_id, program FROM raw.probe_processes pp
         WHERE NOT EXISTS (SELECT 1 FROM raw.processes p WHERE p.process_id = pp.process_id)`,
    );
    const probeRows = await deleteExpiredProbeRows(conn, rules, now, 'probe_programs');
    await conn.run('DROP TABLE probe_programs');
    await conn.run(
      `DELETE FROM raw.probe_processes pp WHERE ${PROBE_TIMES.map(([t]) => `NOT EXISTS (SELECT 1 FROM raw.${t} t WHERE t.process_id = pp.process_id)`).join(' AND ')}`,
    );
    const count = await conn.runAndReadAll('SELECT count(*) FROM expired');
    const processes = Number(count.getRows()[0]?.[0] ?? 0);
    for (const [name] of SNAPSHOT_TABLES) {
      if (name === 'snapshots') continue;
      await conn.run(
        `DELETE FROM raw.${name} t WHERE EXISTS (SELECT 1 FROM expired e WHERE e.snapshot_id = t.snapshot_id AND e.process_id = t.process_id)`,
      );
    }
    const touched = await conn.runAndReadAll('SELECT DISTINCT snapshot_id FROM expired ORDER BY 1');
    const ids = touched.getRows().map((r) => Number(r[0]));
    const empty = await conn.runAndReadAll(
      'SELECT DISTINCT e.snapshot_id FROM expired e WHERE NOT EXISTS (SELECT 1 FROM raw.processes p WHERE p.snapshot_id = e.snapshot_id) ORDER BY 1',
    );
    const gone = empty.getRows().map((r) => Number(r[0]));
    const trimmedRows = await conn.runAndReadAll(
      'SELECT e.snapshot_id, e.process_id FROM expired e WHERE EXISTS (SELECT 1 FROM raw.processes p WHERE p.snapshot_id = e.snapshot_id) ORDER BY 1, 2',
    );
    const trimmedProcesses = trimmedRows
      .getRows()
      .map((r) => ({ snapshotId: Number(r[0]), processId: String(r[1]) }));
    await conn.run(
      'DELETE FROM raw.snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM expired) AND snapshot_id NOT IN (SELECT snapshot_id FROM raw.processes)',
    );
    await conn.run(
      'DELETE FROM raw.imports WHERE snapshot_id NOT IN (SELECT snapshot_id FROM raw.snapshots)',
    );
    await conn.run(
      `UPDATE raw.snapshots s SET
         process_count = (SELECT count(*) FROM raw.processes p WHERE p.snapshot_id = s.snapshot_id),
         failed_processes = (SELECT count(*) FROM raw.processes p WHERE p.snapshot_id = s.snapshot_id AND coalesce(p.error, '') <> ''),
         goroutine_count = (SELECT count(*) FROM raw.goroutines g WHERE g.snapshot_id = s.snapshot_id)
       WHERE s.snapshot_id IN (SELECT snapshot_id FROM expired)`,
    );
    await conn.run(
      'DELETE FROM raw.stacks WHERE stack_id NOT IN (SELECT DISTINCT stack_id FROM raw.goroutines WHERE stack_id IS NOT NULL)',
    );
    await conn.run('DROP TABLE expired');
    await conn.run('COMMIT');
    const goneSet = new Set(gone);
    return {
      snapshotIds: gone,
      trimmedSnapshotIds: ids.filter((i) => !goneSet.has(i)),
      processes,
      trimmedProcesses,
      probeRows,
    };
  } catch (e) {
    await conn.run('ROLLBACK');
    throw e;
  }
}

/** Deletes whole snapshots (a schedule's retention: its oldest), in one transaction; returns the ids that existed. */
export async function deleteSnapshots(conn: DuckDBConnection, ids: readonly number[]): Promise<number[]> {
  const list = ids.map((i) => Number(i)).filter((i) => Number.isSafeInteger(i));
  if (list.length === 0) return [];
  const inList = `(${list.join(', ')})`;
  await conn.run('BEGIN TRANSACTION');
  try {
    // Ids are never reused: keep the mark of the highest one, as deleteExpired does.
    await conn.run(
      "INSERT OR REPLACE INTO raw.meta SELECT 'max_snapshot_id', CAST(greatest(coalesce(max(snapshot_id), 0), coalesce((SELECT max(value::BIGINT) FROM raw.meta WHERE key = 'max_snapshot_id'), 0)) AS VARCHAR) FROM raw.snapshots",
    );
    const had = await conn.runAndReadAll(
      `SELECT snapshot_id FROM raw.snapshots WHERE snapshot_id IN ${inList} ORDER BY 1`,
    );
    for (const [name] of SNAPSHOT_TABLES)
      await conn.run(`DELETE FROM raw.${name} WHERE snapshot_id IN ${inList}`);
    await conn.run(`DELETE FROM raw.imports WHERE snapshot_id IN ${inList}`);
    await conn.run(
      'DELETE FROM raw.stacks WHERE stack_id NOT IN (SELECT DISTINCT stack_id FROM raw.goroutines WHERE stack_id IS NOT NULL)',
    );
    await conn.run('COMMIT');
    return had.getRows().map((r) => Number(r[0]));
  } catch (e) {
    await conn.run('ROLLBACK');
    throw e;
  }
}

/**
 * Rewrites the database file without its free space: copies it into a new file with an
 * instance of its own (which may touch files, unlike a served store's) and swaps the files.
 * The caller has closed every connection to `file` and reopens it afterwards.
 */
export async function compactStore(file: string): Promise<{ before: number; after: number }> {
  const before = statSync(file).size;
  const tmp = `${file}.compact`;
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  const instance = await DuckDBInstance.create(file, {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  try {
    await conn.run('CHECKPOINT');
    const name = (await conn.runAndReadAll('SELECT current_database()')).getRows()[0]?.[0];
    await conn.run(`ATTACH ${sqlString(tmp)} AS periscope_compact`);
    await conn.run(`COPY FROM DATABASE "${String(name).replace(/"/g, '""')}" TO periscope_compact`);
    await conn.run('DETACH periscope_compact');
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  renameSync(tmp, file);
  if (existsSync(`${file}.wal`)) rmSync(`${file}.wal`);
  return { before, after: statSync(file).size };
}
