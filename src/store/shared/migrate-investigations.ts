/**
 * The investigations part of `periscope store migrate`: standing investigations, their firings
 * and report rows read from an embedded store's file and written to PostgreSQL under the same
 * investigation and firing ids (the id sequences then moved past them), all in one transaction.
 * An investigation or firing whose id the target already holds with the same name / time is
 * skipped (its report rows came with it); the same id with other content is a conflict.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { inPgTransaction } from './pg-schema.js';

const ISO = (col: string) => `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`;
const PG_ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The investigation tables of an embedded store, as rows ready for PostgreSQL. */
export interface EmbeddedInvestigations {
  /** investigation_id, name, owner, question, notes, definition, created_at, closed_at, closed_by */
  readonly investigations: unknown[][];
  /** firing_id, investigation_id, investigation, fired_at, trigger, detail, process_id, goroutine_id, request_id, snapshot_id, trace_kept, report_rows, webhook, error */
  readonly firings: unknown[][];
  /** firing_id, investigation_id, snapshot_id, request_id, query, row_number, row, error */
  readonly reports: unknown[][];
}

const rowsOf = async (conn: DuckDBConnection, sql: string): Promise<unknown[][]> =>
  (await conn.runAndReadAll(sql))
    .getRowsJS()
    .map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));

/** Reads the investigation tables of the embedded store open on `conn`. */
export async function readEmbeddedInvestigations(conn: DuckDBConnection): Promise<EmbeddedInvestigations> {
  return {
    investigations: await rowsOf(
      conn,
      `SELECT investigation_id, name, owner, question, notes, definition::VARCHAR, ${ISO('created_at')}, ${ISO('closed_at')}, closed_by FROM raw.investigations ORDER BY investigation_id`,
    ),
    firings: await rowsOf(
      conn,
      `SELECT firing_id, investigation_id, investigation, ${ISO('fired_at')}, trigger, detail::VARCHAR, process_id, goroutine_id, request_id, snapshot_id, trace_kept, coalesce(report_rows, 0), webhook, error FROM raw.investigation_firings ORDER BY firing_id`,
    ),
    reports: await rowsOf(
      conn,
      'SELECT firing_id, investigation_id, snapshot_id, request_id, query, row_number, row::VARCHAR, error FROM raw.investigation_reports ORDER BY firing_id, query, row_number',
    ),
  };
}

/** What the target holds under the embedded store's ids that is something else. */
export async function investigationConflicts(pool: pg.Pool, src: EmbeddedInvestigations): Promise<string[]> {
  const lines: string[] = [];
  const inv = new Map(
    (
      await pool.query<{ id: string; k: string }>(
        `SELECT investigation_id AS id, name || ' ' || ${PG_ISO('created_at')} AS k FROM periscope.investigations`,
      )
    ).rows.map((r) => [Number(r.id), r.k]),
  );
  for (const r of src.investigations) {
    const there = inv.get(Number(r[0]));
    if (there !== undefined && there !== `${r[1]} ${r[6]}`)
      lines.push(`investigation ${r[0]} is another one there`);
  }
  const fir = new Map(
    (
      await pool.query<{ id: string; k: string }>(
        `SELECT firing_id AS id, investigation_id || ' ' || ${PG_ISO('fired_at')} AS k FROM periscope.investigation_firings`,
      )
    ).rows.map((r) => [Number(r.id), r.k]),
  );
  for (const r of src.firings) {
    const there = fir.get(Number(r[0]));
    if (there !== undefined && there !== `${r[1]} ${r[3]}`)
      lines.push(`investigation firing ${r[0]} is another one there`);
  }
  return lines;
}

/** Copies what the target lacks; returns how many investigations and firings were copied. */
export async function copyInvestigations(
  pool: pg.Pool,
  src: EmbeddedInvestigations,
): Promise<{ investigations: number; firings: number }> {
  return inPgTransaction(pool, async (c) => {
    const have = async (sql: string) =>
      new Set((await c.query<{ id: string }>(sql)).rows.map((r) => Number(r.id)));
    const invHave = await have('SELECT investigation_id AS id FROM periscope.investigations');
    const firHave = await have('SELECT firing_id AS id FROM periscope.investigation_firings');
    const newInv = src.investigations.filter((r) => !invHave.has(Number(r[0])));
    const newFir = src.firings.filter((r) => !firHave.has(Number(r[0])));
    for (const r of newInv)
      await c.query('INSERT INTO periscope.investigations VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', r);
    for (const r of newFir)
      await c.query(
        'INSERT INTO periscope.investigation_firings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)',
        r,
      );
    const copied = new Set(newFir.map((r) => Number(r[0])));
    for (const r of src.reports.filter((x) => copied.has(Number(x[0]))))
      await c.query(
        'INSERT INTO periscope.investigation_reports (firing_id, investigation_id, snapshot_id, request_id, query, row_number, row, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        r,
      );
    // Past every id (never back), so an investigation or firing added later never takes a migrated one's.
    for (const [table, col] of [
      ['investigations', 'investigation_id'],
      ['investigation_firings', 'firing_id'],
    ] as const)
      await c.query(
        `SELECT setval(q.seq, greatest(m.id, coalesce(pg_sequence_last_value(q.seq), 0)))
         FROM (SELECT pg_get_serial_sequence('periscope.${table}', '${col}')::regclass AS seq) q,
              (SELECT max(${col}) AS id FROM periscope.${table}) m WHERE m.id IS NOT NULL`,
      );
    return { investigations: newInv.length, firings: newFir.length };
  });
}
