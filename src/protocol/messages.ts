/**
 * The messages between agents and the server: the one source of truth for both sides.
 * Agents connect out to the server over a WebSocket (`/v1/agent`, token in the
 * `Authorization: Bearer` header) and exchange JSON messages of these shapes.
 *
 * A snapshot, end to end: the server sends `prepare` (every matching process loads its
 * binary and compiles the spec), waits for every `prepared`, then sends `capture`; each agent
 * answers one `captured` per process, with the snapshot or an error of a named kind.
 *
 * A new spec, before it becomes current: the server sends `check-spec` to every agent, which
 * checks it against each binary it can reach and answers one `spec-checked`.
 *
 * A function's lines and the variables live at each (the Spec view): the server sends
 * `describe-function` to one agent that has the binary, which answers `function-described`.
 */
import { inflateSync } from 'node:zlib';
import type {
  ProbeCountsRecord,
  ProbeEventRecord,
  ProbeFrame as ProbeFrameRecord,
  ProbeHistogramRecord,
  ProbeNoticeRecord,
} from '../probes/probe-records.js';
import type { SlowRequestRecord, TraceCountsRecord, TraceRecord } from '../probes/trace-records.js';
import type { FunctionLines } from '../snapshot/function-lines.js';
import type { CaptureError, ProcessSnapshot } from '../snapshot/snapshot-types.js';
import type { ProbeEntry } from '../spec/spec-types.js';
import type { TraceEntry } from '../spec/trace-types.js';
import { decodeSnapshot } from './snapshot-wire.js';

/** Version of this protocol; both sides refuse a peer with another major version. */
export const PROTOCOL_VERSION = 1;

/**
 * What an agent of this version can be asked beyond the protocol's first messages, listed in
 * its hello so that the server asks only agents that can answer (an unknown question is
 * ignored by an agent, and the server would wait for nothing).
 */
export const AGENT_CAPABILITIES = ['describe-function'] as const;

/** One of AGENT_CAPABILITIES. */
export type AgentCapability = (typeof AGENT_CAPABILITIES)[number];

/** Why one process could not be captured (the kinds users filter on, like Side-Eye's). */
export type ProcessErrorKind =
  | 'BINARY_STRIPPED'
  | 'PROCESS_MISSING'
  | 'NOT_GO'
  | 'PERMISSION'
  | 'TIMEOUT'
  | 'SPEC_MISMATCH'
  | 'AGENT_DISCONNECTED'
  | 'AGENT_UNRESPONSIVE'
  | 'INTERNAL';

/** A per-process failure, reported instead of a snapshot. */
export interface ProcessError {
  readonly kind: ProcessErrorKind;
  readonly message: string;
}

/** What an agent knows about one process it monitors (its labels are what specs select on). */
export interface ProcessDescription {
  /** Stable within the fleet: `hostname:pid:starttime` (pid reuse makes a new key). */
  readonly key: string;
  readonly hostname: string;
  readonly pid: number;
  readonly executable: string;
  readonly cmdline: readonly string[];
  /** Free-form labels: executable, exe_name, hostname, pid, env.NAME (allow-listed), container, pod, namespace, … */
  readonly labels: Readonly<Record<string, string>>;
  readonly goVersion?: string;
  readonly buildId?: string;
  /** Names of the spec's program rules this process matches. */
  readonly programs: readonly string[];
}

// ---- agent -> server

/** First message after connecting. */
export interface HelloMessage {
  readonly type: 'hello';
  readonly protocol: number;
  readonly agentId: string;
  readonly hostname: string;
  readonly version: string;
  /**
   * Random per agent process, the same on every reconnection of that process: the server
   * tells the same agent reconnecting (it takes its place over) from a second agent with the
   * same id (refused). Agents before it sent none.
   */
  readonly instance?: string;
  /** AGENT_CAPABILITIES of the agent's version. Agents before the list sent none: they cannot describe functions. */
  readonly capabilities?: readonly string[];
}

/** The full list of monitored processes (sent on connect and whenever it changes). */
export interface ProcessesMessage {
  readonly type: 'processes';
  readonly processes: readonly ProcessDescription[];
}

