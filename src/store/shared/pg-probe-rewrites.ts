/**
 * Rewriting probe batches in PostgreSQL's index (probe-compaction.ts, probe-retention.ts): the
 * batches as those passes read them, the swap of a run of batch rows for the batch that replaces
 * them (in one transaction, only if the run is as it was read), the objects of replaced batches
 * waiting for their safe age (`probe_garbage`), each retention pass recorded for every cache
 * (`probe_trims`, pruned after a bound every running server has passed), and the lock under which batches are rewritten. Tables: pg-probes.ts.
 */
import type pg from 'pg';
import type { RetentionRule } from '../retention.js';
import type { IndexedProbeBatch, ProbeObject, WrittenProbeBatch } from './pg-probes.js';
import { inPgTransaction, type SessionLock, sessionLock, withPgRetry } from './pg-schema.js';

/** A batch with what compaction and retention look at. */
export interface ProbeBatchRow extends IndexedProbeBatch {
  readonly flushKey: string;
  readonly createdAt: Date;
  readonly startUs: number | null;
  readonly endUs: number | null;
  readonly processIds: readonly string[];
  readonly bytes: number;
}

/** The batches matching `where` (SQL over `b`, a probe_batches row), in order. */
export async function probeBatchRows(
  pool: pg.Pool,
  where: string,
  params: readonly unknown[] = [],
): Promise<ProbeBatchRow[]> {
  const r = await withPgRetry(() =>
    pool.query<{
      batch_no: string;
      batch_first: string | null;
      flush_key: string;
      seq_first: string;
      events: number;
      created_at: Date;
      start_us: string | null;
      end_us: string | null;
      process_ids: string[];
      objects: ProbeObject[];
      bytes: string;
    }>(
      `SELECT batch_no, batch_first, flush_key, seq_first, events, created_at, start_us, end_us, process_ids, objects, bytes
       FROM periscope.probe_batches b WHERE ${where} ORDER BY batch_no`,
      [...params],
    ),
  );
  return r.rows.map((row) => ({
    batchNo: Number(row.batch_no),
    batchFirst: row.batch_first === null ? null : Number(row.batch_first),
    flushKey: row.flush_key,
    seqFirst: Number(row.seq_first),
    events: row.events,
    createdAt: row.created_at,
    startUs: row.start_us === null ? null : Number(row.start_us),
    endUs: row.end_us === null ? null : Number(row.end_us),
    processIds: row.process_ids,
    objects: row.objects,
    bytes: Number(row.bytes),
  }));
}

/** What replaces a run of batches: the rewritten batch, or nothing (every row gone). */
export interface RewrittenProbeBatch extends WrittenProbeBatch {
  readonly batchFirst: number;
  readonly seqFirst: number;
  /** The seqs spanned. */
  readonly seqs: number;
  readonly createdAt: Date;
}

/**
 * Replaces the batches `replaced` (a run: every batch numbered between the first and the last,
 * each still under the flush key it was read with) by `by`, numbered as the last of them, or by
 * nothing, in one transaction; their objects are noted as garbage. Returns false, changing
 * nothing, when the run is not as it was read (another pass rewrote or removed one, or a batch
 * indexed late sits between them).
 */
export async function swapProbeBatches(
  pool: pg.Pool,
  writtenBy: string,
  replaced: readonly ProbeBatchRow[],
  by: RewrittenProbeBatch | undefined,
): Promise<boolean> {
  const first = replaced[0]!.batchNo;
  const last = replaced.at(-1)!.batchNo;
  return inPgTransaction(pool, async (c) => {
    const del = await c.query<{ batch_no: string; flush_key: string }>(
      'DELETE FROM periscope.probe_batches WHERE batch_no BETWEEN $1 AND $2 RETURNING batch_no, flush_key',
      [first, last],
    );
    const want = new Map(replaced.map((b) => [b.batchNo, b.flushKey]));
    if (del.rows.length !== want.size || del.rows.some((r) => want.get(Number(r.batch_no)) !== r.flush_key)) {
      await c.query('ROLLBACK');
      await c.query('BEGIN'); // inPgTransaction commits: an empty transaction
      return false;
    }
    if (by)
      await c.query(
        'INSERT INTO periscope.probe_batches (batch_no, batch_first, flush_key, seq_first, events, written_by, created_at, start_us, end_us, process_ids, objects, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
        [
          last,
          by.batchFirst,
          by.prefix,
          by.seqFirst,
          by.seqs,
          writtenBy,
          by.createdAt,
          by.startUs,
          by.endUs,
          JSON.stringify(by.processIds),
          JSON.stringify(by.objects),
          by.bytes,
        ],
      );
    const keys = replaced.flatMap((b) => b.objects.map((o) => o.key));
    await c.query(
      'INSERT INTO periscope.probe_garbage (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
      [keys],
    );
    return true;
  });
}

/** The garbage objects noted longer ago than `ageMs` (PostgreSQL's clock). */
export async function oldProbeGarbage(pool: pg.Pool, ageMs: number): Promise<string[]> {
  const r = await withPgRetry(() =>
    pool.query<{ key: string }>(
      'SELECT key FROM periscope.probe_garbage WHERE since <= now() - make_interval(secs => $1 / 1000.0) ORDER BY key',
      [ageMs],
    ),
  );
  return r.rows.map((x) => x.key);
}

/** Forgets garbage objects once deleted. */
export async function forgetProbeGarbage(pool: pg.Pool, keys: readonly string[]): Promise<void> {
  await withPgRetry(() =>
    pool.query('DELETE FROM periscope.probe_garbage WHERE key = ANY($1::text[])', [[...keys]]),
  );
}

