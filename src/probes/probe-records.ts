/**
 * What probes report, as plain records: events with decoded values, counter deltas, duration
 * histograms and notices. The agent ships them (protocol/) and the store appends them
 * (store/probe-store.ts) as they are; one definition for both.
 */

/** A frame of an event's stack. */
export interface ProbeFrame {
  readonly function: string;
  readonly file?: string;
  readonly line?: number;
}

/** One event of a probe, values decoded on the agent (docs/values.md). */
export interface ProbeEventRecord {
  readonly probe: string;
  /** The process as snapshots name it: `hostname:pid`. */
  readonly process: string;
  /** Wall-clock time of the hit, microseconds since the Unix epoch. */
  readonly timeUs: number;
  readonly goroutine: number;
  readonly thread: number;
  readonly site: {
    readonly kind: string;
    readonly function: string;
    readonly file?: string;
    readonly line?: number;
  };
  readonly durationNs?: number;
  readonly stack?: readonly ProbeFrame[];
  /** Each capture that was read, by expression, in the JSON form of docs/values.md. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Each capture that was not, by expression: why. */
  readonly errors?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/** What one probe did on one process in one interval (counter deltas). */
export interface ProbeCountsRecord {
  readonly probe: string;
  readonly process: string;
  readonly startUs: number;
  readonly endUs: number;
  /** Times a site of the probe ran. */
  readonly hits: number;
  /** Hits whose condition held and that the rate limit let through. */
  readonly matched: number;
  /** Events written by the kernel. */
  readonly events: number;
  /** Hits whose condition was false. */
  readonly rejected: number;
  /** Hits whose condition could not be evaluated (a nil pointer, unreadable memory). */
  readonly conditionErrors: number;
  /** Matched hits the rate limit dropped. */
  readonly rateLimited: number;
  /** Events dropped because the ring buffer was full. */
  readonly ringFull: number;
  /** Events the agent dropped (its per-process limit, or no connection to send them on). */
  readonly agentDropped: number;
  /** Calls timed (durations). */
  readonly durations: number;
  readonly durationSumNs: number;
  /** The probe's measured cost to the process: BPF run time plus the traps, ns. */
  readonly costNs: number;
  /** The process's CPU time in the interval, ns. */
  readonly cpuNs: number;
}

/** A duration histogram of one probe on one process in one interval: counts under each bound. */
export interface ProbeHistogramRecord {
  readonly probe: string;
  readonly process: string;
  readonly startUs: number;
  readonly endUs: number;
  readonly buckets: readonly (readonly [ltNs: number, count: number])[];
}

/** Something the user must know about a probe on a process (it was switched off, and why). */
export interface ProbeNoticeRecord {
  readonly probe: string;
  readonly process: string;
  readonly timeUs: number;
  /** `circuit-breaker`: switched off for its CPU cost; `limit`: refused by a limit; `error`: failed there. */
  readonly kind: 'circuit-breaker' | 'limit' | 'error';
  readonly message: string;
}
