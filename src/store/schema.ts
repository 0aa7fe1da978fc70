/**
 * The stored (raw) tables of the DuckDB store, in the schema `raw`. The built-in tables users
 * query (`goroutines`, `frames`, …) are views over these with the same columns; docs/tables.md
 * documents every column. Column names and order are a contract: change them only with a
 * schema version bump and a migration.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ensureInvestigationSchema, INVESTIGATION_TABLES } from './investigation-schema.js';
import { ensureProbeSchema, PROBE_BUILTIN_TABLES } from './probe-schema.js';
import { type ColumnList, createTableSql } from './table-columns.js';
import { ensureTraceSchema, TRACE_BUILTIN_TABLES } from './trace-schema.js';

/** The version of the raw schema written to `raw.meta`. */
export const SCHEMA_VERSION = '1';

/** Columns of `snapshots`. */
export const SNAPSHOTS: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['created_at', 'time'],
  ['labels', 'json'],
  ['spec_version', 'int'],
  ['capture_spec', 'text'],
  ['process_count', 'int'],
  ['failed_processes', 'int'],
  ['goroutine_count', 'bigint'],
];

/** Columns of `processes`. */
export const PROCESSES: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['process_id', 'text'],
  ['hostname', 'text'],
  ['pid', 'bigint'],
  ['program', 'text'],
  ['executable', 'text'],
  ['build_id', 'text'],
  ['go_version', 'text'],
  ['taken_at', 'time'],
  ['mode', 'text'],
  ['pause_ns', 'bigint'],
  ['stop_ns', 'bigint'],
  ['copy_ns', 'bigint'],
  ['values_ns', 'bigint'],
  ['resume_ns', 'bigint'],
  ['bytes_read', 'bigint'],
  ['decode_ns', 'bigint'],
  ['threads', 'int'],
  ['goroutine_count', 'bigint'],
  ['allglen', 'bigint'],
  ['truncated', 'bool'],
  ['spec_functions_absent', 'json'],
  ['error', 'text'],
  /** Why the snapshot of this process is partial (its pause reached its cap); null when whole. */
  ['partial', 'text'],
];

/** Columns of `goroutines`. */
export const GOROUTINES: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['process_id', 'text'],
  ['goroutine_id', 'bigint'],
  ['status', 'text'],
  ['wait_reason', 'text'],
  ['wait_ns', 'bigint'],
  ['labels', 'json'],
  ['created_by', 'text'],
  ['created_by_file', 'text'],
  ['created_by_line', 'int'],
  ['created_by_goroutine', 'bigint'],
  ['start_function', 'text'],
  ['stack_id', 'text'],
  ['frame_count', 'int'],
  ['top_function', 'text'],
  ['thread_id', 'bigint'],
  ['system', 'bool'],
  ['locked_to_thread', 'bool'],
  ['address', 'bigint'],
  ['stack_end', 'text'],
  ['stack_error', 'text'],
  ['errors', 'json'],
  ['inconsistent', 'bool'],
];

/** Columns of `frames` (depth 0 = innermost). */
export const FRAMES: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['process_id', 'text'],
  ['goroutine_id', 'bigint'],
  ['depth', 'int'],
  ['function', 'text'],
  ['file', 'text'],
  ['line', 'int'],
  ['pc', 'bigint'],
  ['entry', 'bigint'],
  ['sp', 'bigint'],
  ['cfa', 'bigint'],
  ['inlined', 'bool'],
  ['hidden', 'bool'],
];

/** Columns of `stacks` (deduplicated across snapshots by content). */
export const STACKS: ColumnList = [
  ['stack_id', 'text'],
  ['depth', 'int'],
  ['function', 'text'],
  ['file', 'text'],
  ['line', 'int'],
  ['inlined', 'bool'],
  ['hidden', 'bool'],
];

/** Columns of `captured` (every captured value, long form). */
export const CAPTURED: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['process_id', 'text'],
  ['goroutine_id', 'bigint'],
  ['depth', 'int'],
  ['function', 'text'],
  ['table_name', 'text'],
  ['column', 'text'],
  ['expr', 'text'],
  ['value', 'json'],
  ['error', 'text'],
  ['after_pause', 'bool'],
];

/** Columns of `capture_errors`: spec entries a process's binary could not capture, and why. */
export const CAPTURE_ERRORS: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['process_id', 'text'],
  ['function', 'text'],
  ['table_name', 'text'],
  ['column', 'text'],
  ['expr', 'text'],
  ['spec_line', 'int'],
  ['spec_column', 'int'],
  ['error', 'text'],
];

/** Columns of `link_notes`: links that cannot resolve (fully) in a process, once per link, table and reason. */
export const LINK_NOTES: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['process_id', 'text'],
  ['link', 'text'],
  ['table_name', 'text'],
  ['column', 'text'],
  ['frames', 'bigint'],
  ['of_frames', 'bigint'],
  ['note', 'text'],
];

/** Columns of `spec_versions`. */
export const SPEC_VERSIONS: ColumnList = [
  ['version', 'int'],
  ['created_at', 'time'],
  ['author', 'text'],
  ['yaml', 'text'],
  ['diff', 'text'],
];

