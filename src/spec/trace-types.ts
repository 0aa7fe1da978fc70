/** The shape of a request trace in the spec (`traces:`, docs/traces.md); parsing is trace-parse.ts. */
import type { CaptureSpec, ProbeSite, SpecExpr, SpecPosition, ValueLimits } from './spec-types.js';

/** A probe on a trace's path: its events are recorded into the request they happen in. */
export interface TracePathProbe {
  /** The name its events carry in `trace_events.probe` (a probe entry's name, or the inline name). */
  readonly name: string;
  readonly site: ProbeSite;
  readonly capture: readonly CaptureSpec[];
  readonly condition?: SpecExpr;
  readonly limits?: Partial<ValueLimits>;
  /** Set when the entry named a probe of the `probes:` section (its site and captures were copied). */
  readonly from?: string;
  readonly at?: SpecPosition;
}

/** When a finished request's trace is kept (any rule that holds keeps it). */
export interface TraceKeep {
  /** The function returned a non-nil error (the trace's `error` expression). */
  readonly error: boolean;
  /** The request's goroutine panicked. */
  readonly panic: boolean;
  /** The request took longer than this (also: in flight past it, the `slow` signal). */
  readonly slowerThanMs?: number;
  /** A condition over the captured values (trace-condition.ts). */
  readonly condition?: SpecExpr;
}

/** The agent's bounds on one trace per process; what goes over them is dropped and counted. */
export interface TraceLimits {
  /** Bytes of events held for requests in flight. */
  readonly memoryBytes: number;
  /** Traces kept (sent) a second. */
  readonly keptPerSecond: number;
  /** Events held per request; later ones are counted in the trace's `events_dropped`. */
  readonly eventsPerTrace: number;
  /** Events a second each of the trace's probes may write (a kernel rate limit). */
  readonly eventsPerSecond: number;
}

/** A request trace: where a request starts and ends on a goroutine, what is recorded, what is kept. */
export interface TraceEntry {
  readonly name: string;
  readonly program?: string;
  readonly match?: Readonly<Record<string, string>>;
  /** Its entry starts a request on the goroutine, its returns end it. */
  readonly function: string;
  /** Captured at the entry. */
  readonly start: readonly CaptureSpec[];
  /** Captured at the returns. */
  readonly end: readonly CaptureSpec[];
  /** At the returns: the error the request returned (for `keep: error`), stored as `error`. */
  readonly error?: SpecExpr;
  readonly probes: readonly TracePathProbe[];
  readonly keep: TraceKeep;
  readonly limits: TraceLimits;
  /** Value limits of every capture of the trace. */
  readonly valueLimits?: Partial<ValueLimits>;
  readonly ttlMs: number;
  /** The CPU share of a process each of its probes may cost before the breaker switches it off there. */
  readonly maxCpu: number;
  /** `http`: the built-in net/http server trace it was made from. */
  readonly builtin?: 'http' | 'grpc';
  readonly at?: SpecPosition;
}
