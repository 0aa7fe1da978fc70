/**
 * The index of probe and trace data in PostgreSQL: one row per flushed batch of a server
 * (`probe_batches`: its objects, the seq range of its events, time range, processes), the
 * fleet-wide cursor (`probe_cursor`, a single row: the next batch number and the next event
 * seq), and the facts of the processes probe data came from (`probe_processes`, which decide
 * what a token limited to programs sees). A batch's number and seq range are taken in the
 * transaction that inserts its row, under the cursor row's lock, so commit order is batch and
 * seq order: a reader that saw batch N never later meets a batch below N, nor an event seq
 * below one it read. A batch may later be replaced by a rewritten one under the same number
 * (compaction, retention; `batch_first`, `probe_garbage`, `probe_trims`: pg-probe-rewrites.ts).
 */
import type pg from 'pg';
import type { ProbeProcessInput } from '../probe-store.js';
import { inPgTransaction, withPgRetry } from './pg-schema.js';

/** The advisory lock key held while the probe tables are created ("PSCR"). */
const PROBE_SCHEMA_LOCK = 0x50534352;

const PROBE_SQL = [
  `CREATE TABLE IF NOT EXISTS periscope.probe_cursor (
     one boolean PRIMARY KEY DEFAULT true CHECK (one), next_batch bigint NOT NULL, next_seq bigint NOT NULL)`,
  'INSERT INTO periscope.probe_cursor VALUES (true, 1, 1) ON CONFLICT (one) DO NOTHING',
  `CREATE TABLE IF NOT EXISTS periscope.probe_batches (
     batch_no bigint PRIMARY KEY, flush_key text UNIQUE NOT NULL, seq_first bigint NOT NULL, events int NOT NULL,
     written_by text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
     start_us bigint, end_us bigint, process_ids jsonb NOT NULL, objects jsonb NOT NULL,
     bytes bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS periscope.probe_processes (
     process_id text PRIMARY KEY, hostname text NOT NULL, pid bigint NOT NULL, program text NOT NULL,
     executable text NOT NULL, agent_id text NOT NULL, batch_no bigint NOT NULL)`,
  // A rewritten batch (compacted, or trimmed by retention) replaces the batches batch_first ..
  // batch_no; its objects' rows carry the number of the batch they were flushed in.
  'ALTER TABLE periscope.probe_batches ADD COLUMN IF NOT EXISTS batch_first bigint',
  // Objects of replaced batches, deleted once older than a safe age (servers may be reading them).
  `CREATE TABLE IF NOT EXISTS periscope.probe_garbage (
     key text PRIMARY KEY, since timestamptz NOT NULL DEFAULT now())`,
  // Each retention pass over probe data: its rules and time, for every server's cache to apply.
  `CREATE TABLE IF NOT EXISTS periscope.probe_trims (
     trim_no bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), now_ms bigint NOT NULL, rules jsonb NOT NULL)`,
];

/** One object of a flushed batch: a raw table's rows as Parquet. */
export interface ProbeObject {
  readonly key: string;
  readonly table: string;
  readonly size: number;
}

/** What a flush wrote, for its index row. */
export interface WrittenProbeBatch {
  /** The flush's key prefix: names the batch once (an index retried after a lost COMMIT finds it). */
  readonly prefix: string;
  readonly objects: readonly ProbeObject[];
  /** Events in the batch (their seqs in the objects run 1..events). */
  readonly events: number;
  readonly startUs: number | null;
  readonly endUs: number | null;
  readonly processIds: readonly string[];
  readonly bytes: number;
}

/** A batch as the index holds it. */
export interface IndexedProbeBatch {
  readonly batchNo: number;
  /**
   * Set for a rewritten batch (compacted or trimmed): it replaced the batches batchFirst ..
   * batchNo, and each row of its objects carries the `batch_no` it was flushed in.
   */
  readonly batchFirst: number | null;
  /** The seq of the batch's first event (its events hold seqs in seqFirst .. seqFirst + events - 1). */
  readonly seqFirst: number;
  /** The number of seqs the batch spans (of a rewritten batch: some may have gone). */
  readonly events: number;
  readonly objects: readonly ProbeObject[];
}

/** A process's facts as the index holds them, with the batch that last wrote them. */
export interface IndexedProbeProcess extends ProbeProcessInput {
  readonly agentId: string;
  readonly batchNo: number;
}

/** Creates the probe index tables if they are missing (additive; the schema version stays). */
export async function ensureProbeIndex(pool: pg.Pool): Promise<void> {
  await inPgTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [PROBE_SCHEMA_LOCK]);
    for (const sql of PROBE_SQL) await c.query(sql);
  });
}

/**
 * Indexes a written batch: takes the next batch number and seq range under the cursor row's
 * lock, inserts the batch row and writes the processes' facts, in one transaction. Returns
 * the batch number and the seq of its first event.
 */
