/**
 * The checks of the `traces:` section that need the rest of the spec: trace names are
 * unique, a trace's program is one the spec defines, and a path probe given by name is a
 * probe of the `probes:` section (whose site and captures it takes).
 */
import type { SpecIssue } from './spec-parse.js';
import type { ProbeEntry, Spec } from './spec-types.js';
import type { TraceEntry } from './trace-types.js';

/** The traces with named path probes filled in; problems are pushed to `issues`. */
export function checkTraces(
  issues: SpecIssue[],
  spec: Spec,
  probes: readonly ProbeEntry[],
  traces: readonly TraceEntry[],
): TraceEntry[] {
  const programs = new Set(spec.programs.map((p) => p.name));
  const seen = new Map<string, number>();
  return traces.map((t) => {
    const at = t.at ?? { line: 0, column: 0 };
    const before = seen.get(t.name);
    if (before !== undefined)
      issues.push({ ...at, message: `trace "${t.name}" is already defined at line ${before}` });
    seen.set(t.name, at.line);
    if (t.program !== undefined && !programs.has(t.program))
      issues.push({
        ...at,
        message: `trace "${t.name}": no program named "${t.program}" in "programs"${programs.size > 0 ? `; the programs are: ${[...programs].join(', ')}` : ''}`,
      });
    return {
      ...t,
      probes: t.probes.map((p) => {
        if (p.from === undefined) return p;
        const entry = probes.find((x) => x.name === p.from);
        if (!entry) {
          issues.push({
            ...(p.at ?? at),
            message: `trace "${t.name}": no probe named "${p.from}" in "probes"; name one, or write the probe inline (name, function, capture)`,
          });
          return p;
        }
        return {
          ...p,
          site: entry.site,
          capture: entry.capture,
          ...(entry.condition ? { condition: entry.condition } : {}),
          ...(entry.limits ? { limits: entry.limits } : {}),
        };
      }),
    };
  });
}
