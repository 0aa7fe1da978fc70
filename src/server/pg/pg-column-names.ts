/**
 * The names PostgreSQL gives unnamed result columns, where DuckDB's differ: DuckDB names an
 * expression by its text (`SELECT 1` → `1`, `count(*)` → `count_star()`), PostgreSQL names a
 * constant or operator `?column?` and a function call by its function (`count`). Clients and
 * tools that read a column by name (psql's headers, `row['?column?']`) see PostgreSQL's.
 * Only the plain SELECT's unaliased items are renamed, read from DuckDB's own parse
 * (`json_serialize_sql`), so an alias is never touched; any other statement keeps its names.
 */
import type { QuerySession } from '../../store/store.js';
import type { WireColumn } from './pg-types.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNNAMED = new Set(['CONSTANT', 'OPERATOR', 'COMPARISON', 'CONJUNCTION', 'BETWEEN']);
const FUNCTIONS: Readonly<Record<string, string>> = { count_star: 'count' };

interface SelectItem {
  readonly class?: string;
  readonly alias?: string;
  readonly function_name?: string;
}

/** PostgreSQL's name of an unaliased select item, or undefined to keep DuckDB's. */
function pgName(e: SelectItem): string | undefined {
  if (e.alias) return undefined;
  if (e.class !== undefined && UNNAMED.has(e.class)) return '?column?';
  if (e.class === 'FUNCTION' && e.function_name !== undefined)
    return IDENT.test(e.function_name) ? (FUNCTIONS[e.function_name] ?? e.function_name) : '?column?';
  return undefined;
}

/** Whether DuckDB's names may differ from PostgreSQL's (a name that is not a plain identifier). */
export function mayRename(columns: readonly { readonly name: string }[]): boolean {
  return !columns.every((c) => IDENT.test(c.name));
}

/**
 * The columns of `sql`'s answer with PostgreSQL's names for its unnamed expressions. It runs
 * a statement on the session: a stream open there is no longer readable afterwards.
 */
export async function pgColumnNames(
  session: QuerySession,
  sql: string,
  columns: readonly WireColumn[],
): Promise<readonly WireColumn[]> {
  // Names that are plain identifiers are a column's or an alias's: no parse needed.
  if (!mayRename(columns)) return columns;
  let items: readonly SelectItem[];
  try {
    const r = await session.queryText(`SELECT json_serialize_sql('${sql.replaceAll("'", "''")}')`);
    const parsed = JSON.parse(r.rows[0]?.[0] ?? '{}') as {
      error?: boolean;
      statements?: { node?: { type?: string; select_list?: SelectItem[] } }[];
    };
    const node = parsed.statements?.length === 1 ? parsed.statements[0]?.node : undefined;
    if (parsed.error || node?.type !== 'SELECT_NODE' || !node.select_list) return columns;
    items = node.select_list;
  } catch {
    return columns;
  }
  // A star expands to many columns: positions no longer match the select list.
  if (items.length !== columns.length || items.some((e) => e.class === 'STAR')) return columns;
  return columns.map((c, i) => {
    const name = pgName(items[i]!);
    return name === undefined ? c : { ...c, name };
  });
}
