/**
 * Retention by program rule in the scaled-out store's index: one pass at a time across every
 * server (a PostgreSQL advisory lock, tried and never waited for: a server that finds it taken
 * skips its pass), the processes older than their program's rule found, and then dropped from
 * the index in one transaction (a snapshot left without processes goes whole, the others keep
 * their row with counts and bytes that follow). Their objects are deleted by the caller only
 * after that transaction commits, so a query never meets a missing object of an indexed process.
 */
import type pg from 'pg';
import { expiredCondition, type RetentionRule } from '../retention.js';
import { inPgTransaction, type SessionLock, sessionLock, withPgRetry } from './pg-schema.js';
import type { SnapshotObject } from './snapshot-objects.js';

/** The advisory lock key held by the server running a retention pass (any constant; "PSRT"). */
const RETENTION_LOCK = 0x50535254;

/** The retention lock, held on a connection of its own until released. */
export type RetentionLock = SessionLock;

/** Takes the retention lock, or returns undefined when another server holds it. */
export function tryRetentionLock(pool: pg.Pool): Promise<RetentionLock | undefined> {
  return sessionLock(pool, RETENTION_LOCK, false);
}

/** A process the rules no longer keep. */
export interface ExpiredProcess {
  readonly snapshotId: number;
  readonly processId: string;
  readonly objects: readonly SnapshotObject[];
  /** Whether every process of its snapshot expired (the snapshot goes whole). */
  readonly wholeSnapshot: boolean;
}

/** The indexed processes older than their program's rule at `now`, by snapshot and process id. */
export async function expiredProcesses(
  pool: pg.Pool,
  rules: readonly RetentionRule[],
  now: Date,
): Promise<ExpiredProcess[]> {
  const where = expiredCondition(
    rules,
    now,
    'p.program',
    (cutoff) => `s.created_at < TIMESTAMPTZ '${cutoff.toISOString()}'`,
  );
  const q = await withPgRetry(() =>
    pool.query<{
      snapshot_id: string;
      process_id: string;
      objects: SnapshotObject[];
      n: string;
      total: string;
    }>(
      'SELECT p.snapshot_id, p.process_id, p.objects, count(*) OVER (PARTITION BY p.snapshot_id) AS n, ' +
        '(SELECT count(*) FROM periscope.snapshot_processes a WHERE a.snapshot_id = p.snapshot_id) AS total ' +
        `FROM periscope.snapshot_processes p JOIN periscope.snapshots s USING (snapshot_id) WHERE ${where} ` +
        'ORDER BY p.snapshot_id, p.process_id',
    ),
  );
  return q.rows.map((r) => ({
    snapshotId: Number(r.snapshot_id),
    processId: r.process_id,
    objects: r.objects,
    wholeSnapshot: Number(r.n) === Number(r.total),
  }));
}

/** What dropping expired processes from the index did. */
export interface UnindexedProcesses {
  /** Snapshots left without processes, deleted whole. */
  readonly snapshotIds: number[];
  /** The processes dropped from snapshots that keep others. */
  readonly trimmedProcesses: { snapshotId: number; processId: string }[];
  /** Processes dropped. */
  readonly processes: number;
  /** The keys of every dropped process's objects (to delete once this committed). */
  readonly keys: string[];
}

/**
 * Drops processes from the index in one transaction; `goroutines` gives, per trimmed
 * snapshot's process (`snapshotId:processId`), its goroutine rows (its snapshot's count drops by them).
 * Processes already gone (deleted meanwhile) are skipped.
 */
export async function unindexProcesses(
  pool: pg.Pool,
  expired: readonly ExpiredProcess[],
  goroutines: ReadonlyMap<string, number>,
): Promise<UnindexedProcesses> {
  return inPgTransaction(pool, async (c) => {
    const del = await c.query<{ snapshot_id: string; process_id: string; objects: SnapshotObject[] }>(
      'DELETE FROM periscope.snapshot_processes p USING unnest($1::bigint[], $2::text[]) AS e(snapshot_id, process_id) ' +
        'WHERE p.snapshot_id = e.snapshot_id AND p.process_id = e.process_id RETURNING p.snapshot_id, p.process_id, p.objects',
      [expired.map((e) => e.snapshotId), expired.map((e) => e.processId)],
    );
    const bySnapshot = new Map<number, { bytes: number; goroutines: number; processes: string[] }>();
    for (const r of del.rows) {
      const id = Number(r.snapshot_id);
      const s = bySnapshot.get(id) ?? { bytes: 0, goroutines: 0, processes: [] };
      s.goroutines += goroutines.get(`${id}:${r.process_id}`) ?? 0;
      s.processes.push(r.process_id);
      bySnapshot.set(id, s);
    }
    const ids = [...bySnapshot.keys()].sort((a, b) => a - b);
    // A part's objects hold the rows of all its processes: an object goes (and its bytes leave
    // the snapshot's) only once no process still indexed lists it.
    const still = await c.query<{ key: string }>(
      "SELECT DISTINCT o->>'key' AS key FROM periscope.snapshot_processes p, jsonb_array_elements(p.objects::jsonb) o " +
        'WHERE p.snapshot_id = ANY($1::bigint[])',
      [ids],
    );
    const kept = new Set(still.rows.map((r) => r.key));
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const r of del.rows)
      for (const o of r.objects) {
        if (kept.has(o.key) || seen.has(o.key)) continue;
        seen.add(o.key);
        keys.push(o.key);
        bySnapshot.get(Number(r.snapshot_id))!.bytes += o.size;
      }
    const whole = await c.query<{ snapshot_id: string }>(
      'DELETE FROM periscope.snapshots s WHERE snapshot_id = ANY($1::bigint[]) AND NOT EXISTS ' +
        '(SELECT 1 FROM periscope.snapshot_processes p WHERE p.snapshot_id = s.snapshot_id) RETURNING snapshot_id',
      [ids],
    );
    const gone = new Set(whole.rows.map((r) => Number(r.snapshot_id)));
    const trimmedProcesses: { snapshotId: number; processId: string }[] = [];
    for (const id of ids) {
      if (gone.has(id)) continue;
      const s = bySnapshot.get(id)!;
      await c.query(
        'UPDATE periscope.snapshots s SET ' +
          'process_count = (SELECT count(*) FROM periscope.snapshot_processes p WHERE p.snapshot_id = s.snapshot_id), ' +
          "failed_processes = (SELECT count(*) FROM periscope.snapshot_processes p WHERE p.snapshot_id = s.snapshot_id AND coalesce(p.error, '') <> ''), " +
          'goroutine_count = greatest(goroutine_count - $2, 0), bytes = greatest(bytes - $3, 0) WHERE snapshot_id = $1',
        [id, s.goroutines, s.bytes],
      );
      for (const p of s.processes.sort()) trimmedProcesses.push({ snapshotId: id, processId: p });
    }
    return {
      snapshotIds: [...gone].sort((a, b) => a - b),
      trimmedProcesses,
      processes: del.rows.length,
      keys,
    };
  });
}
