/**
 * Query results as text: an aligned table for people, CSV (RFC 4180: CRLF line ends, fields with
 * a comma, quote or line break quoted; structured cells as JSON) and JSON (an array of objects,
 * JSON columns as nested values) for programs. The CLI and the server's CSV answers both use it.
 */
import type { Cell, QueryResult } from './store.js';

/** Output formats of `periscope query`. */
export const RESULT_FORMATS = ['table', 'json', 'csv'] as const;
/** One of RESULT_FORMATS. */
export type ResultFormat = (typeof RESULT_FORMATS)[number];

function text(c: Cell): string {
  if (c === null) return '';
  if (typeof c === 'object') return JSON.stringify(c);
  return String(c);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const MAX_CELL = 120;

/** Renders a result in a format. */
export function formatResult(r: QueryResult, format: ResultFormat): string {
  const names = r.columns.map((c) => c.name);
  if (format === 'json') {
    const objs = r.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i] ?? null])));
    return `${JSON.stringify(objs, null, 2)}\n`;
  }
  if (format === 'csv') {
    const lines = [
      names.map(csvField).join(','),
      ...r.rows.map((row) => row.map((c) => csvField(text(c))).join(',')),
    ];
    return `${lines.join('\r\n')}\r\n`;
  }
  const cells = r.rows.map((row) =>
    row.map((c) => {
      const t = (c === null ? 'NULL' : text(c)).replace(/\s+/g, ' ');
      return t.length > MAX_CELL ? `${t.slice(0, MAX_CELL - 1)}…` : t;
    }),
  );
  // A loop, not Math.max(...column): a spread of 200k cells overflows the call stack.
  const widths = names.map((n) => n.length);
  for (const row of cells)
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
  const numeric = r.columns.map((c) => /INT|DOUBLE|FLOAT|DECIMAL/.test(c.type));
  const line = (row: string[]) =>
    row
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(names), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}
