/**
 * The store: where snapshots live and how they are asked about. This module holds only the
 * interface and its plain-data types; `duckdb-store.ts` is the embedded DuckDB implementation.
 * A server may implement the same interface over another backend (see docs/tables.md).
 */
import type { ProcessSnapshot } from '../snapshot/snapshot-types.js';
import type { ProbeBatchInput, ProbeEventQuery, StoredProbeEvent } from './probe-store.js';
import type { ProcessFilter } from './process-filter.js';
import type { StoredTrace, TraceBatchInput, TraceQuery } from './trace-store.js';
import type { BytesColumn } from './varchar-cells.js';

export type { BytesColumn, ProbeBatchInput, ProbeEventQuery, StoredProbeEvent };

import type { RetentionResult, RetentionRule } from './retention.js';

/** A process that was snapshotted, with where it runs. */
export interface StoredProcessInput {
  readonly hostname: string;
  /** Program name (a spec `programs` entry); defaults to the executable's base name. */
  readonly program?: string;
  readonly snapshot: ProcessSnapshot;
}

/** A process that could not be snapshotted: it is kept as a `processes` row with `error`. */
export interface FailedProcessInput {
  readonly hostname: string;
  readonly pid: number;
  readonly program?: string;
  readonly executable?: string;
  readonly error: string;
}

/** Everything one snapshot stores. */
export interface SnapshotInput {
  readonly processes: readonly StoredProcessInput[];
  readonly failed?: readonly FailedProcessInput[];
  readonly labels?: Readonly<Record<string, string>>;
  /** The YAML text of the spec that captured the values ('' for none). */
  readonly specText: string;
  /** Defaults to now. */
  readonly createdAt?: Date;
}

/** One stored snapshot, as listed. */
export interface SnapshotInfo {
  readonly snapshotId: number;
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly specVersion: number | null;
  readonly processes: number;
  readonly goroutines: number;
}

/** One version of the spec. */
export interface SpecVersion {
  readonly version: number;
  readonly createdAt: string;
  readonly author: string;
  readonly yaml: string;
  /** Unified diff against the previous version ('' for the first). */
  readonly diff: string;
}

/** What a query sees: one snapshot (the latest by default) or all of them. */
export type QueryScope = { readonly snapshot: number } | { readonly all: true } | { readonly latest: true };

/** A column of a result: its name and DuckDB type (JSON for structured values). */
export interface ResultColumn {
  readonly name: string;
  readonly type: string;
}

/** Cell values are JSON-ready: numbers, strings, booleans, null, and parsed JSON for JSON columns. */
export type Cell = null | boolean | number | string | Cell[] | { [key: string]: Cell };

/** Rows of a query with their columns and anything the user should know (e.g. a broken derived table). */
export interface QueryResult {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly Cell[])[];
  readonly warnings: readonly string[];
  /** The snapshots the query's tables showed (empty when the store has none). */
  readonly snapshotIds: readonly number[];
}