/** The outcome of `prepare` for each requested process. */
export interface PreparedMessage {
  readonly type: 'prepared';
  readonly requestId: string;
  readonly results: readonly { readonly key: string; readonly error?: ProcessError }[];
}

/**
 * A prepare still under way (only when the `prepare` asked for it with `progressMs`, so a
 * server before this message never receives it): sent every `progressMs` while any process
 * of the request is not prepared yet. The server counts its prepare timeout from the last
 * report whose `cpuMs` changed (the agent was working, however starved of CPU), up to its
 * hard bound (`--prepare-max-wait`). Sent the same way, under their request ids, while a
 * `check-spec` or a `describe-function` that asked with `progressMs` is not answered yet.
 */
export interface PrepareProgressMessage {
  readonly type: 'prepare-progress';
  readonly requestId: string;
  /** CPU time the agent's capture thread has had, ms (a running total; a change is progress). */
  readonly cpuMs: number;
  /** Processes of the request not prepared yet (1 for a check or a description not answered yet). */
  readonly pending: number;
  /** Wall-clock ms since the agent received the `prepare`. */
  readonly elapsedMs: number;
}

/** One process's capture: its snapshot, or why there is none. */
export interface CapturedMessage {
  readonly type: 'captured';
  readonly requestId: string;
  readonly key: string;
  /** Wall-clock ms (epoch) when the capture of this process started: the skew across the fleet. */
  readonly startedAt: number;
  /** The snapshot, in the wire form of snapshot-wire.ts (stacks listed once) or plain. */
  readonly snapshot?: ProcessSnapshot;
  /**
   * Instead of `snapshot` when it is large: base64 of the zlib-deflated JSON of the
   * snapshot's wire form. Read either form with `capturedSnapshot`.
   */
  readonly snapshotDeflated?: string;
  /** Wall-clock ms the agent spent on this process (capture, decode, encode). */
  readonly elapsedMs?: number;
  readonly error?: ProcessError;
}

/** The snapshot of a `captured` message, inflating `snapshotDeflated` (at most `maxBytes` of JSON). */
export function capturedSnapshot(msg: CapturedMessage, maxBytes = 512 << 20): ProcessSnapshot | undefined {
  if (msg.snapshot) return decodeSnapshot(msg.snapshot);
  if (msg.snapshotDeflated === undefined) return undefined;
  const json = inflateSync(Buffer.from(msg.snapshotDeflated, 'base64'), { maxOutputLength: maxBytes });
  return decodeSnapshot(JSON.parse(json.toString('utf8')));
}

/** One binary an agent checked a spec against (for `spec-checked`). */
export interface BinaryCheck {
  readonly buildId?: string;
  readonly executable: string;
  readonly goVersion?: string;
  /** Keys of the agent's processes that run it (none: a stored snapshot's binary the agent still has). */
  readonly processes: readonly string[];
  /** The spec's entries that do not fit it, one per problem. */
  readonly problems: readonly CaptureError[];
  /** Spec functions it does not have (not a problem: a spec serves many programs). */
  readonly functionsAbsent: readonly string[];
  /** For the user's functions among them: the binary's functions with the nearest names. */
  readonly nearest?: Readonly<Record<string, readonly string[]>>;
  /** Why it could not be checked (no DWARF, unreadable, no longer there), when it was not. */
  readonly notChecked?: string;
}

/** The answer to `check-spec`: every binary the agent checked. */
export interface SpecCheckedMessage {
  readonly type: 'spec-checked';
  readonly requestId: string;
  readonly binaries: readonly BinaryCheck[];
}

/** The answer to `describe-function`: the function's lines, or why there are none. */
export interface FunctionDescribedMessage {
  readonly type: 'function-described';
  readonly requestId: string;
  readonly lines?: FunctionLines;
  /** What went wrong (no such function, with the nearest names; no DWARF; binary gone). */
  readonly error?: string;
}

/** Messages an agent sends. */
export type AgentMessage =
  | HelloMessage
  | FunctionDescribedMessage
  | ProcessesMessage
  | PreparedMessage
  | PrepareProgressMessage
  | CapturedMessage
  | SpecCheckedMessage
  | ProbeBatchMessage
  | TraceBatchMessage
  | TraceSlowMessage
  | ProbeStatusMessage;

