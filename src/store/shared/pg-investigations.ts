/**
 * Standing investigations, their firings and report rows in PostgreSQL (the scaled-out
 * store): the same records as investigation-store.ts keeps in DuckDB, shared by every server.
 */
import type pg from 'pg';
import type {
  FiringInput,
  FiringPatch,
  FiringRecord,
  InvestigationRecord,
  ReportRowInput,
} from '../store.js';
import { inPgTransaction, withPgRetry } from './pg-schema.js';

const ISO = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Adds an investigation; returns its id. */
export async function pgAddInvestigation(
  pool: pg.Pool,
  r: Omit<InvestigationRecord, 'id' | 'fires' | 'lastFiredAt' | 'closedAt' | 'closedBy'>,
): Promise<number> {
  const q = await withPgRetry(() =>
    pool.query<{ id: string }>(
      'INSERT INTO periscope.investigations (name, owner, question, notes, definition, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING investigation_id AS id',
      [r.name, r.owner, r.question, r.notes, r.definition, new Date(r.createdAt)],
    ),
  );
  return Number(q.rows[0]!.id);
}

/** Marks an investigation closed. */
export async function pgCloseInvestigation(pool: pg.Pool, id: number, by: string, at: Date): Promise<void> {
  await withPgRetry(() =>
    pool.query(
      'UPDATE periscope.investigations SET closed_at = $2, closed_by = $3 WHERE investigation_id = $1',
      [id, at, by],
    ),
  );
}

/** Every investigation with its number of firings and the last one's time, oldest first. */
export async function pgInvestigations(pool: pg.Pool): Promise<InvestigationRecord[]> {
  const q = await withPgRetry(() =>
    pool.query(
      `SELECT i.investigation_id, i.name, i.owner, i.question, i.notes, i.definition, ${ISO('i.created_at')} AS created, ${ISO('i.closed_at')} AS closed, i.closed_by, ` +
        '(SELECT count(*) FROM periscope.investigation_firings f WHERE f.investigation_id = i.investigation_id) AS fires, ' +
        `(SELECT ${ISO('max(f.fired_at)')} FROM periscope.investigation_firings f WHERE f.investigation_id = i.investigation_id) AS last ` +
        'FROM periscope.investigations i ORDER BY i.investigation_id',
    ),
  );
  return q.rows.map((r) => ({
    id: Number(r.investigation_id),
    name: String(r.name),
    owner: String(r.owner ?? ''),
    question: String(r.question ?? ''),
    notes: String(r.notes ?? ''),
    definition: String(r.definition),
    createdAt: String(r.created),
    ...(r.closed ? { closedAt: String(r.closed) } : {}),
    ...(r.closed_by ? { closedBy: String(r.closed_by) } : {}),
    fires: Number(r.fires),
    ...(r.last ? { lastFiredAt: String(r.last) } : {}),
  }));
}

/** Records that an investigation fired; returns the firing's id. */
export async function pgAddFiring(pool: pg.Pool, f: FiringInput): Promise<number> {
  const q = await withPgRetry(() =>
    pool.query<{ id: string }>(
      'INSERT INTO periscope.investigation_firings (investigation_id, investigation, fired_at, trigger, detail, process_id, goroutine_id, request_id, trace_kept) ' +
        'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING firing_id AS id',
      [
        f.investigationId,
        f.investigation,
        new Date(f.firedAt),
        f.trigger,
        JSON.stringify(f.detail),
        f.process ?? null,
        f.goroutine ?? null,
        f.requestId ?? null,
        f.traceKept,
      ],
    ),
  );
  return Number(q.rows[0]!.id);
}

