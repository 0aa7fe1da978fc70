/**
 * What is checked when an investigation is added, beyond its shape (api/investigations.ts):
 * every SQL (report queries, conditions, probe filters) prepares over the tables a query
 * sees now, read-only, and every probe a trigger names is a probe of the current spec.
 * Each refusal names the part and says what to do.
 */
import type { InvestigationDefinition } from '../../api/investigations.js';
import { effectiveSpecOfText } from '../../spec/effective-spec.js';
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
