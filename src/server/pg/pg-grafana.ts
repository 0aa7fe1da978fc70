/**
 * The metadata queries of Grafana's PostgreSQL data source (its query builder and its
 * feature detection, `postgresMetaQuery.ts` in Grafana), answered from the session's own
 * tables: they lean on functions DuckDB lacks (`quote_ident`, `parse_ident`, `array_lower`)
 * and on `pg_extension`. Tables are in schema `main`, the only schema of a scope.
 * - the version: `current_setting('server_version_num')::int/100`, an int4 as PostgreSQL's;
 * - TimescaleDB: `… FROM pg_extension …`, no rows (no extension is installed);
 * - the table list: `quote_ident(table_name) … FROM information_schema.tables`;
 * - a table's columns: `quote_ident(column_name) AS "column", data_type AS "type"`, with
 *   PostgreSQL's `data_type` names (`bigint`, `timestamp with time zone`, `ARRAY`).
 */
import type { Answer } from './pg-answer.js';
import type { CatalogTables } from './pg-catalog.js';
import { SERVER_VERSION_NUM } from './pg-settings.js';
import { OID, textColumn, typeName, wireColumn } from './pg-types.js';

const SCHEMA = 'main';

const col = textColumn;

/** PostgreSQL's quote_ident: the name as is when it needs no quotes, else in double quotes. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The first string literal after `prefix` in the statement, unescaped. */
function literalAfter(sql: string, prefix: RegExp): string | undefined {
  const m = new RegExp(`${prefix.source}\\s*'((?:[^']|'')*)'`, 'i').exec(sql);
  return m ? m[1]!.replace(/''/g, "'") : undefined;
}

/** A qualified or plain name (`main.goroutines`, `"x y"`) as [schema, name]. */
function splitName(ident: string): [string | undefined, string] {
  const parts = ident.match(/"(?:[^"]|"")*"|[^.]+/g) ?? [ident];
  const clean = parts.map((p) => (p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p.toLowerCase()));
  return clean.length === 2 ? [clean[0], clean[1]!] : [undefined, clean.join('.')];
}

/** The distinct tables of the session, in name order. */
async function tableNames(tables: CatalogTables): Promise<string[]> {
  return [...new Set((await tables()).map(([t]) => t))].sort();
}

/** The column names of a simple select list (`SELECT a, b AS c FROM`), for an answer with no rows. */
function selectListNames(sql: string): string[] {
  const m = /^\s*select\s+([\s\S]*?)\s+from\s/i.exec(sql);
  if (!m) return ['?column?'];
  return m[1]!.split(',').map((e) => {
    const alias = /\bas\s+"?(\w+)"?\s*$/i.exec(e);
    return alias ? alias[1]! : (e.trim().split('.').pop() ?? e).replace(/"/g, '');
  });
}

/** The answer to one of Grafana's metadata queries, or undefined for any other statement. */
export async function grafanaAnswer(sql: string, tables: CatalogTables): Promise<Answer | undefined> {
  const version =
    /^\s*select\s+current_setting\('server_version_num'\)::int(?:eger)?\s*\/\s*100(?:\s+as\s+"?(\w+)"?)?\s*;?\s*$/i.exec(
      sql,
    );
  if (version) {
    const name = version[1] ?? '?column?';
    return { columns: [col(name, OID.int4)], rows: [[String(Number(SERVER_VERSION_NUM) / 100)]] };
  }
  if (/\bfrom\s+(?:pg_catalog\.)?pg_extension\b/i.test(sql))
    return { columns: selectListNames(sql).map((n) => col(n)), rows: [] };
  if (/quote_ident\(\s*table_name\s*\)/i.test(sql) && /\binformation_schema\.tables\b/i.test(sql)) {
    const schema = literalAfter(sql, /quote_ident\(\s*table_schema\s*\)\s*=/);
    const names = schema === undefined || schema === SCHEMA ? await tableNames(tables) : [];
    const alias = /\bas\s+"(\w+)"/i.exec(sql)?.[1] ?? 'quote_ident';
    return { columns: [col(alias)], rows: names.map((n) => [quoteIdent(n)]) };
  }
  if (
    /quote_ident\(\s*column_name\s*\)\s+as\s+"column"/i.test(sql) &&
    /\binformation_schema\.columns\b/i.test(sql)
  ) {
    const given =
      literalAfter(sql, /parse_ident\(/) ?? literalAfter(sql, /quote_ident\(\s*table_name\s*\)\s*=/) ?? '';
    const [schema, name] = splitName(given);
    const rows =
      schema !== undefined && schema !== SCHEMA
        ? []
        : (await tables())
            .filter(([t]) => t === name)
            .map(([, c, type]) => {
              const pgType = typeName(wireColumn({ name: c, type }).oid);
              return [quoteIdent(c), pgType.endsWith('[]') ? 'ARRAY' : pgType];
            });
    return { columns: [col('column'), col('type')], rows };
  }
  return undefined;
}