/** Columns of `imports`: where an imported snapshot came from (`periscope import`). */
export const IMPORTS: ColumnList = [
  ['snapshot_id', 'bigint'],
  ['original_snapshot_id', 'bigint'],
  ['path', 'text'],
  ['format', 'text'],
  ['imported_at', 'time'],
];

/** The per-snapshot raw tables, in the order they are written, exported and imported. */
export const SNAPSHOT_TABLES: readonly (readonly [string, ColumnList])[] = [
  ['snapshots', SNAPSHOTS],
  ['processes', PROCESSES],
  ['goroutines', GOROUTINES],
  ['frames', FRAMES],
  ['captured', CAPTURED],
  ['capture_errors', CAPTURE_ERRORS],
  ['link_notes', LINK_NOTES],
];

/** Per-snapshot tables added after the first exports were written: an export may lack them. */
export const LATER_SNAPSHOT_TABLES: ReadonlySet<string> = new Set(['capture_errors', 'link_notes']);

/** Every built-in table name (spec tables may not take these names). */
export const BUILTIN_TABLES = [
  'snapshots',
  'processes',
  'goroutines',
  'frames',
  'stacks',
  'captured',
  'capture_errors',
  'link_notes',
  'spec_versions',
  'links',
  ...PROBE_BUILTIN_TABLES,
  ...INVESTIGATION_TABLES,
  ...TRACE_BUILTIN_TABLES,
] as const;

/** Creates the raw schema if it is missing and checks its version. */
export async function ensureSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run('CREATE SCHEMA IF NOT EXISTS raw');
  for (const [name, cols] of SNAPSHOT_TABLES) await conn.run(createTableSql(`raw.${name}`, cols));
  await conn.run(createTableSql('raw.stacks', STACKS));
  // Added after the first stores were written (additive, so the schema version stays).
  await conn.run('ALTER TABLE raw.captured ADD COLUMN IF NOT EXISTS after_pause BOOLEAN');
  await conn.run('ALTER TABLE raw.processes ADD COLUMN IF NOT EXISTS partial VARCHAR');
  await conn.run(createTableSql('raw.spec_versions', SPEC_VERSIONS));
  await conn.run(createTableSql('raw.imports', IMPORTS));
  const had = await conn.runAndReadAll(
    "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'value_types'",
  );
  await conn.run(
    'CREATE TABLE IF NOT EXISTS raw.value_types (function VARCHAR, expr VARCHAR, json_type VARCHAR)',
  );
  if (had.currentRowCount === 0) await recordValueTypes(conn);
  await ensureProbeSchema(conn);
  await ensureInvestigationSchema(conn);
  await ensureTraceSchema(conn);
  await conn.run('CREATE TABLE IF NOT EXISTS raw.meta (key VARCHAR PRIMARY KEY, value VARCHAR)');
  await conn.run(`INSERT OR IGNORE INTO raw.meta VALUES ('schema_version', '${SCHEMA_VERSION}')`);
  const fixed = await conn.runAndReadAll("SELECT 1 FROM raw.meta WHERE key = 'top_function'");
  if (fixed.currentRowCount === 0) {
    await fixTopFunctions(conn);
    await conn.run("INSERT INTO raw.meta VALUES ('top_function', 'first-shown')");
  }
}

/**
 * Sets `goroutines.top_function` to the first frame Go's own traceback prints (the first
 * frame not `hidden`) for snapshots stored when it held the innermost frame (usually a
 * hidden runtime frame such as runtime.gopark), or imported from such a store.
 */
export async function fixTopFunctions(conn: DuckDBConnection, snapshotId?: number): Promise<void> {
  const only = snapshotId === undefined ? '' : ` AND snapshot_id = ${snapshotId}`;
  await conn.run(
    'UPDATE raw.goroutines g SET top_function = v.function FROM (' +
      'SELECT snapshot_id, process_id, goroutine_id, arg_min(function, depth) AS function ' +
      `FROM raw.frames WHERE NOT hidden${only} GROUP BY ALL) v ` +
      'WHERE g.snapshot_id = v.snapshot_id AND g.process_id = v.process_id AND g.goroutine_id = v.goroutine_id ' +
      'AND g.top_function IS DISTINCT FROM v.function',
  );
}

/**
 * Adds to `raw.value_types` the JSON types of the captured values of one snapshot (or all):
 * the distinct (function, expression, json_type) triples that decide function-table column
 * types, kept so that queries need not scan every captured value.
 */
export async function recordValueTypes(conn: DuckDBConnection, snapshotId?: number): Promise<void> {
  const only = snapshotId === undefined ? '' : ` AND snapshot_id = ${snapshotId}`;
  await conn.run(
    `INSERT INTO raw.value_types SELECT DISTINCT function, expr, json_type(value) FROM raw.captured ` +
      `WHERE value IS NOT NULL${only} EXCEPT SELECT * FROM raw.value_types`,
  );
}

/** Reads the schema version of an open store ('' when it has none). */
export async function schemaVersion(conn: DuckDBConnection): Promise<string> {
  const r = await conn.runAndReadAll(
    "SELECT value FROM raw.meta WHERE key = 'schema_version' UNION ALL SELECT '' LIMIT 1",
  );
  return String(r.getRows()[0]?.[0] ?? '');
}
