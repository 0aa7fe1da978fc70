/**
 * The catalog queries `psql` sends for `\dt` and `\d TABLE`, answered from the session's own
 * tables (every view of the scope, with its columns) instead of DuckDB's pg_catalog, which
 * lacks the temporary views and does not parse psql's `OPERATOR(pg_catalog.~)` and
 * `COLLATE pg_catalog.default`. Table oids are 16384 + the table's index in name order.
 * Other pg_catalog queries psql makes while describing (indexes, policies, publications,
 * inheritance) that DuckDB cannot run are answered with no rows: these tables have none.
 */
import type { Answer } from './pg-answer.js';
import { textColumn, typeName, wireColumn } from './pg-types.js';

/** Every table of the session: [table, column, DuckDB type], in table order, columns in order. */
export type CatalogTables = () => Promise<readonly (readonly [string, string, string])[]>;

const FIRST_OID = 16384;

const col = textColumn;

/** The tables by name (sorted), each with its oid and columns. */
async function tableList(
  tables: CatalogTables,
): Promise<{ name: string; oid: number; columns: [string, string][] }[]> {
  const by = new Map<string, [string, string][]>();
  for (const [t, c, d] of await tables()) {
    const list = by.get(t) ?? [];
    list.push([c, d]);
    by.set(t, list);
  }
  return [...by.keys()].sort().map((name, i) => ({ name, oid: FIRST_OID + i, columns: by.get(name)! }));
}

/** psql's name pattern (`'^(goroutines)$'`), as a RegExp, when the query has one. */
function namePattern(sql: string): RegExp | undefined {
  const m = /relname OPERATOR\(pg_catalog\.~\) '((?:[^']|'')*)'/.exec(sql);
  if (!m) return undefined;
  try {
    return new RegExp(m[1]!.replace(/''/g, "'"));
  } catch {
    return /$^/;
  }
}

function oidOf(sql: string, field: string): number | undefined {
  const m = new RegExp(`${field} = '(\\d+)'`).exec(sql);
  return m ? Number(m[1]) : undefined;
}

/** The answer to a psql catalog query this server knows, or undefined for any other statement. */
export async function catalogAnswer(sql: string, tables: CatalogTables): Promise<Answer | undefined> {
  if (!/pg_catalog\./.test(sql)) return undefined;
  // \dt [PATTERN]
  if (/AS "Schema"/i.test(sql) && /c\.relkind IN \(/.test(sql) && /pg_catalog\.pg_class c/.test(sql)) {
    const wantsTables = /c\.relkind IN \([^)]*'r'/.test(sql);
    const pattern = namePattern(sql);
    const list = wantsTables ? await tableList(tables) : [];
    return {
      columns: [col('Schema'), col('Name'), col('Type'), col('Owner')],
      rows: list
        .filter((t) => !pattern || pattern.test(t.name))
        .map((t) => ['main', t.name, 'table', 'periscope']),
    };
  }
  // \d NAME, first step: the tables a name pattern matches.
  if (/^SELECT c\.oid,\s*n\.nspname,\s*c\.relname\s/i.test(sql)) {
    const pattern = namePattern(sql);
    const list = await tableList(tables);
    return {
      columns: [col('oid', 26), col('nspname'), col('relname')],
      rows: list.filter((t) => !pattern || pattern.test(t.name)).map((t) => [String(t.oid), 'main', t.name]),
    };
  }
  // \d NAME, second step: the table's kind and flags (psql reads them by position).
  if (/^SELECT c\.relchecks, c\.relkind/i.test(sql)) {
    const oid = oidOf(sql, 'c\\.oid');
    const t = (await tableList(tables)).find((x) => x.oid === oid);
    const names = [
      'relchecks',
      'relkind',
      'relhasindex',
      'relhasrules',
      'relhastriggers',
      'relrowsecurity',
      'relforcerowsecurity',
      'relhasoids',
      'relispartition',
      'array_to_string',
      'reltablespace',
      'reloftype',
      'relpersistence',
      'relreplident',
      'amname',
    ];
    return {
      columns: names.map((n) => col(n)),
      rows: t ? [['0', 'r', 'f', 'f', 'f', 'f', 'f', 'f', 'f', '', '0', '', 'p', 'd', 'heap']] : [],
    };
  }
  // \d NAME, third step: the columns.
  if (
    /FROM pg_catalog\.pg_attribute a/.test(sql) &&
    /a\.attrelid = '\d+'/.test(sql) &&
    /a\.attname/.test(sql)
  ) {
    const oid = oidOf(sql, 'a\\.attrelid');
    const t = (await tableList(tables)).find((x) => x.oid === oid);
    const names = [
      'attname',
      'format_type',
      'pg_get_expr',
      'attnotnull',
      'attcollation',
      'attidentity',
      'attgenerated',
    ];
    // \d+ asks for more, in this order (psql reads columns by position).
    const verbose: [string, RegExp, string | null][] = [
      ['attstorage', /a\.attstorage/, 'x'],
      ['attcompression', /a\.attcompression/, ''],
      ['attstattarget', /a\.attstattarget/, null],
      ['col_description', /col_description\(/, null],
    ];
    const extra = verbose.filter(([, re]) => re.test(sql));
    return {
      columns: [...names, ...extra.map(([n]) => n)].map((n) => col(n)),
      rows: (t?.columns ?? []).map(([name, type]) => [
        name,
        typeName(wireColumn({ name, type }).oid),
        null,
        'f',
        null,
        '',
        '',
        ...extra.map(([, , v]) => v),
      ]),
    };
  }
  return undefined;
}

/** The answer for a pg_catalog query DuckDB could not run: no rows (these tables have no indexes, rules or policies). */
export function catalogFallback(sql: string): Answer | undefined {
  if (
    !/\bpg_catalog\.pg_(index|policy|statistic_ext|publication|inherits|trigger|constraint|rewrite|class)\b/.test(
      sql,
    )
  )
    return undefined;
  return { columns: [col('?column?')], rows: [] };
}
