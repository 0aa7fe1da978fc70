/** Investigations as the views show them: triggers and limits in words, report rows as grids (no DOM). */
import {
  type InvestigationBody,
  type InvestigationDefinition,
  parseInvestigation,
  type TriggerBody,
} from '../api/investigations.js';
import type { QueryResponse } from '../api/responses.js';
import type { Cell } from '../store/store.js';
import { duration, when } from './format.js';

/** One trigger of a definition (as sent) in words. */
export function triggerText(t: TriggerBody): string {
  if ('schedule' in t) {
    const s = t.schedule;
    const keep = [
      s.keep !== undefined ? `the newest ${s.keep} kept` : '',
      s.keepFor ? `kept ${s.keepFor}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `every ${s.every}, snapshot ${s.select ? s.select : 'every process'}${keep ? ` (${keep})` : ''}`;
  }
  if ('sql' in t) return `when ${t.sql}`;
  if ('probe' in t) {
    const p = typeof t.probe === 'string' ? { name: t.probe } : t.probe;
    return `an event of probe ${p.name}${p.where ? ` where ${p.where}` : ''}`;
  }
  if ('slow' in t)
    return `a request of ${t.slow.trace ? `trace ${t.slow.trace}` : 'any trace'} in flight past ${t.slow.over ?? "its trace's threshold"}`;
  const trace = typeof t.error === 'object' ? t.error.trace : undefined;
  return `a request of ${trace ? `trace ${trace}` : 'any trace'} returns an error or panics`;
}

/** Every trigger of a definition in words, `; ` between them. */
export function triggersText(d: InvestigationBody): string {
  return d.triggers.map(triggerText).join('; ');
}

/** A definition as sent, checked as the server checked it: its limits with their defaults (undefined if it no longer parses). */
export function checkedDefinition(d: InvestigationBody): InvestigationDefinition | undefined {
  try {
    return parseInvestigation(d);
  } catch {
    return undefined;
  }
}

/** The limits of a checked definition in words (empty: none). */
export function limitsText(d: InvestigationDefinition | undefined): string {
  if (!d) return '';
  return [
    d.maxFires ? `at most ${d.maxFires} firing${d.maxFires === 1 ? '' : 's'}` : '',
    d.minIntervalMs > 0 ? `at most one per ${duration(d.minIntervalMs * 1e6)}` : '',
    d.until ? `none after ${when(d.until)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** One row of `investigation_reports`. */
export interface ReportRow {
  readonly firing_id: number;
  readonly query: string;
  readonly row_number: number;
  readonly row: Readonly<Record<string, Cell>> | null;
  readonly error: string | null;
}

/** The report rows of some firings of one investigation, in order. */
export function reportSql(investigationId: number, firingIds: readonly number[]): string {
  const ids = firingIds.map((i) => Math.trunc(i)).join(', ') || 'NULL';
  return `SELECT firing_id, query, row_number, "row", error FROM investigation_reports
WHERE investigation_id = ${Math.trunc(investigationId)} AND firing_id IN (${ids})
ORDER BY firing_id, query, row_number`;
}

/** One report query's answer for one firing: its rows as a result grid, or its error. */
export interface ReportResult {
  readonly query: string;
  readonly error?: string;
  readonly result: QueryResponse;
}

/** The report rows of one firing grouped by query, each as a grid (columns in the order of its first row). */
export function reportResults(
  rows: readonly ReportRow[],
  firingId: number,
  snapshotId: number | undefined,
): ReportResult[] {
  const byQuery = new Map<string, ReportRow[]>();
  for (const r of rows) {
    if (r.firing_id !== firingId) continue;
    const list = byQuery.get(r.query) ?? [];
    list.push(r);
    byQuery.set(r.query, list);
  }
  return [...byQuery].map(([query, list]) => {
    const error = list.find((r) => r.error)?.error ?? undefined;
    const names: string[] = [];
    for (const r of list) for (const k of Object.keys(r.row ?? {})) if (!names.includes(k)) names.push(k);
    const data = list.filter((r) => r.row);
    return {
      query,
      ...(error ? { error } : {}),
      result: {
        columns: names.map((name) => ({ name, type: 'JSON' })),
        rows: data.map((r) => names.map((n) => r.row?.[n] ?? null)),
        warnings: [],
        snapshotIds: snapshotId !== undefined ? [snapshotId] : [],
      },
    };
  });
}
