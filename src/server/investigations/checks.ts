/**
 * What is checked when an investigation is added, beyond its shape (api/investigations.ts):
 * every SQL (report queries, conditions, probe filters) prepares over the tables a query
 * sees now, read-only, every probe a trigger names is a probe of the current spec, and every
 * trace a slow/error trigger names is a trace of it whose keep rule can ever fire the trigger.
 * Each refusal names the part and says what to do.
 */
import type { InvestigationDefinition } from '../../api/investigations.js';
import { nearestNames } from '../../common/nearest-names.js';
import { effectiveSpecOfText } from '../../spec/effective-spec.js';
import type { TraceEntry } from '../../spec/trace-types.js';
import { ident } from '../../store/sql-text.js';
import type { Store } from '../../store/store.js';
import { HttpError } from '../http-errors.js';

function refuse(message: string): never {
  throw new HttpError(400, 'bad-request', message);
}

/** Refuses (400) an investigation whose SQL does not prepare or whose probes are not in the spec. */
export async function checkInvestigation(store: Store, def: InvestigationDefinition): Promise<void> {
  const current = await store.currentSpec();
  const spec = effectiveSpecOfText(current?.yaml ?? '', 'spec');
  const probes = new Set((spec.probes ?? []).map((p) => p.name));
  for (const t of def.triggers)
    if (t.kind === 'probe' && !probes.has(t.probe))
      refuse(
        `trigger probe "${t.probe}": no probe of that name in the current spec${probes.size > 0 ? ` (it has ${[...probes].join(', ')})` : ''}; add it with \`periscope probe add\` first`,
      );
  checkTraceTriggers(def, spec.traces ?? []);
  const sqls: [string, string][] = [
    ...def.report.map((q): [string, string] => [`report query "${q.name}"`, q.sql]),
    ...def.triggers.flatMap((t): [string, string][] =>
      t.kind === 'sql'
        ? [['sql trigger', t.condition]]
        : t.kind === 'probe' && t.where
          ? [[`probe trigger "${t.probe}" where`, `SELECT seq FROM ${ident(t.probe)} WHERE (${t.where})`]]
          : [],
    ),
  ];
  if (sqls.length === 0) return;
  const session = await store.session({ latest: true });
  try {
    for (const [what, sql] of sqls) {
      try {
        const d = await session.describe(sql);
        if (d.params > 0)
          refuse(`${what}: parameters ($1, ?) have no value here; write the values in the SQL`);
        if (what === 'sql trigger' && d.columns.length === 0) refuse(`${what}: it returns no column`);
      } catch (e) {
        if (e instanceof HttpError) throw e;
        refuse(
          `${what} does not prepare over the tables a query sees now: ${(e as Error).message.split('\n')[0]}`,
        );
      }
    }
  } finally {
    session.close();
  }
}

/** Milliseconds as the spec writes a duration (300ms, 2s). */
function ms(n: number): string {
  return n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
}

/**
 * Refuses a slow/error trigger that names a trace the current spec lacks, or whose trace can
 * never send what it listens for: the agent notices a request as slow only for a trace with
 * `keep: slower_than`, once, at that threshold; a kept trace signals an error or a panic only
 * when `keep` has `error` or `panic`. (A trigger naming no trace listens to every trace.)
 */
function checkTraceTriggers(def: InvestigationDefinition, traces: readonly TraceEntry[]): void {
  for (const t of def.triggers) {
    if ((t.kind !== 'slow' && t.kind !== 'error') || t.trace === undefined) continue;
    const what = `trigger ${t.kind} on trace "${t.trace}"`;
    const trace = traces.find((x) => x.name === t.trace);
    if (!trace) {
      const near = nearestNames(
        t.trace,
        traces.map((x) => x.name),
      );
      refuse(
        `${what}: no trace of that name in the current spec${near.length > 0 ? ` (nearest: ${near.join(', ')})` : ' (it has no traces)'}; add it to the spec's traces: section first (docs/traces.md)`,
      );
    }
    const keep = trace.keep;
    if (t.kind === 'slow') {
      if (keep.slowerThanMs === undefined)
        refuse(
          `${what}: the trace has no slower_than in its keep rule, and agents report requests in flight past that threshold only; add \`keep: slower_than\` to it (e.g. keep: [error, {slower_than: 300ms}])`,
        );
      if (t.overMs !== undefined && t.overMs < keep.slowerThanMs)
        refuse(
          `${what}: over ${ms(t.overMs)} is below the trace's slower_than ${ms(keep.slowerThanMs)}, and agents notice a slow request only at that threshold; use over ${ms(keep.slowerThanMs)} or more, or lower the trace's slower_than`,
        );
    } else if (!keep.error && !keep.panic)
      refuse(
        `${what}: the trace keeps no request for an error or a panic, so it never signals one; add error (or panic) to its keep rule`,
      );
  }
}
