/**
 * The answers of the HTTP API (`/v1`), one type per route, shared by the server that sends
 * them and the clients that read them (the CLI, the web app). Types only, plus the text of the
 * partial-snapshot note; no Node imports.
 */

import type { ProbeEventRecord } from '../probes/probe-records.js';
import type { TraceRecord } from '../probes/trace-records.js';
import type { ProcessDescription, ProcessErrorKind } from '../protocol/messages.js';
import type { FunctionLines } from '../snapshot/function-lines.js';
import type { CaptureError } from '../snapshot/snapshot-types.js';
import type { AuditEntry, AuditIntegrity } from '../store/audit-types.js';
import type {
  QueryResult,
  SetSpecResult,
  SnapshotInfo,
  SpecSqlProblem,
  SpecVersion,
} from '../store/store.js';
import type { Role, TokenInfo } from '../store/token-types.js';

export type { QueryResult, Role, SetSpecResult, SnapshotInfo, SpecVersion, TokenInfo };

/** Every error: `{"error": {"code", "message"}}`; the message says what to do. */
export interface ErrorResponse {
  readonly error: { readonly code: string; readonly message: string };
}

/** GET /v1/health. */
export interface HealthResponse {
  readonly status: 'ok';
  readonly version: string;
  readonly startedAt: string;
  readonly agentsConnected: number;
  readonly snapshotsInFlight: number;
}

/** An agent as listed by the API. */
/** Where an agent stands. */
export type AgentState = 'connected' | 'unresponsive' | 'refused' | 'disconnected';

/** An agent as listed by the API. */
export interface AgentView {
  readonly id: string;
  readonly hostname: string;
  readonly version: string;
  /** connected; unresponsive (connected, silent past the heartbeat timeout); refused (its id is taken); disconnected. */
  readonly state: AgentState;
  /** Whether its connection is open (connected or unresponsive). */
  readonly connected: boolean;
  /** For a refused agent: its first refused attempt. */
  readonly connectedAt: string;
  /** For a refused agent: its latest attempt. */
  readonly lastSeen: string;
  readonly disconnectedAt?: string;
  /** Since when it has not been heard from (state unresponsive). */
  readonly unresponsiveSince?: string;
  /** Why it was refused and what to do (state refused). */
  readonly refusal?: string;
  /** Refused attempts so far (state refused). */
  readonly attempts?: number;
  /** The agent process's random instance id. */
  readonly instance?: string;
  readonly remoteAddress?: string;
  /** Name of the token it authenticated with. */
  readonly tokenName?: string;
  /** What it said it can do in its hello (e.g. describe-function); absent for agents older than capabilities. */
  readonly capabilities?: readonly string[];
  readonly processes: number;
  /** Scaled-out store: the id of the server the agent is connected to, and its URL. */
  readonly server?: string;
  readonly serverUrl?: string;
}

/** GET /v1/agents. */
export interface AgentsResponse {
  readonly agents: readonly AgentView[];
}

/** A monitored process and the agent that monitors it. */
export interface ProcessView extends ProcessDescription {
  readonly agentId: string;
  /** Scaled-out store: the id of the server its agent is connected to. */
  readonly server?: string;
}

/** GET /v1/processes. */
export interface ProcessesResponse {
  readonly selector: string;
  readonly processes: readonly ProcessView[];
}

/** One process of a snapshot: captured, or why not. */
export interface ProcessResult {
  readonly key: string;
  /** Empty for snapshots not taken through the server. */
  readonly agentId: string;
  readonly hostname: string;
  readonly pid: number;
  /** The program name the `processes` table holds (a spec program, else the executable's base name). */
  readonly program?: string;
  readonly executable: string;
  readonly ok: boolean;
  readonly error?: { readonly kind: ProcessErrorKind; readonly message: string };
  readonly startedAt?: string;
  readonly pauseNs?: number;
  readonly goroutines?: number;
  /** Spec entries its binary could not capture (rows of `capture_errors`); the rest was captured. */
  readonly captureErrors?: number;
}

