/**
 * The trace tables a query sees, as temporary views (docs/tables.md): kept traces
 * (`traces`), their events in order (`trace_events`) and what each trace kept and dropped
 * per interval (`trace_counts`). Like probe events they belong to no snapshot: every scope
 * sees them; they join snapshot tables on process_id and goroutine_id.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

const time = (col: string, as: string) => `make_timestamptz(${col}) AS ${as}`;

/** The SQL of the trace views. */
export const TRACE_VIEWS: readonly (readonly [string, string])[] = [
  [
    'traces',
    `SELECT trace, request_id, process_id, agent_id, goroutine_id, ${time('start_us', 'start_time')}, ${time('end_us', 'end_time')}, duration_ns / 1e6 AS duration_ms, outcome, error, start_values, end_values, goroutines, events, events_dropped FROM raw.traces`,
  ],
  [
    'trace_events',
    `SELECT request_id, trace, process_id, seq, ${time('time_us', '"time"')}, goroutine_id, probe, function, captures FROM raw.trace_events`,
  ],
  [
    'trace_counts',
    `SELECT trace, process_id, agent_id, ${time('start_us', 'start_time')}, ${time('end_us', 'end_time')}, requests, kept, dropped, over_rate, over_memory, events_dropped, unfinished FROM raw.trace_counts`,
  ],
];

/** Creates the trace views on `conn` (`processes`: the SQL of the process ids a limited token may see). */
export async function createTraceViews(conn: DuckDBConnection, processes?: string): Promise<void> {
  const only = processes ? ` WHERE process_id IN (${processes})` : '';
  for (const [name, sql] of TRACE_VIEWS)
    await conn.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * FROM (${sql})${only}`);
}
