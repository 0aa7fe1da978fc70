/**
 * Probe and trace rows of a DuckDB store copied into the shared store as one indexed batch:
 * what `periscope store migrate` does with an embedded store's probe events, counts,
 * histograms, notices, request traces and the processes' facts, and what a server does once
 * with rows its cache kept before probe data was shared. The events keep their order and the
 * distances between their seqs (the batch takes as many seqs as their span; into an empty
 * shared store, the very same seqs). The batch is named by a fingerprint of what it copies,
 * so copying the same rows again finds them there and copies nothing.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import type { ObjectStore } from '../object-store.js';
import { ensureProbeSchema } from '../probe-schema.js';
import { literal } from '../sql-text.js';
import { ensureTraceSchema } from '../trace-schema.js';
import { indexProbeBatch, type ProbeObject } from './pg-probes.js';
import { withPgRetry } from './pg-schema.js';
import { COPIED_PREFIX, PROBE_OBJECT_TABLES } from './probe-objects.js';
import { scratch } from './snapshot-objects.js';

/** What a copy found and did. */
export interface ProbeCopyResult {
  /** Events, probe rows of the other tables, kept traces, in the source. */
  readonly events: number;
  readonly rows: number;
  readonly traces: number;
  /** False when nothing was there to copy or the same rows were copied before. */
  readonly copied: boolean;
}

/**
 * Copies the raw probe and trace tables `fill` puts into a scratch DuckDB (its `raw` schema,
 * tables as in the embedded store) into the shared store as one batch written by `source`.
 */
export async function copyProbeRows(
  objects: ObjectStore,
  pool: pg.Pool,
  source: string,
  fill: (conn: DuckDBConnection) => Promise<void>,
): Promise<ProbeCopyResult> {
  return scratch(async (conn, dir) => {
    await conn.run('CREATE SCHEMA IF NOT EXISTS raw');
    await ensureProbeSchema(conn);
    await ensureTraceSchema(conn);
    await fill(conn);
    const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowsJS()[0]![0] ?? 0);
    const counts: Record<string, number> = {};
    for (const [t] of PROBE_OBJECT_TABLES) counts[t] = await count(`SELECT count(*) FROM raw.${t}`);
    counts.probe_processes = await count('SELECT count(*) FROM raw.probe_processes');
    const events = counts.probe_events ?? 0;
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    const result = { events, rows: rows - events - (counts.traces ?? 0), traces: counts.traces ?? 0 };
    if (rows === 0) return { ...result, copied: false };
    const minSeq = events > 0 ? await count('SELECT min(seq) FROM raw.probe_events') : 1;
    const maxSeq = events > 0 ? await count('SELECT max(seq) FROM raw.probe_events') : 0;
    // What the rows are, in a few numbers: the same rows give the same name.
    const span = await conn.runAndReadAll(
      `SELECT (SELECT min(time_us)::VARCHAR || '-' || max(time_us)::VARCHAR FROM raw.probe_events), (SELECT min(end_us)::VARCHAR || '-' || max(end_us)::VARCHAR FROM raw.traces), (SELECT min(start_us)::VARCHAR || '-' || max(end_us)::VARCHAR FROM raw.probe_counts)`,
    );
    const print = createHash('sha256')
      .update(JSON.stringify([counts, minSeq, maxSeq, span.getRowsJS()[0]]))
      .digest('hex')
      .slice(0, 16);
    const prefix = `${COPIED_PREFIX}${print}/`;
    const there = await withPgRetry(() =>
      pool.query('SELECT 1 FROM periscope.probe_batches WHERE flush_key = $1', [prefix]),
    );
    if (there.rowCount !== null && there.rowCount > 0) return { ...result, copied: false };
    await conn.run(`UPDATE raw.probe_events SET seq = seq - ${minSeq - 1}`);
    const written: ProbeObject[] = [];
    let bytes = 0;
    try {
      for (const [table] of PROBE_OBJECT_TABLES) {
        if ((counts[table] ?? 0) === 0) continue;
        const file = join(dir, `${table}.parquet`);
        const order = table === 'probe_events' ? ' ORDER BY seq' : '';
        await conn.run(`COPY (SELECT * FROM raw.${table}${order}) TO ${literal(file)} (FORMAT parquet)`);
        const body = await readFile(file);
        const key = `${prefix}${table}.parquet`;
        await objects.put(key, body);
        written.push({ key, table, size: body.length });
        bytes += body.length;
      }
      const facts = (
        await conn.runAndReadAll(
          'SELECT process_id, hostname, pid, program, executable, agent_id FROM raw.probe_processes',
        )
      )
        .getRowsJS()
        .map(([processId, hostname, pid, program, executable, agentId]) => ({
          processId: String(processId),
          hostname: String(hostname ?? ''),
          pid: Number(pid ?? 0),
          program: String(program ?? ''),
          executable: String(executable ?? ''),
          agentId: String(agentId ?? ''),
        }));
      const ids = (
        await conn.runAndReadAll(
          'SELECT DISTINCT process_id FROM (SELECT process_id FROM raw.probe_events UNION ALL SELECT process_id FROM raw.probe_counts UNION ALL SELECT process_id FROM raw.traces) ORDER BY 1',
        )
      )
        .getRowsJS()
        .map(([p]) => String(p));
      const times = (
        await conn.runAndReadAll(
          'SELECT min(t), max(t) FROM (SELECT time_us AS t FROM raw.probe_events UNION ALL SELECT start_us FROM raw.probe_counts UNION ALL SELECT end_us FROM raw.probe_counts UNION ALL SELECT start_us FROM raw.traces UNION ALL SELECT end_us FROM raw.traces)',
        )
      ).getRowsJS()[0]!;
      await indexProbeBatch(
        pool,
        source,
        {
          prefix,
          objects: written,
          events: maxSeq - minSeq + 1,
          startUs: times[0] === null ? null : Number(times[0]),
          endUs: times[1] === null ? null : Number(times[1]),
          processIds: ids,
          bytes,
        },
        facts,
      );
    } catch (e) {
      await objects.delete(written.map((o) => o.key)).catch(() => undefined);
      throw e;
    }
    return { ...result, copied: true };
  });
}

/** Fills a scratch store's probe and trace tables from the DuckDB file `file` (read only). */
export function fromDuckDBFile(file: string): (conn: DuckDBConnection) => Promise<void> {
  return async (conn) => {
    await conn.run(`ATTACH ${literal(file)} AS src (READ_ONLY)`);
    try {
      for (const [table] of [...PROBE_OBJECT_TABLES, ['probe_processes']])
        await conn.run(`INSERT INTO raw.${table} BY NAME SELECT * FROM src.raw.${table}`);
    } finally {
      await conn.run('DETACH src');
    }
  };
}

/** Fills a scratch store's probe and trace tables from another connection's (streamed as data chunks). */
export function fromConnection(src: DuckDBConnection): (conn: DuckDBConnection) => Promise<void> {
  return async (conn) => {
    for (const [table] of [...PROBE_OBJECT_TABLES, ['probe_processes']]) {
      const appender = await conn.createAppender(table!, 'raw');
      try {
        const result = await src.stream(`SELECT * FROM raw.${table}`);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          appender.appendDataChunk(chunk);
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    }
  };
}