/** POST /v1/snapshots (201): the stored snapshot and each process's outcome. */
export interface SnapshotTaken {
  readonly snapshotId: number;
  readonly requestId: string;
  readonly selector: string;
  /** Name of the token that asked. */
  readonly requestedBy: string;
  /** Latest minus earliest capture start among captured processes, ms. */
  readonly captureSkewMs: number;
  /** From request to stored, ms. */
  readonly durationMs: number;
  readonly processes: readonly ProcessResult[];
  readonly labels: Readonly<Record<string, string>>;
  readonly specVersion: number | null;
  /** Links that cannot resolve (everywhere) on a program, once per program, link, table and reason; absent when none. */
  readonly linkNotes?: readonly FleetLinkNote[];
}

/** A link that cannot resolve on some frames of one program's processes in a fleet snapshot (rows of `link_notes`, summed). */
export interface FleetLinkNote {
  readonly link: string;
  readonly program: string;
  /** Processes of the program with this note. */
  readonly processes: number;
  /** The link's table (an end) whose rows lack an identity, and its socket capture's column. */
  readonly table: string;
  readonly column: string;
  /** Frames without an identity for this reason, of `of` frames of the table (absent: nothing was read). */
  readonly frames?: number;
  readonly of?: number;
  readonly message: string;
}

/** GET /v1/snapshots: newest first. */
export interface SnapshotsResponse {
  readonly snapshots: readonly SnapshotInfo[];
  /** Matching snapshots, before the limit. */
  readonly total: number;
}

/**
 * GET /v1/snapshots/{id}: the listing's facts, with `processes` the per-process outcomes instead
 * of their count; the request's facts are present for snapshots taken through the server; the
 * link notes (as the fleet snapshot's answer gave them, from the stored `link_notes`) for any.
 */
export type SnapshotDetail = Omit<SnapshotInfo, 'processes'> &
  Partial<
    Pick<
      SnapshotTaken,
      'requestId' | 'selector' | 'requestedBy' | 'captureSkewMs' | 'durationMs' | 'linkNotes'
    >
  > & {
    readonly processes: readonly ProcessResult[];
  };

/**
 * Set on an answer from the latest snapshot when it holds fewer processes than the fleet
 * monitors now (e.g. it was taken with a selector): which snapshot answered, and how much of
 * the fleet it holds.
 */
export interface PartialSnapshot {
  readonly snapshotId: number;
  /** Processes the snapshot holds data of. */
  readonly processes: number;
  /** Processes the connected agents monitor now. */
  readonly fleetProcesses: number;
  /** The selector it was taken with, when the server took it. */
  readonly selector?: string;
}

/** POST /v1/query as JSON, and GET /v1/links. */
export type QueryResponse = QueryResult & { readonly partial?: PartialSnapshot };

/** The header of a CSV answer that carries `partial` (`snapshot=7; processes=1; fleet=3`). */
export const PARTIAL_SNAPSHOT_HEADER = 'periscope-partial-snapshot';

/** The value of PARTIAL_SNAPSHOT_HEADER. */
export function partialSnapshotHeader(p: PartialSnapshot): string {
  return `snapshot=${p.snapshotId}; processes=${p.processes}; fleet=${p.fleetProcesses}`;
}

/** One sentence for people: which snapshot answered and how much of the fleet it holds. */
export function describePartialSnapshot(p: PartialSnapshot): string {
  const taken = p.selector ? ` (taken for "${p.selector}")` : '';
  const n = (k: number) => `${k} process${k === 1 ? '' : 'es'}`;
  return `answered from snapshot ${p.snapshotId}, the latest${taken}: it holds ${n(p.processes)} of the ${n(p.fleetProcesses)} the fleet monitors`;
}

// ---- PUT /v1/spec: what checking a new spec found

/** A capture problem with its text (`FILE:LINE:COLUMN: function: column = expression: why`). */
export type ReportedProblem = CaptureError & { readonly text: string };

