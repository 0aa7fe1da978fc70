/**
 * The columns of the raw tables as Periscope writes them: their kinds, the JS values a cell
 * takes, and the CREATE TABLE for them. Apart from bulk-append.ts because that one loads
 * DuckDB's values, and schema.ts (which every store open reads) needs only these.
 */

/** How a column is written: `json` columns take text, `time` takes a Date. */
export type ColumnKind = 'bigint' | 'int' | 'double' | 'bool' | 'text' | 'json' | 'time';

/** A table's columns, in the order of its CREATE TABLE. */
export type ColumnList = readonly (readonly [string, ColumnKind])[];

/** A JS value for a cell of the given kind (null for SQL NULL). */
export type CellInput = number | string | boolean | Date | null | undefined;

/** The SQL type of each column kind. */
export const SQL_TYPE: Record<ColumnKind, string> = {
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  bool: 'BOOLEAN',
  text: 'VARCHAR',
  json: 'JSON',
  time: 'TIMESTAMPTZ',
};

/** `CREATE TABLE IF NOT EXISTS name (...)` for a column list. */
export function createTableSql(name: string, columns: ColumnList): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (${columns.map(([c, k]) => `"${c}" ${SQL_TYPE[k]}`).join(', ')})`;
}
