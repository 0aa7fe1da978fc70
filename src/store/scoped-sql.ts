/**
 * What SQL a token limited to some programs may run: it may read only the session's views
 * (which show only its processes), never the stored tables under them. DuckDB has no
 * per-connection permissions, so the statement's parse tree (DuckDB's own parser,
 * `json_serialize_sql`) is checked before it runs: every table it names must be unqualified
 * (or `temp.`) — the stored tables live in the schema `raw`, which an unqualified name never
 * reaches — or in the metadata schemas `information_schema` and `pg_catalog` (table names and
 * columns, no rows: the PostgreSQL port's catalog answers read them), and every table function must be one that only generates values. Anything the
 * serializer does not take (EXPLAIN, PIVOT, SHOW, DESCRIBE, SUMMARIZE) is refused rather than
 * guessed at. Files, ATTACH and extensions are already off for the whole server (lockdown).
 * The same check applies to the SQL of derived tables a scoped session builds.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';

/** Table functions that read no table: they only generate or unpack values. */
const VALUE_FUNCTIONS: ReadonlySet<string> = new Set([
  'range',
  'generate_series',
  'unnest',
  'json_each',
  'json_tree',
]);

/** Schemas of metadata views: names and types of tables, never their rows (psql's `\dt` reads them). */
const METADATA_SCHEMAS: ReadonlySet<string> = new Set(['information_schema', 'pg_catalog']);

function tableAllowed(catalog: string, schema: string): boolean {
  if (catalog === '') return schema === '' || schema === 'temp' || METADATA_SCHEMAS.has(schema);
  return catalog === 'temp' && (schema === '' || schema === 'main');
}

function walk(node: unknown, out: string[]): void {
  if (out.length > 0 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) walk(n, out);
    return;
  }
  const o = node as Record<string, unknown>;
  switch (o.type) {
    case 'BASE_TABLE': {
      const catalog = String(o.catalog_name ?? '').toLowerCase();
      const schema = String(o.schema_name ?? '').toLowerCase();
      if (!tableAllowed(catalog, schema))
        out.push(
          `it names ${[catalog, schema, String(o.table_name ?? '')].filter((x) => x !== '').join('.')}`,
        );
      break;
    }
    case 'TABLE_FUNCTION': {
      const f = (o.function ?? {}) as Record<string, unknown>;
      const name = String(f.function_name ?? '').toLowerCase();
      if (!VALUE_FUNCTIONS.has(name) || String(f.schema ?? '') !== '' || String(f.catalog ?? '') !== '')
        out.push(`it calls the table function ${name}()`);
      break;
    }
    case 'SHOW_REF':
      out.push('it is a SHOW, DESCRIBE or SUMMARIZE statement');
      return;
  }
  for (const v of Object.values(o)) walk(v, out);
}

/** Why a token limited to programs may not run `sql`, or undefined when it may. */
export async function scopedSqlProblem(conn: DuckDBConnection, sql: string): Promise<string | undefined> {
  let parsed: { error?: boolean; statements?: unknown[] };
  try {
    const p = await conn.prepare('SELECT json_serialize_sql($1::VARCHAR)');
    p.bindVarchar(1, sql);
    parsed = JSON.parse(String((await p.runAndReadAll()).getRows()[0]?.[0] ?? '')) as typeof parsed;
  } catch {
    return 'it could not be parsed';
  }
  if (parsed.error !== false || !Array.isArray(parsed.statements) || parsed.statements.length !== 1)
    return 'it is not a plain SELECT (EXPLAIN, PIVOT and the like are refused)';
  const out: string[] = [];
  walk(parsed.statements, out);
  return out[0];
}

/** Throws a permission error when a token limited to programs may not run `sql`. */
export async function checkScopedSql(conn: DuckDBConnection, sql: string): Promise<void> {
  const why = await scopedSqlProblem(conn, sql);
  if (why)
    throw new PeriscopeError(
      'permission',
      `this token is limited to some programs, so its queries read only the tables of its programs, and this one cannot be checked to do so: ${why}; use the tables by their plain names (goroutines, frames, …) in one SELECT`,
    );
}