/** Rows as text (DuckDB's own printing), for a wire protocol that sends text: NULL stays null. */
export interface TextResult {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** The rows of a statement read a chunk (about 2048 rows) at a time, for answers too large to hold whole. */
export interface TextStream {
  readonly columns: readonly ResultColumn[];
  /** The next rows, column by column, each value as DuckDB prints it; undefined after the last. */
  next(): Promise<TextChunk | undefined>;
}

/**
 * Rows of a TextStream, column by column: DuckDB reads a chunk a column at a time faster than
 * a row at a time. A column is its cells' UTF-8 bytes (a column given a `CellSql` expression)
 * or each value as DuckDB prints it (`columns[c][r]`).
 */
export interface TextChunk {
  readonly rowCount: number;
  readonly columns: readonly (BytesColumn | readonly (string | null)[])[];
}

/** A VARCHAR SQL expression of a column's value `ref` (`#1`), or undefined to have the value as DuckDB prints it. */
export type CellSql = (column: ResultColumn, ref: string) => string | undefined;

/** A connection whose tables show one scope: set up once, then as many queries as wanted. */
export interface QuerySession {
  readonly snapshotIds: readonly number[];
  /** Parts of the spec that could not be built (their tables are missing). */
  readonly warnings: readonly string[];
  /** Runs one read-only SQL statement. */
  query(sql: string): Promise<QueryResult>;
  /** Runs one read-only statement with `$n` parameters given as text, each value as DuckDB prints it. */
  queryText(sql: string, params?: readonly (string | null)[]): Promise<TextResult>;
  /** As queryText, the rows read as they are wanted (a PostgreSQL client's large answer); `cellSql` columns as bytes. */
  streamText(sql: string, params?: readonly (string | null)[], cellSql?: CellSql): Promise<TextStream>;
  /** The columns and parameter count of one read-only statement, without running it. */
  describe(sql: string): Promise<{ readonly columns: readonly ResultColumn[]; readonly params: number }>;
  /**
   * Runs the statements that follow in time zone `iana` (an IANA name DuckDB knows): the
   * zone of a text cast to TIMESTAMPTZ, of `date_trunc`, `extract(hour …)` and casts of a
   * TIMESTAMPTZ to DATE. A PostgreSQL connection's `TimeZone`; this session's alone.
   */
  setTimeZone(iana: string): Promise<void>;
  /**
   * Runs the statements that follow in one read-only DuckDB transaction, until `unpin`: they
   * see the store as it is now, whatever is written meanwhile (a PostgreSQL client's REPEATABLE
   * READ block). A statement that fails at run time aborts it (DuckDB's rule): the views built
   * in it are then gone, and the session should be closed rather than unpinned.
   */
  pin(): Promise<void>;
  /** Ends what `pin` began. */
  unpin(): Promise<void>;
  /** Stops the statement running now, which then fails (a PostgreSQL client's cancel request). */
  interrupt(): void;
  /** Releases the connection. */
  close(): void;
}

/** Formats a snapshot can be exported in. */
export type ExportFormat = 'duckdb' | 'parquet';

/** What an import did. */
export interface ImportResult {
  readonly snapshotId: number;
  /** Set when the snapshot's id was already used here and it got a new one. */
  readonly originalId?: number;
  /** Spec versions that came along (into a store that had none). */
  readonly specVersionsImported: number;
}

/** What `setSpec` did. */
export interface SetSpecResult {
  readonly version: number;
  /** False when the text was the current version already. */
  readonly changed: boolean;
  /**
   * Derived tables or links that could not be built over the stored data, as
   * `FILE:LINE:COLUMN: why`: stored anyway because forced (or unchanged).
   */
  readonly warnings: readonly string[];
}

/** Options of `setSpec`. */
export interface SetSpecOptions {
  /** Store it even though derived tables or links do not build (they are left out of queries). */
  readonly force?: boolean;
}

/** A problem of a spec's SQL against the stored tables, at its place in the spec file. */
export interface SpecSqlProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A binary that stored snapshots were taken of (the server checks a new spec against it too). */
export interface StoredBinary {
  readonly buildId?: string;
  readonly executable: string;
  readonly goVersion?: string;
  /** Hosts its processes ran on. */
  readonly hostnames: readonly string[];
  /** The newest snapshot that holds it. */
  readonly lastSnapshot: number;
}

/** A standing investigation as stored: its definition (the JSON a user sent) and state. */
export interface InvestigationRecord {
  readonly id: number;
  readonly name: string;
  /** The name of the token that added it. */
  readonly owner: string;
  readonly question: string;
  readonly notes: string;
  /** The definition as JSON text. */
  readonly definition: string;
  readonly createdAt: string;
  readonly closedAt?: string;
  readonly closedBy?: string;
  /** Firings so far. */
  readonly fires: number;
  readonly lastFiredAt?: string;
}

/** A firing when it starts: which investigation, when, and what triggered it. */
export interface FiringInput {
  readonly investigationId: number;
  readonly investigation: string;
  readonly firedAt: string;
  /** The trigger's kind (schedule, sql, probe, slow, error). */
  readonly trigger: string;
  /** What the trigger saw (the probe event's seq, the signal, the condition's snapshot). */
  readonly detail: Readonly<Record<string, unknown>>;
  /** The process it came from (`hostname:pid`, as `processes.process_id`). */
  readonly process?: string;
  readonly goroutine?: number;
  readonly requestId?: string;
  readonly traceKept: boolean;
}

/** What a firing's actions did, filled in as they finish. */
export interface FiringPatch {
  readonly snapshotId?: number;
  readonly reportRows?: number;
  /** The webhook's outcome: `200`, or why it failed. */
  readonly webhook?: string;
  readonly error?: string;
}

/** A firing as listed. */
export interface FiringRecord {
  readonly id: number;
  readonly firedAt: string;
  readonly trigger: string;
  readonly process?: string;
  readonly goroutine?: number;
  readonly requestId?: string;
  readonly snapshotId?: number;
  readonly traceKept: boolean;
  readonly reportRows: number;
  readonly webhook?: string;
  readonly error?: string;
}

/** One row of a report query (or the query's error, with no row). */
export interface ReportRowInput {
  readonly firingId: number;
  readonly investigationId: number;
  readonly snapshotId?: number;
  readonly requestId?: string;
  readonly query: string;
  readonly rowNumber: number;
  /** The row as an object of column names to cells. */
  readonly row?: Readonly<Record<string, Cell>>;
  readonly error?: string;
}

/** A storage backend for snapshots, the spec history and SQL over them. */
export interface Store {
  /** Where the data lives (a directory for DuckDB), for messages. */
  readonly location: string;
  /**
   * A counter bumped by every write that can change a view (snapshots, spec, retention,
   * import, compaction, investigations, a probe batch bringing a value type not seen before):
   * a session kept open rebuilds its views once it moved. Probe batches of known types and
   * trace batches leave it: their rows are seen through the views a session has.
   */
  readonly generation: number;
  /** Stores a snapshot and returns its id. */
  addSnapshot(input: SnapshotInput): Promise<number>;
  /** Every snapshot, oldest first. */
  listSnapshots(only?: ProcessFilter): Promise<SnapshotInfo[]>;
  /**
   * Runs one read-only SQL statement over the tables of the current spec; with `only` (a token
   * limited to programs), every table shows only those processes' rows.
   */
  query(sql: string, scope: QueryScope, only?: ProcessFilter): Promise<QueryResult>;
  /** Opens a session for many queries over one scope (the tables are set up once). */
  session(scope: QueryScope, only?: ProcessFilter): Promise<QuerySession>;
  /** What a goroutine links to and is linked from, through the current spec's links. */
  links(
    snapshotId: number,
    processId: string,
    goroutineId: number,
    only?: ProcessFilter,
  ): Promise<QueryResult>;
  /** The current spec version, if any was set. */
  currentSpec(): Promise<SpecVersion | undefined>;
  /** One spec version. */
  specVersion(version: number): Promise<SpecVersion | undefined>;
  /** Every spec version, oldest first. */
  specLog(): Promise<SpecVersion[]>;
  /**
   * Validates and records a new spec version (if the text changed); refuses (SpecError) a spec
   * whose derived tables or links do not build over the stored data, unless forced.
   */
  setSpec(yaml: string, author: string, source: string, opts?: SetSpecOptions): Promise<SetSpecResult>;
  /**
   * Builds a spec's tables over every stored snapshot on a throw-away connection and returns
   * the derived tables and links that do not build; throws SpecError for a spec that cannot be
   * stored at all (syntax, names, cycles). Stores nothing.
   */
  checkSpec(yaml: string, source: string): Promise<SpecSqlProblem[]>;
  /** The distinct binaries of stored snapshots (processes that were captured). */
  storedBinaries(): Promise<StoredBinary[]>;
  /** Writes one snapshot as a standalone DuckDB file or a directory of Parquet files. */
  exportSnapshot(snapshotId: number, format: ExportFormat, out: string): Promise<void>;
  /** Reads a snapshot written by exportSnapshot. */
  importSnapshot(path: string): Promise<ImportResult>;
  /** Appends what an agent's probes saw (events get increasing `seq` numbers); returns the last seq. */
  addProbeBatch(batch: ProbeBatchInput): Promise<number>;
  /** Probe events after a cursor (`seq`), oldest first. */
  probeEvents(q: ProbeEventQuery): Promise<StoredProbeEvent[]>;
  /** Appends what an agent's request traces kept and counted. */
  addTraceBatch(batch: TraceBatchInput): Promise<void>;
  /** The latest kept traces with their events, newest first. */
  traces(q: TraceQuery): Promise<StoredTrace[]>;
  /**
   * Calls `fn` when probe events stored by others become readable (the scaled-out store: other
   * servers' batches); a store only this server writes has none.
   */
  onProbeEvents?(fn: () => void): void;
  /** The process ids whose probe data a token limited by `only` sees: the same rule as its probe tables. */
  visibleProbeProcesses(only: ProcessFilter): Promise<Set<string>>;
  /** Why one process's rows cannot be stored (wrong value types, missing parts); undefined when they can. */
  processProblem(p: StoredProcessInput): Promise<string | undefined>;
  /** Deletes the processes (and snapshots left empty) older than their program's retention rule. */
  applyRetention(rules: readonly RetentionRule[], now?: Date): Promise<RetentionResult>;
  /** Gives deleted space back to the file system; returns the file's size before and after, bytes. */
  compact(): Promise<{ before: number; after: number }>;
  /** Deletes whole snapshots (a schedule's retention); returns the ids that existed. */
  deleteSnapshots(ids: readonly number[]): Promise<number[]>;
  /** Adds a standing investigation; returns its id. */
  addInvestigation(
    r: Omit<InvestigationRecord, 'id' | 'fires' | 'lastFiredAt' | 'closedAt' | 'closedBy'>,
  ): Promise<number>;
  /** Marks an investigation closed. */
  closeInvestigation(id: number, by: string, at: Date): Promise<void>;
  /** Every investigation with its number of firings, oldest first. */
  investigations(): Promise<InvestigationRecord[]>;
  /** Records a firing as it starts; returns its id. */
  addFiring(f: FiringInput): Promise<number>;
  /** Completes a firing with what its actions did. */
  patchFiring(id: number, p: FiringPatch): Promise<void>;
  /** Stores the rows of a firing's report. */
  addReportRows(rows: readonly ReportRowInput[]): Promise<void>;
  /** The latest firings of an investigation, newest first. */
  firings(investigationId: number, limit: number): Promise<FiringRecord[]>;
  /**
   * Takes no more work and releases the store (files, locks, connections) once what runs on it
   * has ended (the scaled-out store writes what it buffered first). Resolves with what still
   * ran after `waitMs` (default: no bound), left to end by itself; empty when all ended.
   */
  close(waitMs?: number): Promise<string[]>;
}