/** One binary and how the spec fits it. */
export interface BinaryReport {
  readonly buildId?: string;
  readonly executable: string;
  readonly goVersion?: string;
  readonly hosts: readonly string[];
  readonly status: 'fits' | 'does-not-fit' | 'not-checked';
  /** The agent that checked it. */
  readonly checkedBy?: string;
  /** Processes running it now. */
  readonly processes: number;
  /** The newest stored snapshot holding it, if any. */
  readonly lastSnapshot?: number;
  readonly problems: readonly ReportedProblem[];
  /** Why it was not checked. */
  readonly reason?: string;
}

/** A function of the user's spec that none of the checked binaries has (a misspelled name, most often). */
export interface MissingFunction {
  readonly function: string;
  readonly at?: { readonly line: number; readonly column: number };
  /** The checked binaries' functions with the nearest names, most often suggested first. */
  readonly nearest: readonly string[];
  /** `FILE:LINE:COLUMN: F is in none of the N binaries checked; nearest: …`. */
  readonly text: string;
}

/** Everything a spec check found. */
export interface SpecCheckReport {
  readonly source: string;
  /**
   * True when nothing is wrong: every checked binary fits, every derived table and link
   * builds, and each of the user's functions is in at least one checked binary.
   */
  readonly fits: boolean;
  readonly sql: readonly (SpecSqlProblem & { readonly text: string })[];
  readonly binaries: readonly BinaryReport[];
  /** The user's functions none of the checked binaries has (none when no binary was checked). */
  readonly functionsMissing: readonly MissingFunction[];
  /** Not problems, but worth a look. */
  readonly warnings: readonly string[];
}

/** POST /v1/spec/check: what a PUT would find, nothing stored; `message` lists the problems when it does not fit. */
export interface SpecCheckResponse {
  readonly check: SpecCheckReport;
  readonly message?: string;
}

/** PUT /v1/spec (200): the version stored, and what the check found. */
export type SpecSetResponse = SetSpecResult & { readonly check?: SpecCheckReport };

/** PUT /v1/spec (422 `spec-does-not-fit`): refused; the message lists every problem, `check` has them. */
export type SpecRefusedResponse = ErrorResponse & { readonly check: SpecCheckReport };

/** One entry of GET /v1/spec/versions. */
export type SpecVersionEntry = Pick<SpecVersion, 'version' | 'createdAt' | 'author'>;

/** GET /v1/spec/versions: oldest first, without texts. */
export interface SpecVersionsResponse {
  readonly versions: readonly SpecVersionEntry[];
}

/** GET /v1/tokens. */
export interface TokensResponse {
  readonly tokens: readonly TokenInfo[];
}

/** POST /v1/tokens (201): the only time the token itself is shown. */
export type CreatedToken = TokenInfo & { readonly token: string };

// ---- probes: GET/POST /v1/probes, DELETE /v1/probes/{name}, GET /v1/events

/** One binary of one agent and a probe there. */
export interface ProbeBinaryView {
  readonly agentId: string;
  readonly executable: string;
  readonly buildId?: string;
  /** Processes (`hostname:pid`) it is attached to. */
  readonly attached: readonly string[];
  /** Why it is not attached there: it no longer resolves (no such function, an expression that does not fit), or a limit. */
  readonly error?: string;
  /** Processes where the CPU circuit breaker switched it off, and why. */
  readonly switchedOff?: readonly { readonly process: string; readonly reason: string }[];
}

