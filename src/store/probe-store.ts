/**
 * Probe data in and out of the raw tables: a batch an agent sent (events, counters,
 * histograms, notices) appended in one go, each event numbered (`seq`, in arrival order, the
 * cursor `periscope events --follow` reads after), and the JSON types of the new values
 * recorded for the typed columns of probe tables; events read back by cursor.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type {
  ProbeCountsRecord,
  ProbeEventRecord,
  ProbeFrame,
  ProbeHistogramRecord,
  ProbeNoticeRecord,
} from '../probes/probe-records.js';
import { TableWriter } from './bulk-append.js';
import {
  PROBE_COUNTS,
  PROBE_DURATIONS,
  PROBE_EVENTS,
  PROBE_NOTICES,
  PROBE_PROCESSES,
  PROBE_VALUE_TYPES,
} from './probe-schema.js';
import { literal } from './sql-text.js';

/** One event to append (protocol's WireProbeEvent). */
export type ProbeEventInput = ProbeEventRecord;
/** Counters of one probe on one process in one interval (protocol's ProbeCounts). */
export type ProbeCountsInput = ProbeCountsRecord;
/** A duration histogram of one interval (protocol's ProbeHistogram). */
export type ProbeHistogramInput = ProbeHistogramRecord;
/** A notice (protocol's ProbeNotice; the store takes any kind, as its column is text). */
export type ProbeNoticeInput = Omit<ProbeNoticeRecord, 'kind'> & { readonly kind: string };

/** The facts of a process its agent reported, which decide which tokens see its probe data. */
export interface ProbeProcessInput {
  /** host:pid, as events name it. */
  readonly processId: string;
  readonly hostname: string;
  readonly pid: number;
  readonly program: string;
  readonly executable: string;
}

/** What one agent's batch brings. */
export interface ProbeBatchInput {
  readonly agentId: string;
  /** The facts of the batch's processes the server knows (written when new or changed). */
  readonly processes?: readonly ProbeProcessInput[];
  readonly events: readonly ProbeEventInput[];
  readonly counts: readonly ProbeCountsInput[];
  readonly histograms: readonly ProbeHistogramInput[];
  readonly notices: readonly ProbeNoticeInput[];
}

/** An event as stored: its cursor and agent. */
export type StoredProbeEvent = ProbeEventInput & { readonly seq: number; readonly agentId: string };

/** Which events to read: after a cursor, of one probe, at most `limit`. */
export interface ProbeEventQuery {
  readonly probe?: string;
  /** Only events with a larger seq (0: from the first). */
  readonly after: number;
  readonly limit: number;
  /** Instead: the latest `last` events (oldest first). */
  readonly last?: number;
}

