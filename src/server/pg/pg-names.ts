/**
 * PostgreSQL's names for result columns a statement did not name. DuckDB names such a column
 * after the expression's text (`1`, `count_star()`, `(x + 1)`); PostgreSQL after the column
 * or function it is (`x`, `count`) and `?column?` otherwise, which psql prints and clients key
 * rows by. Told from DuckDB's name alone, so that nothing runs twice: a name that is an
 * identifier, or that the statement spells as a quoted identifier (`AS "1"`, `"y z"`), is the
 * statement's own and is kept.
 */

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** DuckDB's functions whose PostgreSQL spelling names the column differently, or not at all. */
const FUNCTION_NAMES: Record<string, string> = {
  count_star: 'count',
  list_value: '?column?',
  struct_pack: '?column?',
};

/** The name PostgreSQL gives a result column DuckDB named `name`, in statement `sql`. */
export function pgColumnName(name: string, sql: string): string {
  if (IDENT.test(name) || sql.includes(`"${name.replace(/"/g, '""')}"`)) return name;
  const cast = /^CAST\(([A-Za-z_][A-Za-z0-9_$]*) AS [^()]+\)$/.exec(name);
  if (cast) return cast[1]!;
  const call = /^(?:main\.)?([A-Za-z_][A-Za-z0-9_$]*)\(/.exec(name);
  if (call) {
    const fn = call[1]!.toLowerCase();
    return FUNCTION_NAMES[fn] ?? fn;
  }
  if (/^CASE\s/.test(name)) return 'case';
  return '?column?';
}
