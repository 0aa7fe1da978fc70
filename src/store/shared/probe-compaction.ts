/**
 * Compaction of the probe batches in the shared store: every server flushes about once a
 * second, so a day of three servers is ~260k batches of small objects, each read in ~5 ms by a
 * server that starts. One server at a time (the rewrite lock of pg-probes.ts, tried) merges
 * runs of batches older than `ageMs` (consecutive in batch order, within one `bucketMs` of
 * index time, at most `maxBytes` of objects and `maxBatches` batches): flushes as they age, and
 * once a bucket is over everything of it into as few batches as the bounds allow. A merged batch is written
 * first (its rows keep the batch they were flushed in and their seqs), then one transaction
 * swaps the index rows: the run's rows go, the merged one takes the number of the run's last
 * batch. A cache that loaded the run skips it (its number is not above the cache's mark); a
 * cache that loaded part of it loads only the rows of batches above its mark; a new server loads
 * the merged batch only. The replaced objects are deleted once older than `garbageAgeMs`
 * (a server may be reading them). A pass killed between writing and swapping leaves objects no
 * index row names: the orphan collection deletes them (orphan-objects.ts).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ObjectStore } from '../object-store.js';
import {
  forgetProbeGarbage,
  oldProbeGarbage,
  type ProbeBatchRow,
  probeBatchRows,
  probeRewriteLock,
  swapProbeBatches,
} from './pg-probe-rewrites.js';
import { COPIED_PREFIX, PROBES_PREFIX, rewriteProbeObjects } from './probe-objects.js';

/** When batches are merged, and how big a merged batch gets. */
export interface ProbeCompactionOptions {
  /** Batches indexed longer ago than this are merged, ms (default 5 min). */
  readonly ageMs?: number;
  /** A merged batch holds the batches of one such span of index time, ms (default 1 h). */
  readonly bucketMs?: number;
  /** A merged batch's objects stay under this many bytes (default 64 MiB). */
  readonly maxBytes?: number;
  /** A merged batch replaces at most this many batches (default 2,000: a backlog is merged in steps). */
  readonly maxBatches?: number;
  /** Objects of replaced batches are deleted once replaced longer ago than this, ms (default 10 min). */
  readonly garbageAgeMs?: number;
}

/** What one pass did. */
export interface ProbeCompactionPass {
  /** Another server was compacting (or retention was rewriting): nothing done here. */
  readonly locked: boolean;
  /** Merged batches written, and the batches they replaced. */
  readonly merged: number;
  readonly replaced: number;
  /** Runs not swapped because the index changed under them (tried again next pass). */
  readonly conflicts: number;
  /** Objects of replaced batches deleted. */
  readonly garbage: number;
}

/** The key prefix of a rewritten batch (`kind`: compacted, trimmed). */
export function rewritePrefix(kind: string): string {
  return `${PROBES_PREFIX}${new Date().toISOString().slice(0, 10)}/${kind}-${randomBytes(6).toString('hex')}/`;
}

/** The runs to merge among `rows` (old enough, in batch order), as the header says. */
export function compactionRuns(
  rows: readonly ProbeBatchRow[],
  nowMs: number,
  o: Required<ProbeCompactionOptions>,
): ProbeBatchRow[][] {
  const runs: ProbeBatchRow[][] = [];
  let cur: ProbeBatchRow[] = [];
  let bucket = Number.NaN;
  let bytes = 0;
  const end = () => {
    if (cur.length >= 2) runs.push(cur);
    cur = [];
    bytes = 0;
  };
  for (const r of rows) {
    const b = Math.floor(r.createdAt.getTime() / o.bucketMs);
    const closed = (b + 1) * o.bucketMs <= nowMs - o.ageMs;
    // In a bucket still filling, merged batches stay as they are: only flushes are merged. Rows
    // copied by `store migrate` keep their batch: its key tells a second run they were copied.
    const eligible = (closed || r.batchFirst === null) && !r.flushKey.startsWith(COPIED_PREFIX);
    if (
      !eligible ||
      b !== bucket ||
      (cur.length > 0 && bytes + r.bytes > o.maxBytes) ||
      cur.length >= o.maxBatches
    )
      end();
    bucket = b;
    if (!eligible) continue;
    cur.push(r);
    bytes += r.bytes;
  }
  end();
  return runs;
}

/** One compaction pass (see the header); `writer` names who wrote the merged batches. */
export async function compactProbeBatches(
  pool: pg.Pool,
  objects: ObjectStore,
  writer: string,
  opts: ProbeCompactionOptions = {},
): Promise<ProbeCompactionPass> {
  const o: Required<ProbeCompactionOptions> = {
    ageMs: opts.ageMs ?? 300_000,
    bucketMs: opts.bucketMs ?? 3_600_000,
    maxBytes: opts.maxBytes ?? 64 << 20,
    maxBatches: opts.maxBatches ?? 2000,
    garbageAgeMs: opts.garbageAgeMs ?? 600_000,
  };
  const lock = await probeRewriteLock(pool, false);
  if (!lock) return { locked: true, merged: 0, replaced: 0, conflicts: 0, garbage: 0 };
  try {
    const garbage = await oldProbeGarbage(pool, o.garbageAgeMs);
    if (garbage.length > 0) {
      await objects.delete(garbage);
      await forgetProbeGarbage(pool, garbage);
    }
    const nowMs = Number(
      (await pool.query<{ n: string }>('SELECT (extract(epoch FROM now()) * 1000)::bigint AS n')).rows[0]!.n,
    );
    const rows = await probeBatchRows(pool, 'b.created_at < now() - make_interval(secs => $1 / 1000.0)', [
      o.ageMs,
    ]);
    let merged = 0;
    let replaced = 0;
    let conflicts = 0;
    for (const run of compactionRuns(rows, nowMs, o)) {
      const { written } = await rewriteProbeObjects(objects, run, rewritePrefix('compacted'));
      const by = written && { ...written, createdAt: run.at(-1)!.createdAt };
      let swapped = false;
      try {
        swapped = await swapProbeBatches(pool, writer, run, by);
      } finally {
        if (!swapped && by) await objects.delete(by.objects.map((x) => x.key)).catch(() => undefined);
      }
      if (!swapped) {
        conflicts++;
        continue;
      }
      merged++;
      replaced += run.length;
    }
    return { locked: false, merged, replaced, conflicts, garbage: garbage.length };
  } finally {
    await lock.release();
  }
}
