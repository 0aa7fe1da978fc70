/**
 * The raw tables of standing investigations (schema `raw`): each investigation with its
 * definition and state, each time one fired (what triggered it, the snapshot it took, the
 * request it was about, the webhook's outcome), and the rows of its report. They belong to no
 * snapshot: every scope sees all of them; they join `snapshots` on snapshot_id.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ColumnList, createTableSql } from './table-columns.js';

/** Columns of `raw.investigations`. */
export const INVESTIGATIONS: ColumnList = [
  ['investigation_id', 'bigint'],
  ['name', 'text'],
  ['owner', 'text'],
  ['question', 'text'],
  ['notes', 'text'],
  ['definition', 'json'],
  ['created_at', 'time'],
  ['closed_at', 'time'],
  ['closed_by', 'text'],
];

/** Columns of `raw.investigation_firings`. */
export const INVESTIGATION_FIRINGS: ColumnList = [
  ['firing_id', 'bigint'],
  ['investigation_id', 'bigint'],
  ['investigation', 'text'],
  ['fired_at', 'time'],
  ['trigger', 'text'],
  ['detail', 'json'],
  ['process_id', 'text'],
  ['goroutine_id', 'bigint'],
  ['request_id', 'text'],
  ['snapshot_id', 'bigint'],
  ['trace_kept', 'bool'],
  ['report_rows', 'bigint'],
  ['webhook', 'text'],
  ['error', 'text'],
];

/** Columns of `raw.investigation_reports`. */
export const INVESTIGATION_REPORTS: ColumnList = [
  ['firing_id', 'bigint'],
  ['investigation_id', 'bigint'],
  ['snapshot_id', 'bigint'],
  ['request_id', 'text'],
  ['query', 'text'],
  ['row_number', 'int'],
  ['row', 'json'],
  ['error', 'text'],
];

/** The built-in views over them (spec tables may not take these names). */
export const INVESTIGATION_TABLES = [
  'investigations',
  'investigation_firings',
  'investigation_reports',
] as const;

/** Creates the investigation tables if they are missing (additive: the schema version stays). */
export async function ensureInvestigationSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run(createTableSql('raw.investigations', INVESTIGATIONS));
  await conn.run(createTableSql('raw.investigation_firings', INVESTIGATION_FIRINGS));
  await conn.run(createTableSql('raw.investigation_reports', INVESTIGATION_REPORTS));
}
