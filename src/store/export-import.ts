/**
 * One snapshot out of the store and back in. An export holds the snapshot's rows of every
 * built-in table (stacks: those its goroutines use), the whole spec history and a
 * `periscope_export` table of facts; for readers without Periscope it also holds the current
 * spec's function tables, derived tables and links, materialized. Import reads only the
 * built-in tables and the spec history, and re-derives the rest.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import { createQueryViews } from './query-views.js';
import {
  fixTopFunctions,
  LATER_SNAPSHOT_TABLES,
  recordValueTypes,
  SCHEMA_VERSION,
  SNAPSHOT_TABLES,
} from './schema.js';
import { ident, literal } from './sql-text.js';
import type { ExportFormat, ImportResult } from './store.js';

const EXPORT_FORMAT_VERSION = '1';

/** Every table an export holds, with the SELECT that fills it (over the store's raw schema). */
function exportSources(id: number): [string, string][] {
  return [
    ...SNAPSHOT_TABLES.map(([t]): [string, string] => [
      t,
      `SELECT * FROM raw.${t} WHERE snapshot_id = ${id}`,
    ]),
    [
      'stacks',
      `SELECT * FROM raw.stacks WHERE stack_id IN (SELECT stack_id FROM raw.goroutines WHERE snapshot_id = ${id}) ORDER BY stack_id, depth`,
    ],
    ['spec_versions', 'SELECT * FROM raw.spec_versions ORDER BY version'],
    [
      'periscope_export',
      `SELECT * FROM (VALUES ('format_version', '${EXPORT_FORMAT_VERSION}'), ('schema_version', '${SCHEMA_VERSION}'), ` +
        `('snapshot_id', '${id}'), ('exported_at', strftime(now() AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'))) v(key, value)`,
    ],
  ];
}

/** Writes snapshot `id` to `out` (a new DuckDB file, or a new directory of Parquet files). */
export async function exportSnapshot(
  conn: DuckDBConnection,
  spec: EffectiveSpec,
  id: number,
  format: ExportFormat,
  out: string,
): Promise<string[]> {
  const path = resolve(out);
  if (existsSync(path) && (format === 'duckdb' || readdirSync(path).length > 0))
    throw new PeriscopeError('bad-usage', `${path} already exists; give a new path with --out`);
  const built = await createQueryViews(conn, spec, { snapshot: id });
  const specTables = [...spec.functions.map((f) => f.table), ...spec.derived.map((d) => d.name), 'links'];
  const sources = exportSources(id);
  for (const t of specTables) sources.push([t, `SELECT * FROM ${ident(t)}`]);
  const skipped = built.problems.map((p) => p.message);
  const write = async (name: string, select: string) => {
    try {
      if (format === 'duckdb') await conn.run(`CREATE TABLE exp.main.${ident(name)} AS ${select}`);
      else await conn.run(`COPY (${select}) TO ${literal(join(path, `${name}.parquet`))} (FORMAT parquet)`);
    } catch (e) {
      if (!specTables.includes(name)) throw e;
      skipped.push(`table ${name} not exported: ${(e as Error).message.split('\n')[0]}`);
    }
  };
  if (format === 'duckdb') await conn.run(`ATTACH ${literal(path)} AS exp`);
  else mkdirSync(path, { recursive: true });
  try {
    for (const [name, select] of sources) await write(name, select);
  } finally {
    if (format === 'duckdb') await conn.run('DETACH exp');
  }
  return skipped;
}

function source(path: string, dir: boolean, table: string): string {
  return dir ? `read_parquet(${literal(join(path, `${table}.parquet`))})` : `imp.main.${table}`;
}

