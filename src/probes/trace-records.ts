/**
 * What request traces report (docs/traces.md), as plain records: a kept trace with its
 * events, the counts of what each trace kept and dropped per interval, and the notice of a
 * request in flight past its trace's slowness threshold. The agent ships them (protocol/)
 * and the store appends them (store/trace-store.ts); one definition for both.
 */

/** Why a trace was kept: the first keep rule that held, in this order. */
export type TraceOutcome = 'error' | 'panic' | 'slow' | 'condition';

/** One event of a kept trace. */
export interface TraceEventRecord {
  /** The path probe's name, or `start`, `end`, `spawn`, `panic`. */
  readonly probe: string;
  /** Wall-clock time of the hit, microseconds since the Unix epoch. */
  readonly timeUs: number;
  readonly goroutine: number;
  readonly function: string;
  /** Captured values by column (docs/values.md forms); `null` where one could not be read. */
  readonly values: Readonly<Record<string, unknown>>;
}

/** A kept trace: one request from start to end. */
export interface TraceRecord {
  readonly trace: string;
  /** Unique per agent and process: `<process>:<goroutine>:<start µs>`. */
  readonly requestId: string;
  /** `hostname:pid`. */
  readonly process: string;
  readonly goroutine: number;
  readonly startUs: number;
  readonly endUs: number;
  readonly durationNs: number;
  readonly outcome: TraceOutcome;
  /** The error's text when the request returned one (or the panic's value). */
  readonly error?: string;
  readonly start: Readonly<Record<string, unknown>>;
  readonly end: Readonly<Record<string, unknown>>;
  /** The request's goroutine and those it started (transitively) while it ran. */
  readonly goroutines: readonly number[];
  readonly events: readonly TraceEventRecord[];
  /** Events not held because the trace had `eventsPerTrace` already. */
  readonly eventsDropped: number;
}

/** What one trace did on one process in one interval. */
export interface TraceCountsRecord {
  readonly trace: string;
  readonly process: string;
  readonly startUs: number;
  readonly endUs: number;
  /** Requests that ended. */
  readonly requests: number;
  /** Traces kept and sent. */
  readonly kept: number;
  /** Requests the keep rule did not keep (only counted). */
  readonly dropped: number;
  /** Traces the rule kept but `keptPerSecond` did not let through. */
  readonly overRate: number;
  /** Requests not recorded because the trace held more than 7/8 of its memory. */
  readonly overMemory: number;
  /** Events over `eventsPerTrace`, summed over the interval's requests. */
  readonly eventsDropped: number;
  /** Requests whose end was never seen (a panic past the function, too old, or the trace's start or end switched off there). */
  readonly unfinished: number;
}

/** A request in flight past its trace's `slower_than`, noticed by the agent (once per request). */
export interface SlowRequestRecord {
  readonly trace: string;
  readonly requestId: string;
  readonly process: string;
  readonly pid: number;
  readonly goroutine: number;
  readonly elapsedMs: number;
}
