/**
 * Splits a simple-protocol query string into its statements at top-level semicolons (not in
 * quotes, dollar quotes or comments), as PostgreSQL runs them one after another. Statements
 * holding only whitespace and comments are dropped: a string of nothing else is the
 * "empty query" a client's health check sends (`-- ping`).
 */

/** The statements of a query string, each without its semicolon; empty when it holds none. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  let meaningful = false;
  const n = sql.length;
  const cut = (end: number): void => {
    if (meaningful) out.push(sql.slice(start, end).trim());
    start = end + 1;
    meaningful = false;
  };
  while (i < n) {
    const ch = sql[i]!;
    if (ch === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (ch === "'" || ch === '"') {
      meaningful = true;
      i++;
      while (i < n) {
        if (sql[i] === ch && sql[i + 1] === ch) i += 2;
        else if (sql[i] === ch) {
          i++;
          break;
        } else i++;
      }
    } else if (ch === '$' && /^\$[A-Za-z_]?\w*\$/.test(sql.slice(i, i + 64))) {
      meaningful = true;
      const tag = /^\$[A-Za-z_]?\w*\$/.exec(sql.slice(i, i + 64))![0];
      // `$1` is a parameter, not a dollar quote: a tag never starts with a digit.
      if (/^\$\d/.test(tag)) i++;
      else {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? n : end + tag.length;
      }
    } else if (ch === ';') {
      cut(i);
      i++;
    } else {
      if (!/\s/.test(ch)) meaningful = true;
      i++;
    }
  }
  cut(n);
  return out;
}

/** The command tag PostgreSQL gives a statement's completion (`SELECT n` for every read here). */
export function commandTag(rows: number): string {
  return `SELECT ${rows}`;
}