/** The JSON type of a value as DuckDB's json_type names it (what columnType reads). */
function jsonType(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (typeof v === 'number') return Number.isInteger(v) ? (v < 0 ? 'BIGINT' : 'UBIGINT') : 'DOUBLE';
  if (typeof v === 'string') return 'VARCHAR';
  return Array.isArray(v) ? 'ARRAY' : 'OBJECT';
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

/** What the store remembers between batches: value types seen, and each process's facts as written. */
export interface ProbeWriteState {
  readonly types: Set<string>;
  readonly processes: Map<string, string>;
}

/** Writes the facts of processes that are new or changed (one row per process: the latest). */
async function writeProbeProcesses(
  conn: DuckDBConnection,
  agentId: string,
  processes: readonly ProbeProcessInput[],
  known: Map<string, string>,
): Promise<void> {
  const changed = processes.filter((p) => known.get(p.processId) !== JSON.stringify([p, agentId]));
  if (changed.length === 0) return;
  await conn.run(
    `DELETE FROM raw.probe_processes WHERE process_id IN (${changed.map((p) => literal(p.processId)).join(', ')})`,
  );
  const w = new TableWriter('probe_processes', PROBE_PROCESSES);
  for (const p of changed) w.add(p.processId, p.hostname, p.pid, p.program, p.executable, agentId);
  await w.flush(conn, 'raw');
  for (const p of changed) known.set(p.processId, JSON.stringify([p, agentId]));
}

/** Appends a batch; events get seq numbers from `nextSeq` on. Returns the next free seq. */
export async function writeProbeBatch(
  conn: DuckDBConnection,
  nextSeq: number,
  b: ProbeBatchInput,
  state: ProbeWriteState,
): Promise<number> {
  const knownTypes = state.types;
  if (b.processes) await writeProbeProcesses(conn, b.agentId, b.processes, state.processes);
  const events = new TableWriter('probe_events', PROBE_EVENTS);
  const types = new TableWriter('probe_value_types', PROBE_VALUE_TYPES);
  let seq = nextSeq;
  for (const e of b.events) {
    events.add(
      seq++,
      e.probe,
      e.process,
      b.agentId,
      e.timeUs,
      e.goroutine,
      e.thread,
      e.site.kind,
      e.site.function,
      e.site.file ?? null,
      e.site.line ?? null,
      e.durationNs ?? null,
      json(e.stack),
      JSON.stringify(e.values),
      json(e.errors),
      json(e.labels),
    );
    for (const [expr, v] of Object.entries(e.values)) {
      const k = `${e.probe}\u0000${expr}\u0000${jsonType(v)}`;
      if (knownTypes.has(k)) continue;
      knownTypes.add(k);
      types.add(e.probe, expr, jsonType(v));
    }
  }
  const counts = new TableWriter('probe_counts', PROBE_COUNTS);
  for (const c of b.counts)
    counts.add(
      c.probe,
      c.process,
      b.agentId,
      c.startUs,
      c.endUs,
      c.hits,
      c.matched,
      c.events,
      c.rejected,
      c.conditionErrors,
      c.rateLimited,
      c.ringFull,
      c.agentDropped,
      c.durations,
      c.durationSumNs,
      c.costNs,
      c.cpuNs,
    );
  const hist = new TableWriter('probe_durations', PROBE_DURATIONS);
  for (const h of b.histograms)
    for (const [lt, n] of h.buckets) hist.add(h.probe, h.process, b.agentId, h.startUs, h.endUs, lt, n);
  const notices = new TableWriter('probe_notices', PROBE_NOTICES);
  for (const n of b.notices) notices.add(n.timeUs, n.probe, n.process, b.agentId, n.kind, n.message);
  for (const w of [events, types, counts, hist, notices]) await w.flush(conn, 'raw');
  return seq;
}

/** The types seen so far (to fill the known-types set when a store opens). */
export async function readValueTypes(conn: DuckDBConnection): Promise<Set<string>> {
  const r = await conn.runAndReadAll('SELECT probe, expr, json_type FROM raw.probe_value_types');
  return new Set(r.getRowsJS().map(([p, e, t]) => `${p}\u0000${e}\u0000${t}`));
}

/** The largest seq stored (0 when none). */
export async function lastProbeSeq(conn: DuckDBConnection): Promise<number> {
  const r = await conn.runAndReadAll('SELECT coalesce(max(seq), 0) FROM raw.probe_events');
  return Number(r.getRowsJS()[0]?.[0] ?? 0);
}

const parse = (v: unknown): unknown => (v === null || v === undefined ? undefined : JSON.parse(String(v)));

/** Events after a cursor, oldest first. */
export async function readProbeEvents(
  conn: DuckDBConnection,
  q: ProbeEventQuery,
): Promise<StoredProbeEvent[]> {
  const where = [
    `seq > ${Math.max(0, Math.floor(q.after))}`,
    ...(q.probe ? [`probe = ${literal(q.probe)}`] : []),
  ];
  const cols = PROBE_EVENTS.map(([c]) => `"${c}"`).join(', ');
  const r = await conn.runAndReadAll(
    q.last !== undefined
      ? `SELECT * FROM (SELECT ${cols} FROM raw.probe_events${q.probe ? ` WHERE probe = ${literal(q.probe)}` : ''} ORDER BY seq DESC LIMIT ${Math.max(1, Math.floor(q.last))}) ORDER BY seq`
      : `SELECT ${cols} FROM raw.probe_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${Math.max(1, Math.floor(q.limit))}`,
  );
  return r.getRowsJS().map((row) => {
    const [
      seq,
      probe,
      process,
      agentId,
      timeUs,
      goroutine,
      thread,
      kind,
      fn,
      file,
      line,
      dur,
      stack,
      captures,
      errors,
      labels,
    ] = row;
    const errs = parse(errors) as Record<string, string> | undefined;
    const labs = parse(labels) as Record<string, string> | undefined;
    const st = parse(stack) as ProbeFrame[] | undefined;
    return {
      seq: Number(seq),
      agentId: String(agentId),
      probe: String(probe),
      process: String(process),
      timeUs: Number(timeUs),
      goroutine: Number(goroutine),
      thread: Number(thread),
      site: {
        kind: String(kind),
        function: String(fn),
        ...(file !== null ? { file: String(file) } : {}),
        ...(line !== null ? { line: Number(line) } : {}),
      },
      ...(dur !== null ? { durationNs: Number(dur) } : {}),
      ...(st ? { stack: st } : {}),
      values: (parse(captures) ?? {}) as Record<string, unknown>,
      ...(errs ? { errors: errs } : {}),
      ...(labs ? { labels: labs } : {}),
    };
  });
}
