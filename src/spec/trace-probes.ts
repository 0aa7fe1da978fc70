/**
 * The probes a request trace places (docs/traces.md): its function's entry (start, with the
 * start captures) and returns (end, with the end captures and the error), goroutine creation
 * (`runtime.newproc1`'s returns: the new goroutine's id and its parent's, so a request
 * follows the goroutines it starts), panics (`runtime.gopanic`) and its path probes. They run
 * as any probe does (compiled per binary, attached, drained, counted in `probe_counts`); their
 * names hold `:`, which no probe of the spec can, and the agent hands their events to the
 * trace instead of sending them as probe events.
 */
import type { CaptureSpec, ProbeEntry, Spec } from './spec-types.js';
import type { TraceEntry } from './trace-types.js';

/** The roles of a trace's probes besides its path probes. */
export type TraceProbeRole = 'start' | 'end' | 'spawn' | 'panic';

/** The small values the runtime probes capture need only a few bytes each. */
const RUNTIME_LIMITS = { maxString: 64, maxElements: 0, maxDepth: 0 };

/** The name of a trace's probe: `<trace>:<role or path probe>`. */
export function traceProbeName(trace: string, role: string): string {
  return `${trace}:${role}`;
}

/** Whether a probe is a trace's (its events go to the trace, within the trace's own limits). */
export function isTraceProbe(probe: string): boolean {
  return probe.includes(':');
}

/** The trace and role (or path probe name) a probe's name says, if it is a trace's probe. */
export function traceProbeOf(probe: string): { trace: string; role: string } | undefined {
  const i = probe.indexOf(':');
  return i < 0 ? undefined : { trace: probe.slice(0, i), role: probe.slice(i + 1) };
}

/** Every probe trace `t` places. */
export function traceProbes(t: TraceEntry): ProbeEntry[] {
  const base = {
    ...(t.program !== undefined ? { program: t.program } : {}),
    ...(t.match !== undefined ? { match: t.match } : {}),
    rateLimit: { perSecond: t.limits.eventsPerSecond },
    stack: 0,
    duration: false,
    labels: false,
    ttlMs: t.ttlMs,
    maxCpu: t.maxCpu,
    ...(t.at ? { at: t.at } : {}),
  };
  const values = t.valueLimits ? { limits: t.valueLimits } : {};
  const end: CaptureSpec[] = [...t.end, ...(t.error ? [{ column: 'error', expr: t.error.expr }] : [])];
  // A probe with no capture only counts; one frame of stack makes it write events.
  const bare = (c: readonly CaptureSpec[]) => (c.length > 0 ? {} : { stack: 1 });
  return [
    {
      ...base,
      ...values,
      name: traceProbeName(t.name, 'start'),
      site: { kind: 'entry', function: t.function },
      capture: t.start,
      ...bare(t.start),
    },
    {
      ...base,
      ...values,
      name: traceProbeName(t.name, 'end'),
      site: { kind: 'return', function: t.function },
      capture: end,
      ...bare(end),
    },
    {
      ...base,
      limits: RUNTIME_LIMITS,
      name: traceProbeName(t.name, 'spawn'),
      site: { kind: 'return', function: 'runtime.newproc1' },
      capture: [
        { column: 'child', expr: 'r0.goid' },
        { column: 'parent', expr: 'r0.parentGoid' },
      ],
    },
    {
      ...base,
      limits: RUNTIME_LIMITS,
      name: traceProbeName(t.name, 'panic'),
      site: { kind: 'entry', function: 'runtime.gopanic' },
      capture: [{ column: 'value', expr: 'e' }],
    },
    ...t.probes.map(
      (p): ProbeEntry => ({
        ...base,
        ...(p.limits ? { limits: p.limits } : values),
        name: traceProbeName(t.name, p.name),
        site: p.site,
        capture: p.capture,
        ...bare(p.capture),
        ...(p.condition ? { condition: p.condition } : {}),
      }),
    ),
  ];
}

/** A spec's probes and the probes its traces place: what agents attach and a new spec is checked with. */
export function specProbes(spec: Spec): ProbeEntry[] {
  return [...(spec.probes ?? []), ...(spec.traces ?? []).flatMap(traceProbes)];
}
