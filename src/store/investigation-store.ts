/**
 * Reading and writing the investigation tables (investigation-schema.ts) on the store's
 * connection: an investigation added and closed, its firings (recorded when they start, then
 * completed with the snapshot, report size and webhook outcome), and its report rows.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { TableWriter } from './bulk-append.js';
import { INVESTIGATION_FIRINGS, INVESTIGATION_REPORTS, INVESTIGATIONS } from './investigation-schema.js';
import { literal } from './sql-text.js';
import type { FiringInput, FiringPatch, FiringRecord, InvestigationRecord, ReportRowInput } from './store.js';

const ISO = (col: string) => `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`;

async function nextId(conn: DuckDBConnection, table: string, col: string): Promise<number> {
  const r = await conn.runAndReadAll(`SELECT coalesce(max(${col}), 0) + 1 FROM raw.${table}`);
  return Number(r.getRows()[0]?.[0] ?? 1);
}

/** Adds an investigation; returns its id. */
export async function writeInvestigation(
  conn: DuckDBConnection,
  r: Omit<InvestigationRecord, 'id' | 'fires' | 'lastFiredAt' | 'closedAt' | 'closedBy'>,
): Promise<number> {
  const id = await nextId(conn, 'investigations', 'investigation_id');
  const w = new TableWriter('investigations', INVESTIGATIONS);
  w.add(id, r.name, r.owner, r.question, r.notes, r.definition, new Date(r.createdAt), null, null);
  await w.flush(conn, 'raw');
  return id;
}

/** Marks an investigation closed. */
export async function writeClosed(conn: DuckDBConnection, id: number, by: string, at: Date): Promise<void> {
  await conn.run(
    `UPDATE raw.investigations SET closed_at = TIMESTAMPTZ ${literal(at.toISOString())}, closed_by = ${literal(by)} WHERE investigation_id = ${id}`,
  );
}

/** Every investigation with its number of firings and the last one's time, oldest first. */
export async function readInvestigations(conn: DuckDBConnection): Promise<InvestigationRecord[]> {
  const r = await conn.runAndReadAll(
    `SELECT i.investigation_id, i.name, i.owner, i.question, i.notes, i.definition, ${ISO('i.created_at')}, ${ISO('i.closed_at')}, i.closed_by, ` +
      `(SELECT count(*) FROM raw.investigation_firings f WHERE f.investigation_id = i.investigation_id), ` +
      `(SELECT ${ISO('max(f.fired_at)')} FROM raw.investigation_firings f WHERE f.investigation_id = i.investigation_id) ` +
      'FROM raw.investigations i ORDER BY i.investigation_id',
  );
  return r.getRowsJS().map(([id, name, owner, question, notes, def, created, closed, by, fires, last]) => ({
    id: Number(id),
    name: String(name),
    owner: String(owner ?? ''),
    question: String(question ?? ''),
    notes: String(notes ?? ''),
    definition: String(def),
    createdAt: String(created),
    ...(closed ? { closedAt: String(closed) } : {}),
    ...(by ? { closedBy: String(by) } : {}),
    fires: Number(fires),
    ...(last ? { lastFiredAt: String(last) } : {}),
  }));
}

/** Records that an investigation fired; returns the firing's id. */
export async function writeFiring(conn: DuckDBConnection, f: FiringInput): Promise<number> {
  const id = await nextId(conn, 'investigation_firings', 'firing_id');
  const w = new TableWriter('investigation_firings', INVESTIGATION_FIRINGS);
  w.add(
    id,
    f.investigationId,
    f.investigation,
    new Date(f.firedAt),
    f.trigger,
    JSON.stringify(f.detail),
    f.process ?? null,
    f.goroutine ?? null,
    f.requestId ?? null,
    null,
    f.traceKept,
    0,
    null,
    null,
  );
  await w.flush(conn, 'raw');
  return id;
}

/** Completes a firing with what its actions did. */
export async function patchFiring(conn: DuckDBConnection, id: number, p: FiringPatch): Promise<void> {
  const sets: string[] = [];
  if (p.snapshotId !== undefined) sets.push(`snapshot_id = ${Number(p.snapshotId)}`);
  if (p.reportRows !== undefined) sets.push(`report_rows = ${Number(p.reportRows)}`);
  if (p.webhook !== undefined) sets.push(`webhook = ${literal(p.webhook)}`);
  if (p.error !== undefined) sets.push(`error = ${literal(p.error)}`);
  if (sets.length > 0)
    await conn.run(`UPDATE raw.investigation_firings SET ${sets.join(', ')} WHERE firing_id = ${id}`);
}

/** Appends report rows. */
export async function writeReportRows(
  conn: DuckDBConnection,
  rows: readonly ReportRowInput[],
): Promise<void> {
  const w = new TableWriter('investigation_reports', INVESTIGATION_REPORTS);
  for (const r of rows)
    w.add(
      r.firingId,
      r.investigationId,
      r.snapshotId ?? null,
      r.requestId ?? null,
      r.query,
      r.rowNumber,
      r.row === undefined ? null : JSON.stringify(r.row),
      r.error ?? null,
    );
  await w.flush(conn, 'raw');
}

/** The latest firings of an investigation, newest first. */
export async function readFirings(
  conn: DuckDBConnection,
  investigationId: number,
  limit: number,
): Promise<FiringRecord[]> {
  const r = await conn.runAndReadAll(
    `SELECT firing_id, ${ISO('fired_at')}, trigger, process_id, goroutine_id, request_id, snapshot_id, trace_kept, report_rows, webhook, error ` +
      `FROM raw.investigation_firings WHERE investigation_id = ${investigationId} ORDER BY firing_id DESC LIMIT ${limit}`,
  );
  return r.getRowsJS().map(([id, at, trigger, proc, g, req, snap, kept, rows, hook, err]) => ({
    id: Number(id),
    firedAt: String(at),
    trigger: String(trigger),
    ...(proc ? { process: String(proc) } : {}),
    ...(g !== null && g !== undefined ? { goroutine: Number(g) } : {}),
    ...(req ? { requestId: String(req) } : {}),
    ...(snap !== null && snap !== undefined ? { snapshotId: Number(snap) } : {}),
    traceKept: kept === true,
    reportRows: Number(rows ?? 0),
    ...(hook ? { webhook: String(hook) } : {}),
    ...(err ? { error: String(err) } : {}),
  }));
}
