/** SQL the traces view sends through `POST /v1/query`: kept traces, one trace's events and goroutines (no DOM). */
import type { Cell } from '../store/store.js';
import { lit } from './sql.js';

/** Most kept traces listed. */
export const TRACE_LIST_LIMIT = 200;

/** A kept trace as listed. */
export interface TraceRow {
  readonly trace: string;
  readonly request_id: string;
  readonly process_id: string;
  readonly goroutine_id: number;
  readonly start_time: string;
  readonly end_time: string;
  readonly duration_ms: number;
  readonly outcome: string;
  readonly error: string | null;
  readonly start_values: Readonly<Record<string, Cell>> | null;
  readonly end_values: Readonly<Record<string, Cell>> | null;
  readonly goroutines: readonly number[] | null;
  readonly events: number;
  readonly events_dropped: number;
}

const COLUMNS = `trace, request_id, process_id, goroutine_id, strftime(start_time, '%Y-%m-%dT%H:%M:%S.%gZ') AS start_time,
  strftime(end_time, '%Y-%m-%dT%H:%M:%S.%gZ') AS end_time, duration_ms, outcome, error, start_values, end_values,
  goroutines, events, events_dropped`;

/** The latest kept traces, newest first: of one trace and one outcome when given. */
export function tracesSql(f: { readonly trace?: string; readonly outcome?: string }): string {
  const where = [f.trace ? `trace = ${lit(f.trace)}` : '', f.outcome ? `outcome = ${lit(f.outcome)}` : '']
    .filter(Boolean)
    .join(' AND ');
  return `SELECT ${COLUMNS} FROM traces${where ? ` WHERE ${where}` : ''}
ORDER BY end_time DESC, request_id LIMIT ${TRACE_LIST_LIMIT}`;
}

/** The names of the traces that kept something, for the filter. */
export function traceNamesSql(): string {
  return 'SELECT DISTINCT trace FROM traces ORDER BY trace';
}

/** One kept trace by its request id. */
export function traceSql(requestId: string): string {
  return `SELECT ${COLUMNS} FROM traces WHERE request_id = ${lit(requestId)} LIMIT 1`;
}

/** One event of a kept trace. */
export interface TraceEventRow {
  readonly seq: number;
  readonly time: string;
  readonly goroutine_id: number;
  readonly probe: string;
  readonly function: string;
  readonly captures: Readonly<Record<string, Cell>> | null;
}

/** A kept trace's events in time order. */
export function traceEventsSql(requestId: string): string {
  return `SELECT seq, strftime("time", '%Y-%m-%dT%H:%M:%S.%fZ') AS "time", goroutine_id, probe, function, captures
FROM trace_events WHERE request_id = ${lit(requestId)} ORDER BY "time", seq`;
}

/** A goroutine a trace touched, and the latest snapshot taken while the request ran that holds it. */
export interface TraceGoroutineRow {
  readonly goroutine_id: number;
  readonly snapshot_id: number | null;
}

/**
 * The goroutines a kept trace touched, each with the latest snapshot that holds it and was
 * taken between the request's start and end (a goroutine id outside that window may be another
 * goroutine: Go reuses them). Run with the scope `all`.
 */
export function traceGoroutinesSql(requestId: string): string {
  return `WITH t AS (SELECT process_id, start_time, end_time, goroutines FROM traces WHERE request_id = ${lit(requestId)} LIMIT 1),
ids AS (SELECT DISTINCT unnest(CAST(goroutines AS BIGINT[])) AS goroutine_id FROM t)
SELECT ids.goroutine_id, (
  SELECT max(g.snapshot_id) FROM goroutines g JOIN snapshots s ON s.snapshot_id = g.snapshot_id, t
  WHERE g.process_id = t.process_id AND g.goroutine_id = ids.goroutine_id
    AND s.created_at BETWEEN t.start_time AND t.end_time
) AS snapshot_id
FROM ids ORDER BY ids.goroutine_id`;
}

/** What one trace did with its requests over the last hour, summed over processes and intervals. */
export interface TraceCountsRow {
  readonly trace: string;
  readonly requests: number;
  readonly kept: number;
  readonly dropped: number;
  readonly over_rate: number;
  readonly over_memory: number;
  readonly events_dropped: number;
  readonly unfinished: number;
}

/** Per trace, `trace_counts` summed over the intervals that ended in the last hour. */
export function traceCountsSql(): string {
  const sum = (c: string) => `CAST(sum(${c}) AS DOUBLE) AS ${c}`;
  return `SELECT trace, ${['requests', 'kept', 'dropped', 'over_rate', 'over_memory', 'events_dropped', 'unfinished'].map(sum).join(', ')}
FROM trace_counts WHERE end_time > now() - INTERVAL 1 HOUR GROUP BY trace ORDER BY trace`;
}
