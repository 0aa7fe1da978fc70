/**
 * A finished request's keep rule (docs/traces.md): which rule keeps it, in the order error,
 * panic, slow, condition, or none (it is only counted); and the text of a captured error or
 * panic value.
 */
import type { TraceOutcome } from '../probes/trace-records.js';
import { evalTraceCondition, type TraceCondition } from '../spec/trace-condition.js';
import type { TraceKeep } from '../spec/trace-types.js';

/** What the keep rule looks at of a finished request. */
export interface FinishedRequest {
  /** The captured error (null or absent: none). */
  readonly error: unknown;
  /** The panic's text, when the request panicked. */
  readonly panic: string | undefined;
  readonly durationNs: number;
  /** A captured value by the condition's name. */
  readonly get: (name: string) => unknown;
}

/** The first rule of `keep` that holds for the request, or undefined. */
export function keepOutcome(
  keep: TraceKeep,
  condition: TraceCondition | undefined,
  r: FinishedRequest,
): TraceOutcome | undefined {
  if (keep.error && r.error !== null && r.error !== undefined) return 'error';
  if (keep.panic && r.panic !== undefined) return 'panic';
  if (keep.slowerThanMs !== undefined && r.durationNs / 1e6 > keep.slowerThanMs) return 'slow';
  if (condition && evalTraceCondition(condition, r.get)) return 'condition';
  return undefined;
}

/** The pid of a `hostname:pid` process id. */
export function pidOf(process: string): number {
  return Number(process.slice(process.lastIndexOf(':') + 1));
}

/** The text of a captured error or panic value: an error's message, a string, or the value's JSON. */
export function textOf(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.message === 'string') return o.message;
    if ('value' in o && o.value !== v) {
      const inner = textOf(o.value);
      if (inner !== undefined) return inner;
    }
  }
  return JSON.stringify(v);
}
