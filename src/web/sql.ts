/** SQL text the views build: literals and identifiers quoted as DuckDB reads them (no DOM). */

/** A string literal. */
export function lit(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A quoted identifier. */
export function ident(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** A LIKE pattern that matches `s` literally anywhere (with ESCAPE '\\'). */
export function containsPattern(s: string): string {
  return lit(`%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
}

/** Rows of a query result as objects keyed by column name. */
export function rowsOf<T>(r: {
  columns: readonly { name: string }[];
  rows: readonly (readonly unknown[])[];
}): T[] {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]])) as T);
}
