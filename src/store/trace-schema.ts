/**
 * The raw tables of request traces (schema `raw`, docs/traces.md): one row per kept trace,
 * its events in order, and per trace, process and interval the counts of what was kept and
 * dropped. docs/tables.md documents the views users query over them (trace-views.ts).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ColumnList, createTableSql } from './bulk-append.js';

/** Columns of `raw.traces`. */
export const TRACES: ColumnList = [
  ['trace', 'text'],
  ['request_id', 'text'],
  ['process_id', 'text'],
  ['agent_id', 'text'],
  ['goroutine_id', 'bigint'],
  ['start_us', 'bigint'],
  ['end_us', 'bigint'],
  ['duration_ns', 'bigint'],
  ['outcome', 'text'],
  ['error', 'text'],
  ['start_values', 'json'],
  ['end_values', 'json'],
  ['goroutines', 'json'],
  ['events', 'int'],
  ['events_dropped', 'int'],
];

/** Columns of `raw.trace_events`. */
export const TRACE_EVENTS: ColumnList = [
  ['request_id', 'text'],
  ['trace', 'text'],
  ['process_id', 'text'],
  ['seq', 'int'],
  ['time_us', 'bigint'],
  ['goroutine_id', 'bigint'],
  ['probe', 'text'],
  ['function', 'text'],
  ['captures', 'json'],
];

/** Columns of `raw.trace_counts`. */
export const TRACE_COUNTS: ColumnList = [
  ['trace', 'text'],
  ['process_id', 'text'],
  ['agent_id', 'text'],
  ['start_us', 'bigint'],
  ['end_us', 'bigint'],
  ['requests', 'bigint'],
  ['kept', 'bigint'],
  ['dropped', 'bigint'],
  ['over_rate', 'bigint'],
  ['over_memory', 'bigint'],
  ['events_dropped', 'bigint'],
  ['unfinished', 'bigint'],
];

/** The built-in views over the trace tables (spec tables may not take these names). */
export const TRACE_BUILTIN_TABLES = ['traces', 'trace_events', 'trace_counts'] as const;

/** Creates the trace tables if they are missing (additive: the schema version stays). */
export async function ensureTraceSchema(conn: DuckDBConnection): Promise<void> {
  for (const [name, cols] of [
    ['traces', TRACES],
    ['trace_events', TRACE_EVENTS],
    ['trace_counts', TRACE_COUNTS],
  ] as const)
    await conn.run(createTableSql(`raw.${name}`, cols));
}
