/**
 * The probes request traces place (docs/traces.md): each trace's function entry (start, with
 * the start captures) and returns (end, with the end captures and the error) and its path
 * probes; and, shared by every trace on the same programs, goroutine creation (the call of
 * `runtime.runqput` in `runtime.newproc`'s closure, where the new goroutine has its id and
 * its parent's: an emulated CALL, where `runtime.newproc1`'s returns are single-stepped
 * RETs) and panics (`runtime.gopanic`). They run as any probe does (compiled per binary,
 * attached, drained, counted in `probe_counts`); their names hold `:`, which no probe of the
 * spec can, and the agent hands their events to the traces instead of sending them as probe
 * events.
 */
import type { CaptureSpec, ProbeEntry, Spec } from './spec-types.js';
import type { TraceEntry } from './trace-types.js';

/** The roles of a trace's probes besides its path probes ('spawn' and 'panic' are shared). */
export type TraceProbeRole = 'start' | 'end' | 'spawn' | 'panic';

/** What the shared spawn probe captures: the new goroutine's id and its parent's (runqput's `gp`). */
export const SPAWN_CAPTURES: readonly CaptureSpec[] = [
  { column: 'child', expr: 'gp.goid' },
  { column: 'parent', expr: 'gp.parentGoid' },
];
/** What the shared panic probe captures: gopanic's value. */
export const PANIC_CAPTURES: readonly CaptureSpec[] = [{ column: 'value', expr: 'e' }];

/** The prefix of the shared probes' "trace" part: a dot, which no trace name can hold. */
const SHARED = 'traces.';

/** The small values the runtime probes capture need only a few bytes each. */
const RUNTIME_LIMITS = { maxString: 64, maxElements: 0, maxDepth: 0 };

/** The name of a trace's probe: `<trace>:<role or path probe>`. */
export function traceProbeName(trace: string, role: string): string {
  return `${trace}:${role}`;
}

/** Whether a trace probe's trace part names the probes shared by the traces on some programs. */
export function isSharedTraceProbe(trace: string): boolean {
  return trace.startsWith(SHARED);
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

/** The probes trace `t` places of its own (the shared ones: sharedTraceProbes). */
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

/** The selector of a trace's programs, as a key. */
function selectorKey(t: TraceEntry): string {
  return JSON.stringify(t.program !== undefined ? { program: t.program } : { match: t.match ?? {} });
}

/** The name of the shared probes of the traces on one selector: `traces.PROGRAM`, or a hash of a label match. */
function sharedName(t: TraceEntry): string {
  if (t.program !== undefined && /^[A-Za-z0-9_.-]{1,48}$/.test(t.program)) return `${SHARED}${t.program}`;
  let h = 0x811c9dc5;
  for (const c of selectorKey(t)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `${SHARED}m${h.toString(16).padStart(8, '0')}`;
}

/**
 * The spawn and panic probes, one pair per selector shared by every trace on it (a process
 * pays for one goroutine-creation probe however many traces it has). The pair takes the
 * loosest of its traces' settings; it lives as long as one of its traces does (the server's
 * probe-orders.ts gives it the latest expiry of theirs).
 */
export function sharedTraceProbes(traces: readonly TraceEntry[]): ProbeEntry[] {
  const groups = new Map<string, TraceEntry[]>();
  for (const t of traces) {
    const k = selectorKey(t);
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  const out: ProbeEntry[] = [];
  for (const g of groups.values()) {
    const t0 = g[0]!;
    const base = {
      ...(t0.program !== undefined ? { program: t0.program } : {}),
      ...(t0.match !== undefined ? { match: t0.match } : {}),
      rateLimit: { perSecond: Math.max(...g.map((t) => t.limits.eventsPerSecond)) },
      stack: 0,
      duration: false,
      labels: false,
      ttlMs: Math.max(...g.map((t) => t.ttlMs)),
      maxCpu: Math.max(...g.map((t) => t.maxCpu)),
      limits: RUNTIME_LIMITS,
    };
    const name = sharedName(t0);
    out.push(
      {
        ...base,
        name: traceProbeName(name, 'spawn'),
        site: { kind: 'call', function: 'runtime.newproc.func1', callee: 'runtime.runqput' },
        capture: SPAWN_CAPTURES,
      },
      {
        ...base,
        name: traceProbeName(name, 'panic'),
        site: { kind: 'entry', function: 'runtime.gopanic' },
        capture: PANIC_CAPTURES,
      },
    );
  }
  return out;
}

/** The traces whose shared probes are named `trace` (the part before `:`) among `traces`. */
export function tracesSharing(trace: string, traces: readonly TraceEntry[]): TraceEntry[] {
  return traces.filter((t) => sharedName(t) === trace);
}

/** A spec's probes and the probes its traces place: what agents attach and a new spec is checked with. */
export function specProbes(spec: Spec): ProbeEntry[] {
  const traces = spec.traces ?? [];
  return [...(spec.probes ?? []), ...traces.flatMap(traceProbes), ...sharedTraceProbes(traces)];
}
