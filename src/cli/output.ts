/**
 * What commands print: data on stdout (JSON, aligned tables, query results in a format), and
 * warnings and notes on stderr, so that stdout stays data. Output of any size; a reader that
 * stops early (`| head`) ends the command quietly.
 */
import { describePartialSnapshot, type QueryResponse } from '../api/responses.js';
import { writeJson, writePieces } from '../common/json-stream.js';
import { type ResultFormat, resultPieces } from '../store/result-format.js';
import { EXIT } from './command.js';

/** Writes text to stdout. */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints data as pretty JSON on stdout, in pieces (a snapshot's JSON may pass V8's string limit). */
export async function printJson(data: unknown): Promise<void> {
  await writeJson(process.stdout, data, 2);
}

/** A warning on stderr: something the user should know about the answer. */
export function warn(text: string): void {
  process.stderr.write(`periscope: warning: ${text}\n`);
}

/** A note on stderr: what the answer is made of. */
export function note(text: string): void {
  process.stderr.write(`periscope: note: ${text}\n`);
}

/**
 * Ends the process quietly when stdout is closed before everything was written (a pipe whose
 * reader is done, as with `| head`): exit code 141, as for Unix tools killed by SIGPIPE.
 */
export function exitQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT.outputClosed);
      throw e;
    });
}

/** The widest cell of each column (a loop: results have any number of rows). */
function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  const widths = header.map((h) => h.length);
  for (const r of rows)
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  return widths;
}

/** Renders rows as left-aligned columns under a header. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columnWidths(header, rows);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** "3s ago", "5m ago", … for a timestamp. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/**
 * A query result in a format on stdout; its warnings, and which snapshot answered when it holds
 * only part of the fleet, on stderr (never inside the data).
 */
export async function printResult(r: QueryResponse, format: ResultFormat): Promise<void> {
  for (const w of r.warnings) warn(w);
  if (r.partial) note(`${describePartialSnapshot(r.partial)}; --snapshot ID picks another snapshot`);
  await writePieces(process.stdout, resultPieces(r, format));
}
