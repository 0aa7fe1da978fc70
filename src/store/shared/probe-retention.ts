/**
 * Retention of probe data and request traces in the shared store, by the same rules as the
 * embedded store (per program, by each table's time column: retention.ts PROBE_TIMES; the
 * program from the processes' facts in `probe_processes`, a process without facts: the `*`
 * rule). Under the rewrite lock (waited for: a compaction pass ends), each batch that may hold
 * an expired row (its earliest time before the cutoff of the rule of one of its processes) is
 * read, its expired rows deleted, and what is left written as a new batch that replaces it
 * (same number, pg-probes.ts swapProbeBatches); a batch left without rows is dropped. Then the
 * pass is recorded in `probe_trims`: every server's cache deletes the same rows by the same
 * rules and time when it next looks (probe-mirror.ts), this server's at once.
 */
import type pg from 'pg';
import { TableWriter } from '../bulk-append.js';
import type { ObjectStore } from '../object-store.js';
import { deleteExpiredProbeRows, expiredCondition, type RetentionRule } from '../retention.js';
import {
  addProbeTrim,
  probeBatchRows,
  probePrograms,
  probeRewriteLock,
  swapProbeBatches,
} from './pg-probe-rewrites.js';
import { rewritePrefix } from './probe-compaction.js';
import { rewriteProbeObjects } from './probe-objects.js';

/** What retention did to probe data. */
export interface ProbeExpiry {
  /** Rows deleted (events, counts, histograms, notices, traces, their events and counts). */
  readonly rows: number;
  /** Batches rewritten without their expired rows, and batches dropped whole. */
  readonly rewritten: number;
  readonly dropped: number;
}

/** Deletes the probe rows the rules no longer keep at `now` from the shared store (see the header). */
export async function expireProbeData(
  pool: pg.Pool,
  objects: ObjectStore,
  writer: string,
  rules: readonly RetentionRule[],
  now: Date,
): Promise<ProbeExpiry> {
  const may = expiredCondition(rules, now, 'pp.program', (c) => `b.start_us < ${c.getTime() * 1000}`);
  if (may === 'false') return { rows: 0, rewritten: 0, dropped: 0 };
  const lock = await probeRewriteLock(pool, true);
  try {
    const batches = await probeBatchRows(
      pool,
      `b.start_us IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(b.process_ids) AS x(pid)
       LEFT JOIN periscope.probe_processes pp ON pp.process_id = x.pid WHERE ${may})`,
    );
    let rows = 0;
    let rewritten = 0;
    let dropped = 0;
    for (const b of batches) {
      const programs = await probePrograms(pool, b.processIds);
      const r = await rewriteProbeObjects(
        objects,
        [b],
        rewritePrefix('trimmed'),
        async (conn) => {
          await conn.run('CREATE TABLE probe_programs (process_id VARCHAR, program VARCHAR)');
          const w = new TableWriter('probe_programs', [
            ['process_id', 'text'],
            ['program', 'text'],
          ]);
          for (const [id, program] of programs) w.add(id, program);
          await w.flush(conn);
          return deleteExpiredProbeRows(conn, rules, now, 'probe_programs');
        },
        true,
      );
      if (r.deleted === 0) continue;
      const by = r.written && { ...r.written, createdAt: b.createdAt };
      let swapped = false;
      try {
        swapped = await swapProbeBatches(pool, writer, [b], by);
      } finally {
        if (!swapped && by) await objects.delete(by.objects.map((x) => x.key)).catch(() => undefined);
      }
      // Under the lock nothing else rewrites batches; a batch gone since it was read is not counted.
      if (!swapped) continue;
      rows += r.deleted;
      if (by) rewritten++;
      else dropped++;
    }
    if (rows > 0) await addProbeTrim(pool, rules, now);
    return { rows, rewritten, dropped };
  } finally {
    await lock!.release();
  }
}
