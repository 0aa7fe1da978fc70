/**
 * Slow/error triggers whose named trace a spec lacks: the spec was changed after the
 * investigation was added (its add-time check saw the trace). Such a trigger hears nothing
 * until a spec has the trace again; `show` says so, and a `spec set` that drops the trace
 * warns naming the open investigations that depend on it.
 */
import type { InvestigationDefinition, MissingTrace } from '../../api/investigations.js';
import { parseInvestigation } from '../../api/investigations.js';
import { effectiveSpecOfText } from '../../spec/effective-spec.js';
import type { Store } from '../../store/store.js';

/** The names of the traces a spec text has (built-in ones included, as the add-time check sees them). */
export function traceNames(yaml: string): Set<string> {
  return new Set((effectiveSpecOfText(yaml, 'spec').traces ?? []).map((t) => t.name));
}

/** The slow/error triggers of `def` that name a trace not in `traces` (of spec version `version`). */
export function missingTraces(
  def: InvestigationDefinition,
  traces: ReadonlySet<string>,
  version: number,
): MissingTrace[] {
  return def.triggers.flatMap((t) =>
    (t.kind === 'slow' || t.kind === 'error') && t.trace !== undefined && !traces.has(t.trace)
      ? [
          {
            trigger: t.kind,
            trace: t.trace,
            specVersion: version,
            text: `trace ${t.trace} is not in the current spec (version ${version})`,
          },
        ]
      : [],
  );
}

/** Warnings for spec version `version` (text `yaml`): one per trace it lacks that open investigations' triggers name. */
export async function droppedTraceWarnings(store: Store, yaml: string, version: number): Promise<string[]> {
  const traces = traceNames(yaml);
  const byTrace = new Map<string, string[]>();
  for (const r of await store.investigations()) {
    if (r.closedAt) continue;
    let def: InvestigationDefinition;
    try {
      def = parseInvestigation(JSON.parse(r.definition));
    } catch {
      continue; // not loaded by the server either (it logs why)
    }
    for (const m of missingTraces(def, traces, version))
      byTrace.set(m.trace, [...(byTrace.get(m.trace) ?? []), `${r.name} (${m.trigger} trigger)`]);
  }
  return [...byTrace].map(
    ([trace, users]) =>
      `trace ${trace} is not in spec version ${version}, and open investigation${users.length === 1 ? '' : 's'} ${users.join(', ')} ${users.length === 1 ? 'depends' : 'depend'} on it: ${users.length === 1 ? 'it hears' : 'they hear'} nothing from it until a spec has it again; put the trace back, or close ${users.length === 1 ? 'it' : 'them'} (periscope investigation close NAME)`,
  );
}