/** The `periscope.meta` key of the last retention pass pruned from `probe_trims`. */
const TRIMS_PRUNED = 'probe_trims_pruned';

/** A retention pass over probe data, as every server's cache applies it. */
export interface ProbeTrim {
  readonly trimNo: number;
  readonly now: Date;
  readonly rules: readonly RetentionRule[];
}

/** Records a retention pass's rules and time (after its batches were rewritten). */
export async function addProbeTrim(pool: pg.Pool, rules: readonly RetentionRule[], now: Date): Promise<void> {
  await withPgRetry(() =>
    pool.query('INSERT INTO periscope.probe_trims (now_ms, rules) VALUES ($1, $2)', [
      now.getTime(),
      JSON.stringify(rules),
    ]),
  );
}

/**
 * The retention passes recorded after `trimNo`, in order, and the highest pruned (0 when none
 * was), read together (one statement: one snapshot of both). A pruned pass above `trimNo` is
 * one a cache that applied up to `trimNo` can no longer apply.
 */
export async function probeTrimsAfter(
  pool: pg.Pool,
  trimNo: number,
): Promise<{ trims: ProbeTrim[]; pruned: number }> {
  const r = await withPgRetry(() =>
    pool.query<{
      trim_no: string | null;
      now_ms: string | null;
      rules: RetentionRule[] | null;
      pruned: string;
    }>(
      `SELECT t.trim_no, t.now_ms, t.rules, p.n AS pruned
       FROM (SELECT coalesce(max(value::bigint), 0) AS n FROM periscope.meta WHERE key = '${TRIMS_PRUNED}') p
       LEFT JOIN periscope.probe_trims t ON t.trim_no > $1 ORDER BY t.trim_no`,
      [trimNo],
    ),
  );
  return {
    trims: r.rows
      .filter((x) => x.trim_no !== null)
      .map((x) => ({ trimNo: Number(x.trim_no), now: new Date(Number(x.now_ms)), rules: x.rules! })),
    pruned: Number(r.rows[0]?.pruned ?? 0),
  };
}

/** The last retention pass recorded, pruned or not (0 when none). */
export async function lastProbeTrim(pool: pg.Pool): Promise<number> {
  const r = await withPgRetry(() =>
    pool.query<{ n: string }>(
      `SELECT greatest((SELECT coalesce(max(trim_no), 0) FROM periscope.probe_trims),
         (SELECT coalesce(max(value::bigint), 0) FROM periscope.meta WHERE key = '${TRIMS_PRUNED}')) AS n`,
    ),
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * How long a retention pass stays in `probe_trims` by default: every running server applies a
 * pass within PROBE_WATCH_MS; one that did not look for longer (stopped, or cut off from
 * PostgreSQL) finds passes it missed pruned and loads its probe data afresh (probe-mirror.ts).
 */
export const PROBE_TRIM_KEEP_MS = 7 * 86_400_000;

/**
 * Deletes the retention passes recorded more than `keepMs` ago (PostgreSQL's clock) and notes
 * the highest one deleted in `periscope.meta`, in one transaction. Returns the rows deleted.
 */
export async function pruneProbeTrims(pool: pg.Pool, keepMs: number): Promise<number> {
  return inPgTransaction(pool, async (c) => {
    const r = await c.query<{ n: string }>(
      'DELETE FROM periscope.probe_trims WHERE at <= now() - make_interval(secs => $1 / 1000.0) RETURNING trim_no AS n',
      [keepMs],
    );
    if (r.rows.length === 0) return 0;
    const top = Math.max(...r.rows.map((x) => Number(x.n)));
    await c.query(
      `INSERT INTO periscope.meta VALUES ($1, $2) ON CONFLICT (key)
       DO UPDATE SET value = greatest(periscope.meta.value::bigint, EXCLUDED.value::bigint)::text`,
      [TRIMS_PRUNED, String(top)],
    );
    return r.rows.length;
  });
}

/** The highest retention pass pruned from `probe_trims` (0 when none was). */
export async function prunedProbeTrims(pool: pg.Pool): Promise<number> {
  const r = await withPgRetry(() =>
    pool.query<{ n: string }>(
      `SELECT coalesce(max(value::bigint), 0) AS n FROM periscope.meta WHERE key = '${TRIMS_PRUNED}'`,
    ),
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The programs of processes with probe data (their facts). */
export async function probePrograms(pool: pg.Pool, ids: readonly string[]): Promise<Map<string, string>> {
  const r = await withPgRetry(() =>
    pool.query<{ process_id: string; program: string }>(
      'SELECT process_id, program FROM periscope.probe_processes WHERE process_id = ANY($1::text[])',
      [[...ids]],
    ),
  );
  return new Map(r.rows.map((x) => [x.process_id, x.program]));
}

/** The advisory lock key held while probe batches are rewritten (compaction, retention; "PSCM"). */
const PROBE_REWRITE_LOCK = 0x5053434d;

/**
 * Takes the lock under which probe batches are rewritten, on a connection of its own: tried
 * (undefined when another server holds it) or, with `wait`, waited for. Compaction tries;
 * retention waits (a compaction pass is bounded), so the two never rewrite the same batch.
 */
export function probeRewriteLock(pool: pg.Pool, wait: boolean): Promise<SessionLock | undefined> {
  return sessionLock(pool, PROBE_REWRITE_LOCK, wait);
}
