/** Messages between the agent's main thread and its probe thread (probe-worker.ts). */
import type { ProbeBatchMessage } from '../protocol/messages.js';
import type { ProbeEntry, RedactionSpec } from '../spec/spec-types.js';

/** Limits the agent puts on every probe (docs/probes.md, "Safety"). */
export interface ProbeLimits {
  /** Largest event a probe may write, bytes (a probe whose records are larger is refused). */
  readonly maxEventBytes: number;
  /** Events a second a process may send over all its probes; the rest are dropped and counted. */
  readonly maxEventsPerProcess: number;
  /** Events a second per probe per process when the probe sets no rateLimit (in the kernel). */
  readonly defaultRatePerProbe: number;
}

/** The probes one process should have now (none: remove them all). */
export interface ProbeWant {
  readonly op: 'want';
  readonly pid: number;
  /** The agent's key of the process (hostname:pid:starttime). */
  readonly key: string;
  /** The process as tables name it (hostname:pid). */
  readonly process: string;
  readonly probes: readonly ProbeEntry[];
  /** The spec's redaction section (absent: the defaults), applied to events as to snapshots. */
  readonly redaction?: RedactionSpec;
  /** Names of the spec's program rules the process matches (where `redaction.off` applies). */
  readonly programs?: readonly string[];
}

/** Which backend runs probes, and the limits; sent once, before any `want`. */
export interface ProbeSetup {
  readonly op: 'setup';
  readonly backend: 'bpf' | 'tracefs';
  readonly limits: ProbeLimits;
  /** Up to 3 characters [a-z0-9] in the names of this agent's kernel objects. */
  readonly tag: string;
  /** Hit cost by how the kernel handles the instruction (ns), for the CPU circuit breaker. */
  readonly trapNs: { readonly emulated: number; readonly stepped: number };
  /** The binary cache on disk, if one is used (agent --cache-dir). */
  readonly binaryCacheDir?: string;
}

/** Remove every probe, then answer `stopped`. */
export interface ProbeStop {
  readonly op: 'stop';
}

/** A message to the probe thread. */
export type ProbeThreadRequest = ProbeSetup | ProbeWant | ProbeStop;

/** One probe on one process: attached, or why not; with the kernel objects it holds. */
export interface ProcessProbeState {
  readonly pid: number;
  readonly key: string;
  readonly process: string;
  readonly buildId?: string;
  readonly executable: string;
  /** Probes attached. */
  readonly attached: readonly string[];
  /** Probes that could not be attached here, and why. */
  readonly errors: Readonly<Record<string, string>>;
  /** Kernel ids of the programs and links (or the tracefs events) that hold them. */
  readonly programIds: readonly number[];
  readonly linkIds: readonly number[];
}

/** What the probe thread tells the main thread. */
export type ProbeThreadReply =
  /** Events, counters, histograms and notices to send to the server. */
  | ({ readonly op: 'batch' } & Omit<ProbeBatchMessage, 'type'>)
  /** Every process's probes (after each change). */
  | { readonly op: 'status'; readonly processes: readonly ProcessProbeState[] }
  /** A probe cost a process more than its CPU share: it was removed there. */
  | {
      readonly op: 'switched-off';
      readonly pid: number;
      readonly key: string;
      readonly probe: string;
      readonly reason: string;
    }
  /** The fds the thread holds kernel objects with (closed by the main thread if the thread dies). */
  | { readonly op: 'fds'; readonly fds: readonly number[] }
  /** Every probe removed (answer to `stop`). */
  | { readonly op: 'stopped' }
  | { readonly op: 'log'; readonly line: string }
  /** A line the binary cache on disk tells (agent/binary-cache-log.ts filters it). */
  | { readonly op: 'cache-log'; readonly line: string };