/** Whether an export holds a table (one written before the table existed does not). */
async function hasTable(conn: DuckDBConnection, path: string, dir: boolean, table: string): Promise<boolean> {
  if (dir) return existsSync(join(path, `${table}.parquet`));
  const n = await one(
    conn,
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = 'imp' AND table_name = ${literal(table)}`,
  );
  return Number(n) > 0;
}

async function one(conn: DuckDBConnection, sql: string): Promise<unknown> {
  return (await conn.runAndReadAll(sql)).getRows()[0]?.[0];
}

/** Runs a function in one transaction. */
export type InTransaction = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Imports an export into the store on `conn`; the rows go in through one transaction. The
 * snapshot keeps its id unless the store has it (then the next free one), or gets `snapshotId`
 * when given (the scaled-out store's, from its sequence).
 */
export async function importSnapshot(
  conn: DuckDBConnection,
  input: string,
  inTransaction: InTransaction,
  snapshotId?: number,
): Promise<ImportResult> {
  const path = resolve(input);
  if (!existsSync(path)) throw new PeriscopeError('not-found', `${path} does not exist`);
  const dir = statSync(path).isDirectory();
  if (dir && !existsSync(join(path, 'periscope_export.parquet')))
    throw new PeriscopeError(
      'bad-usage',
      `${path} is not a Periscope Parquet export (no periscope_export.parquet)`,
    );
  if (!dir) await conn.run(`ATTACH ${literal(path)} AS imp (READ_ONLY)`);
  try {
    return await inTransaction(() => importRows(conn, path, dir, snapshotId));
  } finally {
    if (!dir) await conn.run('DETACH imp');
  }
}

async function importRows(
  conn: DuckDBConnection,
  path: string,
  dir: boolean,
  given: number | undefined,
): Promise<ImportResult> {
  let meta: Map<string, string>;
  try {
    const r = await conn.runAndReadAll(`SELECT key, value FROM ${source(path, dir, 'periscope_export')}`);
    meta = new Map(r.getRows().map(([k, v]) => [String(k), String(v)]));
  } catch {
    throw new PeriscopeError('bad-usage', `${path} is not a Periscope export (no periscope_export table)`);
  }
  const original = Number(meta.get('snapshot_id'));
  if (meta.get('schema_version') !== SCHEMA_VERSION)
    throw new PeriscopeError(
      'unsupported',
      `${path} has store schema ${meta.get('schema_version')}; this Periscope reads schema ${SCHEMA_VERSION}`,
    );
  const taken =
    given === undefined &&
    Number(await one(conn, `SELECT count(*) FROM raw.snapshots WHERE snapshot_id = ${original}`)) > 0;
  const id =
    given ??
    (taken
      ? Number(await one(conn, 'SELECT coalesce(max(snapshot_id), 0) + 1 FROM raw.snapshots'))
      : original);
  // Spec history: all of it into an empty history, else map the capturing version by its text.
  let specVersionsImported = 0;
  const haveSpecs = Number(await one(conn, 'SELECT count(*) FROM raw.spec_versions')) > 0;
  const srcSpecs = source(path, dir, 'spec_versions');
  let specVersionSql = 'spec_version';
  if (!haveSpecs) {
    specVersionsImported = Number(await one(conn, `SELECT count(*) FROM ${srcSpecs}`));
    await conn.run(`INSERT INTO raw.spec_versions BY NAME SELECT * FROM ${srcSpecs}`);
  } else {
    specVersionSql =
      `(SELECT max(t.version) FROM raw.spec_versions t JOIN ${srcSpecs} s ON t.yaml = s.yaml ` +
      `WHERE s.version = src.spec_version)`;
  }
  for (const [t] of SNAPSHOT_TABLES) {
    if (LATER_SNAPSHOT_TABLES.has(t) && !(await hasTable(conn, path, dir, t))) continue;
    const replace =
      t === 'snapshots' ? `${id} AS snapshot_id, ${specVersionSql} AS spec_version` : `${id} AS snapshot_id`;
    await conn.run(
      `INSERT INTO raw.${t} BY NAME SELECT * REPLACE (${replace}) FROM ${source(path, dir, t)} src`,
    );
  }
  await conn.run(
    `INSERT INTO raw.stacks BY NAME SELECT * FROM ${source(path, dir, 'stacks')} s ` +
      'WHERE s.stack_id NOT IN (SELECT DISTINCT stack_id FROM raw.stacks)',
  );
  await recordValueTypes(conn, id);
  await fixTopFunctions(conn, id);
  await conn.run(
    `INSERT INTO raw.imports VALUES (${id}, ${original}, ${literal(path)}, ${literal(dir ? 'parquet' : 'duckdb')}, now())`,
  );
  return { snapshotId: id, ...(id !== original ? { originalId: original } : {}), specVersionsImported };
}