/** Completes a firing with what its actions did. */
export async function pgPatchFiring(pool: pg.Pool, id: number, p: FiringPatch): Promise<void> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const set = (col: string, v: unknown): void => {
    values.push(v);
    sets.push(`${col} = $${values.length}`);
  };
  if (p.snapshotId !== undefined) set('snapshot_id', p.snapshotId);
  if (p.reportRows !== undefined) set('report_rows', p.reportRows);
  if (p.webhook !== undefined) set('webhook', p.webhook);
  if (p.error !== undefined) set('error', p.error);
  if (sets.length === 0) return;
  await withPgRetry(() =>
    pool.query(`UPDATE periscope.investigation_firings SET ${sets.join(', ')} WHERE firing_id = $1`, values),
  );
}

/** Appends report rows in one transaction. */
export async function pgAddReportRows(pool: pg.Pool, rows: readonly ReportRowInput[]): Promise<void> {
  await inPgTransaction(pool, async (c) => {
    for (const r of rows)
      await c.query(
        'INSERT INTO periscope.investigation_reports (firing_id, investigation_id, snapshot_id, request_id, query, row_number, row, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [
          r.firingId,
          r.investigationId,
          r.snapshotId ?? null,
          r.requestId ?? null,
          r.query,
          r.rowNumber,
          r.row === undefined ? null : JSON.stringify(r.row),
          r.error ?? null,
        ],
      );
  });
}

/** The latest firings of an investigation, newest first. */
export async function pgFirings(
  pool: pg.Pool,
  investigationId: number,
  limit: number,
): Promise<FiringRecord[]> {
  const q = await withPgRetry(() =>
    pool.query(
      `SELECT firing_id, ${ISO('fired_at')} AS at, trigger, process_id, goroutine_id, request_id, snapshot_id, trace_kept, report_rows, webhook, error ` +
        'FROM periscope.investigation_firings WHERE investigation_id = $1 ORDER BY firing_id DESC LIMIT $2',
      [investigationId, limit],
    ),
  );
  return q.rows.map((r) => ({
    id: Number(r.firing_id),
    firedAt: String(r.at),
    trigger: String(r.trigger),
    ...(r.process_id ? { process: String(r.process_id) } : {}),
    ...(r.goroutine_id !== null ? { goroutine: Number(r.goroutine_id) } : {}),
    ...(r.request_id ? { requestId: String(r.request_id) } : {}),
    ...(r.snapshot_id !== null ? { snapshotId: Number(r.snapshot_id) } : {}),
    traceKept: r.trace_kept === true,
    reportRows: Number(r.report_rows ?? 0),
    ...(r.webhook ? { webhook: String(r.webhook) } : {}),
    ...(r.error ? { error: String(r.error) } : {}),
  }));
}

/** The rows of the three investigation tables a cache mirrors (report rows after `afterSeq` only), in column order. */
export async function pgInvestigationRows(
  pool: pg.Pool,
  afterSeq: number,
): Promise<{ investigations: unknown[][]; firings: unknown[][]; reports: unknown[][]; lastSeq: number }> {
  const rows = async (sql: string, params: unknown[] = []) =>
    (await withPgRetry(() => pool.query({ text: sql, values: params, rowMode: 'array' })))
      .rows as unknown[][];
  const investigations = await rows(
    'SELECT investigation_id, name, owner, question, notes, definition, created_at, closed_at, closed_by FROM periscope.investigations ORDER BY 1',
  );
  const firings = await rows(
    'SELECT firing_id, investigation_id, investigation, fired_at, trigger, detail::text, process_id, goroutine_id, request_id, snapshot_id, trace_kept, report_rows, webhook, error FROM periscope.investigation_firings ORDER BY 1',
  );
  const reports = await rows(
    'SELECT seq, firing_id, investigation_id, snapshot_id, request_id, query, row_number, row::text, error FROM periscope.investigation_reports WHERE seq > $1 ORDER BY seq',
    [afterSeq],
  );
  const lastSeq = reports.length > 0 ? Number(reports.at(-1)![0]) : afterSeq;
  return { investigations, firings, reports: reports.map((r) => r.slice(1)), lastSeq };
}
