/**
 * The catalog queries of PostgreSQL's JDBC driver (42.7) behind `DatabaseMetaData.getTables`
 * and `getColumns`, which DBeaver and other BI tools call to browse schemas, answered from
 * the session's own tables (DuckDB's pg_catalog does not hold the session's views: both
 * came back empty). Every table is a TABLE of schema `main`, as psql's `\dt` shows it; its
 * name and column patterns are the driver's LIKE patterns, given as parameters or literals.
 */
import type { Answer } from './pg-answer.js';
import type { CatalogTables } from './pg-catalog.js';
import { OID, type WireColumn, wireColumn } from './pg-types.js';

function col(name: string, oid: number = OID.text, size = -1): WireColumn {
  return { name, oid, size, text: (v) => v };
}

/** A SQL LIKE pattern (`%`, `_`, `\` escapes) as a RegExp. */
function likeRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** The LIKE pattern the query gives `field` (`c.relname LIKE $1`, `n.nspname LIKE 'main'`), or undefined. */
function likeOf(sql: string, field: string, params: readonly (string | null)[]): RegExp | undefined {
  const m = new RegExp(`${field.replace('.', '\\.')} LIKE (?:\\$(\\d+)|'((?:[^']|'')*)')`).exec(sql);
  if (!m) return undefined;
  const text = m[1] !== undefined ? params[Number(m[1]) - 1] : m[2]!.replace(/''/g, "'");
  return text === null || text === undefined ? undefined : likeRegExp(text);
}

/** Tables by name (sorted), each with its columns [name, DuckDB type]. */
async function tablesByName(tables: CatalogTables): Promise<[string, [string, string][]][]> {
  const by = new Map<string, [string, string][]>();
  for (const [t, c, d] of await tables()) by.set(t, [...(by.get(t) ?? []), [c, d]]);
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const TABLE_COLUMNS = [
  'TABLE_CAT',
  'TABLE_SCHEM',
  'TABLE_NAME',
  'TABLE_TYPE',
  'REMARKS',
  'TYPE_CAT',
  'TYPE_SCHEM',
  'TYPE_NAME',
  'SELF_REFERENCING_COL_NAME',
  'REF_GENERATION',
];

const COLUMN_COLUMNS: WireColumn[] = [
  col('current_database'),
  col('nspname'),
  col('relname'),
  col('attname'),
  col('atttypid', 26, 4),
  col('attnotnull', OID.bool, 1),
  col('atttypmod', OID.int4, 4),
  col('attlen', OID.int2, 2),
  col('typtypmod', OID.int4, 4),
  col('attnum', OID.int8, 8),
  col('attidentity'),
  col('attgenerated'),
  col('adsrc'),
  col('description'),
  col('typbasetype', 26, 4),
  col('typtype'),
];

/** The answer to the JDBC driver's getTables or getColumns query, or undefined for any other statement. */
export async function jdbcCatalogAnswer(
  sql: string,
  params: readonly (string | null)[],
  tables: CatalogTables,
  catalog: () => Promise<string>,
): Promise<Answer | undefined> {
  if (!/FROM pg_catalog\.pg_namespace n/.test(sql)) return undefined;
  const schema = likeOf(sql, 'n.nspname', params);
  const inSchema = !schema || schema.test('main');
  if (/AS "TABLE_CAT"/.test(sql) && /AS "TABLE_TYPE"/.test(sql)) {
    const name = likeOf(sql, 'c.relname', params);
    // The driver adds a relkind clause per table type asked for; ours are all TABLEs.
    const wantsTables = /c\.relkind = 'r' AND n\.nspname !~ '\^pg_'/.test(sql);
    const list = inSchema && wantsTables ? await tablesByName(tables) : [];
    const database = await catalog();
    return {
      columns: TABLE_COLUMNS.map((n) => col(n)),
      rows: list
        .filter(([t]) => !name || name.test(t))
        .map(([t]) => [database, 'main', t, 'TABLE', null, '', '', '', '', '']),
    };
  }
  if (
    /PARTITION BY a\.attrelid ORDER BY a\.attnum\) AS attnum/.test(sql) &&
    /pg_catalog\.pg_attribute a/.test(sql)
  ) {
    const name = likeOf(sql, 'c.relname', params);
    const column = likeOf(sql, 'attname', params);
    const rows: (string | null)[][] = [];
    const database = await catalog();
    if (inSchema)
      for (const [t, cols] of await tablesByName(tables)) {
        if (name && !name.test(t)) continue;
        cols.forEach(([c, type], i) => {
          if (column && !column.test(c)) return;
          const w = wireColumn({ name: c, type });
          rows.push([
            database,
            'main',
            t,
            c,
            String(w.oid),
            'f',
            '-1',
            String(w.size),
            '-1',
            String(i + 1),
            null,
            null,
            null,
            null,
            '0',
            'b',
          ]);
        });
      }
    return { columns: COLUMN_COLUMNS, rows };
  }
  return undefined;
}
