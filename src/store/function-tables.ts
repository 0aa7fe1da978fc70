/**
 * Function tables: one view per spec'd function, one row per frame of that function, one
 * column per captured expression, then the spec's extra SQL columns. Values come from the
 * long-form `captured` table matched by function and *expression* (not by column name), so
 * a renamed column or an added SQL column shows in old snapshots too, and an expression that
 * was never captured is NULL there.
 */
import type { FunctionSpec } from '../spec/spec-types.js';
import { ident, literal } from './sql-text.js';

/** The SQL type a captured column gets from the JSON types of all its stored values. */
export type ValueType = 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'BOOLEAN' | 'JSON';

/** Key columns every function table starts with. */
export const FUNCTION_TABLE_KEYS = ['snapshot_id', 'process_id', 'goroutine_id', 'depth'] as const;

/**
 * Picks a column type from the set of `json_type()`s of its values: all integers -> BIGINT,
 * integers and floats -> DOUBLE, all strings -> VARCHAR, all booleans -> BOOLEAN, anything
 * else (objects, arrays, mixtures, no values yet) -> JSON.
 */
export function columnType(jsonTypes: readonly string[]): ValueType {
  const set = new Set(jsonTypes.filter((t) => t !== 'NULL'));
  if (set.size === 0) return 'JSON';
  const only = (...ts: string[]) => [...set].every((t) => ts.includes(t));
  // json_type says UBIGINT for non-negative integers, BIGINT for negative ones.
  if (only('BIGINT', 'UBIGINT')) return 'BIGINT';
  if (only('BIGINT', 'UBIGINT', 'DOUBLE')) return 'DOUBLE';
  if (only('VARCHAR')) return 'VARCHAR';
  if (only('BOOLEAN')) return 'BOOLEAN';
  return 'JSON';
}

function typed(v: string, t: ValueType): string {
  switch (t) {
    case 'BIGINT':
    case 'DOUBLE':
    case 'BOOLEAN':
      return `TRY_CAST(${v} AS ${t})`;
    case 'VARCHAR':
      return `json_extract_string(${v}, '$')`;
    case 'JSON':
      return v;
  }
}

/** Key for the value-type map: function and expression. */
export function typeKey(fn: string, expr: string): string {
  return `${fn}\u0000${expr}`;
}

/**
 * The SELECT of a function table over the (scoped) `frames` and `captured` views. A capture
 * with no stored value yet has no known type: JSON for queries; `untyped` (a check of a new
 * spec) makes it an untyped NULL, which binds wherever a value of the right type would, so
 * SQL over it is judged by what does not depend on the values (names, functions, tables).
 */
export function functionTableSql(
  f: FunctionSpec,
  types: ReadonlyMap<string, ValueType>,
  unknown: 'JSON' | 'untyped' = 'JSON',
): string {
  const fn = literal(f.function);
  const caps = f.capture.map((c) => {
    const t = types.get(typeKey(f.function, c.expr));
    if (t === undefined && unknown === 'untyped') return `NULL AS ${ident(c.column)}`;
    const v = `any_value(value) FILTER (WHERE expr = ${literal(c.expr)})`;
    return `${typed(v, t ?? 'JSON')} AS ${ident(c.column)}`;
  });
  const keys = FUNCTION_TABLE_KEYS.join(', ');
  const cap =
    caps.length > 0
      ? `SELECT ${keys}, ${caps.join(', ')} FROM captured WHERE function = ${fn} GROUP BY ${keys}`
      : `SELECT ${keys} FROM captured WHERE false`;
  const capCols = f.capture.map((c) => `cap.${ident(c.column)}`);
  const base =
    `SELECT ${FUNCTION_TABLE_KEYS.map((k) => `coalesce(fr.${k}, cap.${k}) AS ${k}`).join(', ')}` +
    `${capCols.length > 0 ? `, ${capCols.join(', ')}` : ''} ` +
    `FROM (SELECT ${keys} FROM frames WHERE function = ${fn}) fr ` +
    `FULL OUTER JOIN cap ON ${FUNCTION_TABLE_KEYS.map((k) => `fr.${k} = cap.${k}`).join(' AND ')}`;
  const extra = f.columns.map((c) => `(${c.sql}) AS ${ident(c.name)}`);
  return (
    `WITH cap AS (${cap}), base AS (${base}) ` +
    `SELECT base.*${extra.length > 0 ? `, ${extra.join(', ')}` : ''} FROM base`
  );
}
