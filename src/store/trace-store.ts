/**
 * Request traces in and out of the raw tables: an agent's batch (kept traces with their
 * events, counts) appended in one go, and kept traces read back for `GET /v1/traces`.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { TraceCountsRecord, TraceOutcome, TraceRecord } from '../probes/trace-records.js';
import { TableWriter } from './bulk-append.js';
import { literal } from './sql-text.js';
import { TRACE_COUNTS, TRACE_EVENTS, TRACES } from './trace-schema.js';

/** What one agent's trace batch brings. */
export interface TraceBatchInput {
  readonly agentId: string;
  readonly traces: readonly TraceRecord[];
  readonly counts: readonly TraceCountsRecord[];
}

/** Which kept traces to read: the latest `limit`, of one trace, of one outcome. */
export interface TraceQuery {
  readonly trace?: string;
  readonly outcome?: TraceOutcome;
  readonly limit: number;
  /** SQL of the process ids a token limited to programs may see (process-filter.ts). */
  readonly processes?: string;
}

/** A kept trace as stored. */
export type StoredTrace = TraceRecord & { readonly agentId: string };

/** Appends a batch. */
export async function writeTraceBatch(conn: DuckDBConnection, b: TraceBatchInput): Promise<void> {
  const traces = new TableWriter('traces', TRACES);
  const events = new TableWriter('trace_events', TRACE_EVENTS);
  for (const t of b.traces) {
    traces.add(
      t.trace,
      t.requestId,
      t.process,
      b.agentId,
      t.goroutine,
      t.startUs,
      t.endUs,
      t.durationNs,
      t.outcome,
      t.error ?? null,
      JSON.stringify(t.start),
      JSON.stringify(t.end),
      JSON.stringify(t.goroutines),
      t.events.length,
      t.eventsDropped,
    );
    for (const [i, e] of t.events.entries())
      events.add(
        t.requestId,
        t.trace,
        t.process,
        i,
        e.timeUs,
        e.goroutine,
        e.probe,
        e.function,
        JSON.stringify(e.values),
      );
  }
  const counts = new TableWriter('trace_counts', TRACE_COUNTS);
  for (const c of b.counts)
    counts.add(
      c.trace,
      c.process,
      b.agentId,
      c.startUs,
      c.endUs,
      c.requests,
      c.kept,
      c.dropped,
      c.overRate,
      c.overMemory,
      c.eventsDropped,
      c.unfinished,
    );
  for (const w of [traces, events, counts]) await w.flush(conn, 'raw');
}

const parse = (v: unknown): unknown => (v === null || v === undefined ? undefined : JSON.parse(String(v)));

/** The latest kept traces (newest first) with their events. */
export async function readTraces(conn: DuckDBConnection, q: TraceQuery): Promise<StoredTrace[]> {
  const where = [
    ...(q.trace ? [`trace = ${literal(q.trace)}`] : []),
    ...(q.outcome ? [`outcome = ${literal(q.outcome)}`] : []),
    ...(q.processes ? [`process_id IN (${q.processes})`] : []),
  ];
  const r = await conn.runAndReadAll(
    `SELECT trace, request_id, process_id, agent_id, goroutine_id, start_us, end_us, duration_ns, outcome, error, start_values, end_values, goroutines, events_dropped FROM raw.traces${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY end_us DESC LIMIT ${Math.max(1, Math.floor(q.limit))}`,
  );
  const rows = r.getRowsJS();
  if (rows.length === 0) return [];
  const ids = rows.map((x) => literal(String(x[1])));
  const ev = await conn.runAndReadAll(
    `SELECT request_id, probe, time_us, goroutine_id, function, captures FROM raw.trace_events WHERE request_id IN (${ids.join(', ')}) ORDER BY request_id, seq`,
  );
  const events = new Map<string, TraceRecord['events'][number][]>();
  for (const [id, probe, time, g, fn, caps] of ev.getRowsJS()) {
    const list = events.get(String(id)) ?? [];
    list.push({
      probe: String(probe),
      timeUs: Number(time),
      goroutine: Number(g),
      function: String(fn),
      values: (parse(caps) ?? {}) as Record<string, unknown>,
    });
    events.set(String(id), list);
  }
  return rows.map(([trace, id, process, agent, g, s, e, d, outcome, error, sv, ev2, gs, dropped]) => ({
    trace: String(trace),
    requestId: String(id),
    process: String(process),
    agentId: String(agent),
    goroutine: Number(g),
    startUs: Number(s),
    endUs: Number(e),
    durationNs: Number(d),
    outcome: String(outcome) as TraceOutcome,
    ...(error !== null ? { error: String(error) } : {}),
    start: (parse(sv) ?? {}) as Record<string, unknown>,
    end: (parse(ev2) ?? {}) as Record<string, unknown>,
    goroutines: (parse(gs) ?? []) as number[],
    events: events.get(String(id)) ?? [],
    eventsDropped: Number(dropped),
  }));
}