/** A probe of the current spec and where it stands. */
export interface ProbeView {
  readonly name: string;
  readonly program?: string;
  readonly match?: Readonly<Record<string, string>>;
  /** `main.handle` (entry and inlined copies), `return main.handle`, or `main.go:42`. */
  readonly site: string;
  /** Column -> expression. */
  readonly captures: Readonly<Record<string, string>>;
  readonly condition?: string;
  readonly rateLimit?: { readonly perSecond: number; readonly burst?: number };
  readonly stack: number;
  readonly duration: boolean;
  readonly labels: boolean;
  readonly ttlMs: number;
  readonly maxCpu: number;
  /** The spec version it has been as it is since (its time to live counts from then). */
  readonly since: number;
  readonly expiresAt: string;
  readonly expired: boolean;
  /** Since `since`, over every process: hits, events stored, and what was dropped or refused. */
  readonly totals: {
    readonly hits: number;
    readonly events: number;
    readonly rejected: number;
    readonly rateLimited: number;
    readonly dropped: number;
  };
  readonly binaries: readonly ProbeBinaryView[];
}

/** How probes run on one agent. */
export interface AgentProbeView {
  readonly agentId: string;
  readonly backend: 'bpf' | 'tracefs' | 'none';
  readonly backendNote?: string;
  /** Set while the agent waits, after a crash with probes on, before placing probes. */
  readonly backoffUntil?: string;
}

/** GET /v1/probes. */
export interface ProbesResponse {
  readonly specVersion: number;
  readonly probes: readonly ProbeView[];
  readonly agents: readonly AgentProbeView[];
}

/** POST /v1/probes and DELETE /v1/probes/{name} (200): the spec version made, and the check. */
export type ProbeChangeResponse = SpecSetResponse & { readonly probe: string };

/** One event as GET /v1/events gives it: as the agent sent it, with its cursor and agent. */
export type ProbeEventView = ProbeEventRecord & {
  /** Its cursor: ask for events after it. */
  readonly seq: number;
  readonly agentId: string;
};

/** GET /v1/events: events after the cursor, oldest first, and the cursor to ask from next. */
export interface EventsResponse {
  readonly events: readonly ProbeEventView[];
  readonly next: number;
}

/** One kept request trace (docs/traces.md), with its events in order. */
export type TraceView = TraceRecord & { readonly agentId: string };

/** GET /v1/traces: the latest kept traces, newest first. */
export interface TracesResponse {
  readonly traces: readonly TraceView[];
}

/** GET and POST /v1/session: who is signed in (POST also sets the web app's session cookie). */
export interface SessionResponse {
  /** The token's name. */
  readonly name: string;
  readonly role: Role;
  readonly tokenId: string;
  /** How the request was authenticated. */
  readonly via: 'cookie' | 'bearer';
  /** A session ends after this many minutes without use. */
  readonly idleMinutes: number;
}

/** DELETE /v1/session: the session cookie is removed (whether or not it named a live session). */
export interface SignedOutResponse {
  readonly signedOut: true;
}

/** What a table of the query tables is. */
export type TableKind = 'built-in' | 'function' | 'derived';

/** One table a query can name, with its columns in the scope asked for. */
export interface TableView {
  readonly name: string;
  readonly kind: TableKind;
  /** For a function table: the Go function whose frames are its rows. */
  readonly function?: string;
  /** For a derived table: its SQL. */
  readonly sql?: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

/** GET /v1/tables: the tables of the current spec (built-in first), for the SQL editor. */
export interface TablesResponse {
  readonly tables: readonly TableView[];
  /** Spec tables that could not be built (they are missing from `tables`). */
  readonly warnings: readonly string[];
}

/** POST /v1/tokens/{id}/rotate (201): the new token (shown once) and the old one as it is now. */
export type RotatedToken = CreatedToken & { readonly replaced: TokenInfo };

/** GET /v1/audit: matching entries oldest first (the newest `limit`), and whether the hash chain holds. */
export interface AuditResponse {
  readonly entries: readonly AuditEntry[];
  /** Matching entries, before the limit. */
  readonly total: number;
  readonly integrity: AuditIntegrity;
}

/** GET /v1/spec/function: a function's lines, the variables live at each, and its source when the server can read it. */
export interface FunctionResponse extends FunctionLines {
  /** The agent that read the binary. */
  readonly agentId: string;
  /** The text of the lines (line number → text), when the file is readable on the server's machine. */
  readonly source?: Readonly<Record<string, string>>;
}