export async function indexProbeBatch(
  pool: pg.Pool,
  writtenBy: string,
  w: WrittenProbeBatch,
  facts: readonly (ProbeProcessInput & { readonly agentId: string })[],
): Promise<{ batchNo: number; seqFirst: number }> {
  return inPgTransaction(pool, async (c) => {
    // Retried after a COMMIT whose answer was lost: the batch may be there already.
    const had = await c.query<{ b: string; s: string }>(
      'SELECT batch_no AS b, seq_first AS s FROM periscope.probe_batches WHERE flush_key = $1',
      [w.prefix],
    );
    if (had.rows[0]) return { batchNo: Number(had.rows[0].b), seqFirst: Number(had.rows[0].s) };
    const r = await c.query<{ b: string; s: string }>(
      'UPDATE periscope.probe_cursor SET next_batch = next_batch + 1, next_seq = next_seq + $1 RETURNING next_batch - 1 AS b, next_seq - $1 AS s',
      [w.events],
    );
    const batchNo = Number(r.rows[0]!.b);
    const seqFirst = Number(r.rows[0]!.s);
    await c.query(
      'INSERT INTO periscope.probe_batches (batch_no, flush_key, seq_first, events, written_by, start_us, end_us, process_ids, objects, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [
        batchNo,
        w.prefix,
        seqFirst,
        w.events,
        writtenBy,
        w.startUs,
        w.endUs,
        JSON.stringify(w.processIds),
        JSON.stringify(w.objects),
        w.bytes,
      ],
    );
    for (const p of facts)
      await c.query(
        `INSERT INTO periscope.probe_processes VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (process_id) DO UPDATE SET hostname = $2, pid = $3, program = $4, executable = $5, agent_id = $6, batch_no = $7`,
        [p.processId, p.hostname, p.pid, p.program, p.executable, p.agentId, batchNo],
      );
    return { batchNo, seqFirst };
  });
}

/** A batch as a cache loads it: with its time range (µs; null when it holds no timed row). */
export interface TimedProbeBatch extends IndexedProbeBatch {
  readonly startUs: number | null;
  readonly endUs: number | null;
}

/** The batches after `batchNo`, in order (at most `limit`). */
export async function probeBatchesAfter(
  pool: pg.Pool,
  batchNo: number,
  limit = 500,
): Promise<TimedProbeBatch[]> {
  const r = await withPgRetry(() =>
    pool.query<{
      batch_no: string;
      batch_first: string | null;
      seq_first: string;
      events: number;
      objects: ProbeObject[];
      start_us: string | null;
      end_us: string | null;
    }>(
      'SELECT batch_no, batch_first, seq_first, events, objects, start_us, end_us FROM periscope.probe_batches WHERE batch_no > $1 ORDER BY batch_no LIMIT $2',
      [batchNo, limit],
    ),
  );
  return r.rows.map((row) => ({
    batchNo: Number(row.batch_no),
    batchFirst: row.batch_first === null ? null : Number(row.batch_first),
    seqFirst: Number(row.seq_first),
    events: row.events,
    objects: row.objects,
    startUs: row.start_us === null ? null : Number(row.start_us),
    endUs: row.end_us === null ? null : Number(row.end_us),
  }));
}

/**
 * The bytes of the objects of the batches up to `batchNo` that hold a row recorded at or after
 * `floorUs` (or no timed row): what a cache that loaded them and deleted the rows before
 * `floorUs` holds, counted as the object store holds it (a batch across the floor counts whole).
 */
export async function probeBytesUpTo(pool: pg.Pool, batchNo: number, floorUs: number): Promise<number> {
  const r = await withPgRetry(() =>
    pool.query<{ n: string }>(
      'SELECT coalesce(sum(bytes), 0) AS n FROM periscope.probe_batches WHERE batch_no <= $1 AND (end_us IS NULL OR end_us >= $2)',
      [batchNo, floorUs],
    ),
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * The time (µs, a whole ms) before which a cache that loaded the batches up to `batchNo` deletes
 * rows so that it keeps at most `keepBytes` of them: the newest batches (by their last row's
 * time) that fit are kept, and every row before the last time of the newest that does not fit
 * goes. Undefined when they all fit. Batches without a timed row are counted and always kept.
 */
export async function probeFloorFor(
  pool: pg.Pool,
  batchNo: number,
  floorUs: number,
  keepBytes: number,
): Promise<number | undefined> {
  const r = await withPgRetry(() =>
    pool.query<{ end_us: string }>(
      `SELECT end_us FROM (
         SELECT end_us, sum(bytes) OVER (ORDER BY end_us DESC, batch_no DESC ROWS UNBOUNDED PRECEDING)
           + (SELECT coalesce(sum(bytes), 0) FROM periscope.probe_batches WHERE batch_no <= $1 AND end_us IS NULL) AS upto
         FROM periscope.probe_batches WHERE batch_no <= $1 AND end_us >= $2) x
       WHERE upto > $3 ORDER BY end_us DESC LIMIT 1`,
      [batchNo, floorUs, keepBytes],
    ),
  );
  const end = r.rows[0]?.end_us;
  return end === undefined ? undefined : (Math.floor(Number(end) / 1000) + 1) * 1000;
}

/** The facts written by batches after `batchNo` (each process's latest). */
export async function probeProcessesAfter(pool: pg.Pool, batchNo: number): Promise<IndexedProbeProcess[]> {
  const r = await withPgRetry(() =>
    pool.query<{
      process_id: string;
      hostname: string;
      pid: string;
      program: string;
      executable: string;
      agent_id: string;
      batch_no: string;
    }>('SELECT * FROM periscope.probe_processes WHERE batch_no > $1', [batchNo]),
  );
  return r.rows.map((p) => ({
    processId: p.process_id,
    hostname: p.hostname,
    pid: Number(p.pid),
    program: p.program,
    executable: p.executable,
    agentId: p.agent_id,
    batchNo: Number(p.batch_no),
  }));
}

/**
 * The number of the last batch ever indexed (0 when none), from the cursor: retention may have
 * dropped that batch, and a cache that loaded it still holds a mark this database gave.
 */
export async function lastProbeBatch(pool: pg.Pool): Promise<number> {
  const r = await withPgRetry(() =>
    pool.query<{ n: string }>(
      'SELECT greatest((SELECT next_batch - 1 FROM periscope.probe_cursor), (SELECT coalesce(max(batch_no), 0) FROM periscope.probe_batches)) AS n',
    ),
  );
  return Number(r.rows[0]?.n ?? 0);
}
