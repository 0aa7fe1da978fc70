/**
 * The raw tables of probes (schema `raw`): every event with its captures by expression, the
 * counters and duration histograms of each probe on each process per interval, the notices
 * (a probe switched off, and why), the JSON types of each probe expression's values
 * (which type its column gets), and the facts of each process probe data came from (which
 * program it belongs to, so that a token limited to programs sees its events whether or not
 * the process was ever snapshotted). Events are not part of a snapshot: they are kept by time,
 * in arrival order (`seq`). docs/tables.md documents the views users query over them.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ColumnList, createTableSql } from './bulk-append.js';

/** Columns of `raw.probe_events`. */
export const PROBE_EVENTS: ColumnList = [
  ['seq', 'bigint'],
  ['probe', 'text'],
  ['process_id', 'text'],
  ['agent_id', 'text'],
  ['time_us', 'bigint'],
  ['goroutine_id', 'bigint'],
  ['thread_id', 'bigint'],
  ['site_kind', 'text'],
  ['function', 'text'],
  ['file', 'text'],
  ['line', 'int'],
  ['duration_ns', 'bigint'],
  ['stack', 'json'],
  ['captures', 'json'],
  ['errors', 'json'],
  ['labels', 'json'],
];

/** Columns of `raw.probe_counts`. */
export const PROBE_COUNTS: ColumnList = [
  ['probe', 'text'],
  ['process_id', 'text'],
  ['agent_id', 'text'],
  ['start_us', 'bigint'],
  ['end_us', 'bigint'],
  ['hits', 'bigint'],
  ['matched', 'bigint'],
  ['events', 'bigint'],
  ['rejected', 'bigint'],
  ['condition_errors', 'bigint'],
  ['rate_limited', 'bigint'],
  ['ring_full', 'bigint'],
  ['agent_dropped', 'bigint'],
  ['durations', 'bigint'],
  ['duration_sum_ns', 'bigint'],
  ['cost_ns', 'bigint'],
  ['cpu_ns', 'bigint'],
];

/** Columns of `raw.probe_durations`. */
export const PROBE_DURATIONS: ColumnList = [
  ['probe', 'text'],
  ['process_id', 'text'],
  ['agent_id', 'text'],
  ['start_us', 'bigint'],
  ['end_us', 'bigint'],
  ['lt_ns', 'double'],
  ['count', 'bigint'],
];

/** Columns of `raw.probe_notices`. */
export const PROBE_NOTICES: ColumnList = [
  ['time_us', 'bigint'],
  ['probe', 'text'],
  ['process_id', 'text'],
  ['agent_id', 'text'],
  ['kind', 'text'],
  ['message', 'text'],
];

/** Columns of `raw.probe_value_types`. */
export const PROBE_VALUE_TYPES: ColumnList = [
  ['probe', 'text'],
  ['expr', 'text'],
  ['json_type', 'text'],
];

/**
 * Columns of `raw.probe_processes`: per process probe data came from, the facts a token's
 * program filter is decided on (as in `raw.processes`), as the server knew them then.
 */
export const PROBE_PROCESSES: ColumnList = [
  ['process_id', 'text'],
  ['hostname', 'text'],
  ['pid', 'bigint'],
  ['program', 'text'],
  ['executable', 'text'],
  ['agent_id', 'text'],
];

/** The built-in views over the probe tables (spec tables may not take these names). */
export const PROBE_BUILTIN_TABLES = [
  'probe_events',
  'probe_counts',
  'probe_durations',
  'probe_notices',
] as const;

/** Creates the probe tables if they are missing (additive: the schema version stays). */
export async function ensureProbeSchema(conn: DuckDBConnection): Promise<void> {
  for (const [name, cols] of [
    ['probe_events', PROBE_EVENTS],
    ['probe_counts', PROBE_COUNTS],
    ['probe_durations', PROBE_DURATIONS],
    ['probe_notices', PROBE_NOTICES],
    ['probe_value_types', PROBE_VALUE_TYPES],
    ['probe_processes', PROBE_PROCESSES],
  ] as const)
    await conn.run(createTableSql(`raw.${name}`, cols));
}
