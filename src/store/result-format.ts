/**
 * Query results as text: an aligned table for people, CSV (RFC 4180: CRLF line ends, fields with
 * a comma, quote or line break quoted; structured cells as JSON) and JSON (an array of objects,
 * JSON columns as nested values) for programs. The CLI and the server's CSV answers both use it.
 */
import { jsonPieces } from '../common/json-stream.js';
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

/** Renders a result in a format (one string: for results that fit in one; else resultPieces). */
export function formatResult(r: QueryResult, format: ResultFormat): string {
  return [...resultPieces(r, format)].join('');
}

/**
 * A result in a format, piece by piece (a row or a few at a time), for writing to a stream: a
 * result of any size, never built as one string (V8's strings stop at ~512 MiB).
 */
export function* resultPieces(r: QueryResult, format: ResultFormat): Generator<string> {
  const names = r.columns.map((c) => c.name);
  if (format === 'json') {
    const objs = r.rows.map((row) => rowObject(names, row));
    yield* jsonPieces(objs, 2);
    yield '\n';
    return;
  }
  if (format === 'csv') {
    yield `${names.map(csvField).join(',')}\r\n`;
    for (const row of r.rows) yield `${row.map((c) => csvField(text(c))).join(',')}\r\n`;
    return;
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
  yield `${line(names)}\n`;
  yield `${widths.map((w) => '-'.repeat(w)).join('  ')}\n`;
  for (const row of cells) yield `${line(row)}\n`;
  yield `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})\n`;
}

/** One row as an object of its columns (the JSON format's element). */
function rowObject(names: readonly string[], row: readonly Cell[]): Record<string, Cell> {
  return Object.fromEntries(names.map((n, i) => [n, row[i] ?? null]));
}
