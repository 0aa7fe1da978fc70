/**
 * An investigation's report: each named SQL query run over the snapshot the firing took (or
 * the latest when it took none), its rows kept as JSON objects with the firing, snapshot and
 * request they came from. A query that fails is kept as a row with its error.
 */
import type { InvestigationDefinition } from '../../api/investigations.js';
import type { Cell, ReportRowInput, Store } from '../../store/store.js';

/** Rows kept per query of a report; the rest are counted in a last row's error. */
export const MAX_REPORT_ROWS = 1000;

/** What the report is about. */
export interface ReportScope {
  readonly firingId: number;
  readonly investigationId: number;
  readonly snapshotId?: number;
  readonly requestId?: string;
}

/** Runs the report's queries and returns the rows to store. */
export async function runReport(
  store: Store,
  report: InvestigationDefinition['report'],
  at: ReportScope,
): Promise<ReportRowInput[]> {
  const out: ReportRowInput[] = [];
  const base = {
    firingId: at.firingId,
    investigationId: at.investigationId,
    ...(at.snapshotId !== undefined ? { snapshotId: at.snapshotId } : {}),
    ...(at.requestId !== undefined ? { requestId: at.requestId } : {}),
  };
  for (const q of report) {
    try {
      const r = await store.query(
        q.sql,
        at.snapshotId !== undefined ? { snapshot: at.snapshotId } : { latest: true },
      );
      r.rows.slice(0, MAX_REPORT_ROWS).forEach((cells, i) => {
        const row: Record<string, Cell> = {};
        r.columns.forEach((c, j) => {
          row[c.name] = cells[j] ?? null;
        });
        out.push({ ...base, query: q.name, rowNumber: i + 1, row });
      });
      if (r.rows.length > MAX_REPORT_ROWS)
        out.push({
          ...base,
          query: q.name,
          rowNumber: MAX_REPORT_ROWS + 1,
          error: `${r.rows.length - MAX_REPORT_ROWS} more rows not kept (at most ${MAX_REPORT_ROWS} per query)`,
        });
    } catch (e) {
      out.push({ ...base, query: q.name, rowNumber: 0, error: (e as Error).message.slice(0, 2000) });
    }
  }
  return out;
}