// ---- server -> agent

/** The server's answer to hello, with the current spec. */
export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly protocol: number;
  readonly specVersion: number;
  /** The spec as YAML text (agents parse it with src/spec). */
  readonly spec: string;
}

/** The spec changed. */
export interface SpecMessage {
  readonly type: 'spec';
  readonly specVersion: number;
  readonly spec: string;
}

/** Phase 1 of a snapshot: load binaries and compile the spec for these processes. */
export interface PrepareMessage {
  readonly type: 'prepare';
  readonly requestId: string;
  readonly keys: readonly string[];
  readonly specVersion: number;
  readonly noPause?: boolean;
  /**
   * Report a prepare still under way with `prepare-progress` every this many ms. Servers
   * before it sent none (and agents before it ignore it: they only answer `prepared`).
   */
  readonly progressMs?: number;
}

/** Phase 2: capture the prepared processes now. */
export interface CaptureMessage {
  readonly type: 'capture';
  readonly requestId: string;
  readonly keys: readonly string[];
}

/** Forget a request (the server gave up on it). */
export interface AbortMessage {
  readonly type: 'abort';
  readonly requestId: string;
}

/** A binary a stored snapshot was taken of on the agent's host: checked too if the agent still has it. */
export interface StoredBinaryRef {
  readonly buildId: string;
  readonly executable: string;
}

/**
 * Check a spec (not yet current) against every distinct binary among the agent's processes,
 * and the stored snapshots' binaries it still has; answered by one `spec-checked`.
 */
export interface CheckSpecMessage {
  readonly type: 'check-spec';
  readonly requestId: string;
  /** The spec as YAML text. */
  readonly spec: string;
  /** The name of the spec file the user gave, for positions (`starter.yaml`). */
  readonly source: string;
  readonly stored?: readonly StoredBinaryRef[];
  /** Report the check still under way with `prepare-progress` every this many ms (as `prepare`'s). */
  readonly progressMs?: number;
}

/**
 * Describe one function of one binary (by build ID: a process of the agent running it, else
 * the file at `executable` if it still has that build ID); answered by `function-described`.
 */
export interface DescribeFunctionMessage {
  readonly type: 'describe-function';
  readonly requestId: string;
  readonly buildId: string;
  readonly executable: string;
  /** The fully qualified name, e.g. `main.(*Server).handle`. */
  readonly function: string;
  /** Report the description still under way with `prepare-progress` every this many ms (as `prepare`'s). */
  readonly progressMs?: number;
}

/**
 * Instead of `welcome`: the server will not take this agent, says why and what to do, and
 * closes the connection. The agent retries no sooner than `retryAfterMs`.
 */
export interface RefusedMessage {
  readonly type: 'refused';
  /** `duplicate-id`: another agent process is connected with this agent id. */
  readonly reason: 'duplicate-id';
  readonly message: string;
  readonly retryAfterMs: number;
}

/** Messages the server sends. */
export type ServerMessage =
  | WelcomeMessage
  | SpecMessage
  | PrepareMessage
  | CaptureMessage
  | AbortMessage
  | CheckSpecMessage
  | DescribeFunctionMessage
  | RefusedMessage
  | ProbesMessage;

// ---- probes (dynamic logs and events, docs/probes.md)
//
// The server tells every agent the probes in effect (`probes`, after `welcome` and whenever
// the spec or a time to live changes them); each agent compiles them per binary, attaches
// them to the processes their selectors pick, and streams what they see in `probe-batch`
// messages (events, and per interval the counters, duration histograms and notices), and
// where each probe stands per binary in `probe-status`.

/** One probe to apply: its spec entry, and how long it has left. */
export interface ProbeOrder {
  readonly probe: ProbeEntry;
  /** Ms left of its time to live when the message was sent (agents count from receipt). */
  readonly expiresInMs: number;
}

/** server -> agent: the probes in effect now; a probe not listed is removed. */
export interface ProbesMessage {
  readonly type: 'probes';
  /** The spec version they come from. */
  readonly specVersion: number;
  readonly probes: readonly ProbeOrder[];
  /** The request traces in effect (their probes are among `probes`; docs/traces.md). */
  readonly traces?: readonly TraceEntry[];
}

