/**
 * Triggers whose named trace (slow/error) or probe (probe) a spec lacks: the spec was changed
 * after the investigation was added (its add-time check saw them). Such a trigger hears
 * nothing until a spec has them again; `show` says so, and a `spec set` that drops one warns
 * naming the open investigations that depend on it.
 */
import type { MissingProbe, MissingTrace } from '../../api/investigation-views.js';
import type { InvestigationDefinition } from '../../api/investigations.js';
import { parseInvestigation } from '../../api/investigations.js';
import { effectiveSpecOfText } from '../../spec/effective-spec.js';
import type { Store } from '../../store/store.js';

/** The names of the traces and probes a spec text has (built-in ones included, as the add-time check sees them). */
export interface SpecNames {
  readonly traces: ReadonlySet<string>;
  readonly probes: ReadonlySet<string>;
}

/** The traces and probes a spec text has. */
export function specNames(yaml: string): SpecNames {
  const spec = effectiveSpecOfText(yaml, 'spec');
  return {
    traces: new Set((spec.traces ?? []).map((t) => t.name)),
    probes: new Set((spec.probes ?? []).map((p) => p.name)),
  };
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

/** The probe triggers of `def` that name a probe not in `probes` (of spec version `version`), each probe once. */
export function missingProbes(
  def: InvestigationDefinition,
  probes: ReadonlySet<string>,
  version: number,
): MissingProbe[] {
  const names = new Set(
    def.triggers.flatMap((t) => (t.kind === 'probe' && !probes.has(t.probe) ? [t.probe] : [])),
  );
  return [...names].map((probe) => ({
    probe,
    specVersion: version,
    text: `probe ${probe} is not in the current spec (version ${version})`,
  }));
}

/**
 * Warnings for spec version `version` (text `yaml`): one per trace or probe it lacks that open
 * investigations' triggers name.
 */
export async function droppedDependencyWarnings(
  store: Store,
  yaml: string,
  version: number,
): Promise<string[]> {
  const names = specNames(yaml);
  const users = new Map<string, string[]>();
  const use = (what: string, who: string) => users.set(what, [...(users.get(what) ?? []), who]);
  for (const r of await store.investigations()) {
    if (r.closedAt) continue;
    let def: InvestigationDefinition;
    try {
      def = parseInvestigation(JSON.parse(r.definition));
    } catch {
      continue; // not loaded by the server either (it logs why)
    }
    for (const m of missingTraces(def, names.traces, version))
      use(`trace ${m.trace}`, `${r.name} (${m.trigger} trigger)`);
    for (const m of missingProbes(def, names.probes, version))
      use(`probe ${m.probe}`, `${r.name} (probe trigger)`);
  }
  return [...users].map(([what, who]) => {
    const one = who.length === 1;
    const putBack = what.startsWith('probe ')
      ? 'put the probe back (periscope probe add)'
      : 'put the trace back';
    return `${what} is not in spec version ${version}, and open investigation${one ? '' : 's'} ${who.join(', ')} ${one ? 'depends' : 'depend'} on it: ${one ? 'it hears' : 'they hear'} nothing from it until a spec has it again; ${putBack}, or close ${one ? 'it' : 'them'} (periscope investigation close NAME)`;
  });
}
