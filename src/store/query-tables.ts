/**
 * Which tables a query reads, from DuckDB's own parser (`json_serialize_sql`), so that a query
 * session builds only the views the query names and what those read, not every view of the
 * spec (about 85 ms with the built-in spec, most of a one-row `periscope query`).
 *
 * When the answer is not certain the query gets every view: a statement the serializer does
 * not take (EXPLAIN, PIVOT … ON), a table function (`duckdb_views()`, `query_table('x')`:
 * they may list or name tables), `SHOW`/`DESCRIBE`, or a table in a schema other than the
 * views' own (`main`, `temp`, `temp.main`) or `raw` (`information_schema.tables`). Names
 * the caller does not know (a typo) also get every view, so that DuckDB's "Did you mean …"
 * sees them all.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

/** The tables a query names (lower case), and its CTE names; or `all` when that is not certain. */
export type QueryTables =
  | { readonly all: true }
  | { readonly all?: false; readonly names: ReadonlySet<string>; readonly ctes: ReadonlySet<string> };

/** The answer that builds every view. */
const ALL_TABLES: QueryTables = { all: true };

interface Found {
  readonly names: Set<string>;
  readonly ctes: Set<string>;
  uncertain: boolean;
}

function walk(node: unknown, found: Found): void {
  if (found.uncertain || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) walk(n, found);
    return;
  }
  const o = node as Record<string, unknown>;
  switch (o.type) {
    case 'BASE_TABLE': {
      const catalog = String(o.catalog_name ?? '').toLowerCase();
      const schema = String(o.schema_name ?? '').toLowerCase();
      const name = String(o.table_name ?? '').toLowerCase();
      // The views are temporary: `x`, `main.x`, `temp.x` and `temp.main.x` all name view x.
      if (catalog === '' && (schema === '' || schema === 'main' || schema === 'temp')) found.names.add(name);
      else if (catalog === 'temp' && schema === 'main') found.names.add(name);
      else if (catalog !== '' || schema !== 'raw') found.uncertain = true;
      break;
    }
    case 'TABLE_FUNCTION':
    case 'SHOW_REF':
      found.uncertain = true;
      return;
  }
  const ctes = (o.cte_map as { map?: { key?: unknown }[] } | undefined)?.map;
  if (Array.isArray(ctes)) for (const c of ctes) found.ctes.add(String(c.key ?? '').toLowerCase());
  for (const v of Object.values(o)) walk(v, found);
}

/** The tables a read-only statement names (the caller has checked it is one statement). */
export async function tablesOfQuery(conn: DuckDBConnection, sql: string): Promise<QueryTables> {
  let text: string;
  try {
    const p = await conn.prepare('SELECT json_serialize_sql($1::VARCHAR)');
    p.bindVarchar(1, sql);
    text = String((await p.runAndReadAll()).getRows()[0]?.[0] ?? '');
  } catch {
    return ALL_TABLES;
  }
  let parsed: { error?: boolean; statements?: unknown[] };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return ALL_TABLES;
  }
  if (parsed.error !== false || !Array.isArray(parsed.statements) || parsed.statements.length !== 1)
    return ALL_TABLES;
  const found: Found = { names: new Set(), ctes: new Set(), uncertain: false };
  walk(parsed.statements, found);
  return found.uncertain ? ALL_TABLES : { names: found.names, ctes: found.ctes };
}