/** A frame of an event's stack. */
export type ProbeFrame = ProbeFrameRecord;
/** One event of a probe, as an agent ships it (values decoded on the agent). */
export type WireProbeEvent = ProbeEventRecord;
/** What one probe did on one process in one interval (counter deltas). */
export type ProbeCounts = ProbeCountsRecord;
/** A duration histogram of one probe on one process in one interval. */
export type ProbeHistogram = ProbeHistogramRecord;
/** Something the user must know about a probe on a process. */
export type ProbeNotice = ProbeNoticeRecord;

/** agent -> server: what the probes saw since the last batch. */
export interface ProbeBatchMessage {
  readonly type: 'probe-batch';
  readonly events: readonly WireProbeEvent[];
  readonly counts: readonly ProbeCounts[];
  readonly histograms: readonly ProbeHistogram[];
  readonly notices: readonly ProbeNotice[];
}

/** Where one probe stands on one binary of an agent. */
export interface ProbeBinaryStatus {
  readonly probe: string;
  readonly buildId?: string;
  readonly executable: string;
  /** Processes (`hostname:pid`) it is attached to. */
  readonly attached: readonly string[];
  /** Why it is not attached to this binary's processes (no longer resolves, refused by a limit). */
  readonly error?: string;
  /** Processes where it was switched off, and why. */
  readonly switchedOff?: readonly { readonly process: string; readonly reason: string }[];
}

/** agent -> server: every probe's state on this agent (sent whenever it changes). */
export interface ProbeStatusMessage {
  readonly type: 'probe-status';
  readonly specVersion: number;
  /** How probes run here: eBPF, tracefs uprobe_events (with what it cannot do), or not at all. */
  readonly backend: 'bpf' | 'tracefs' | 'none';
  /** Why probes run on tracefs or not at all here. */
  readonly backendNote?: string;
  /** Set while the agent waits before placing probes again after a crash with probes on. */
  readonly backoffUntil?: string;
  readonly binaries: readonly ProbeBinaryStatus[];
}

// ---- request traces (docs/traces.md)
//
// A trace's probes come with the probes; the agent assembles their events into requests and
// sends the kept ones and the counts in `trace-batch`, and a request in flight past its
// trace's `slower_than` at once in `trace-slow`.

/** agent -> server: kept traces and counts since the last batch. */
export interface TraceBatchMessage {
  readonly type: 'trace-batch';
  readonly traces: readonly TraceRecord[];
  readonly counts: readonly TraceCountsRecord[];
}

/** agent -> server: requests in flight past their trace's slowness threshold. */
export interface TraceSlowMessage {
  readonly type: 'trace-slow';
  readonly slow: readonly SlowRequestRecord[];
}

const AGENT_TYPES = new Set([
  'hello',
  'processes',
  'prepared',
  'prepare-progress',
  'captured',
  'spec-checked',
  'function-described',
  'probe-batch',
  'probe-status',
  'trace-batch',
  'trace-slow',
]);
const SERVER_TYPES = new Set([
  'welcome',
  'spec',
  'prepare',
  'capture',
  'abort',
  'check-spec',
  'describe-function',
  'refused',
  'probes',
]);

function parse(text: string, types: Set<string>, from: string): { type: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`malformed message from ${from}: not JSON`);
  }
  if (typeof v !== 'object' || v === null || typeof (v as { type?: unknown }).type !== 'string') {
    throw new Error(`malformed message from ${from}: no "type"`);
  }
  const type = (v as { type: string }).type;
  if (!types.has(type)) throw new Error(`unknown message type "${type}" from ${from}`);
  return v as { type: string };
}

/** Parses a message from an agent; throws a one-line Error for anything malformed. */
export function parseAgentMessage(text: string): AgentMessage {
  return parse(text, AGENT_TYPES, 'agent') as AgentMessage;
}

/** Parses a message from the server; throws a one-line Error for anything malformed. */
export function parseServerMessage(text: string): ServerMessage {
  return parse(text, SERVER_TYPES, 'server') as ServerMessage;
}
