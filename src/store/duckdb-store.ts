/**
 * The embedded store: one DuckDB file in a data directory. Writers (snapshot, spec set,
 * import, and export, which attaches a new DuckDB file or writes Parquet files) open it
 * read-write; readers (query, links) open it read-only, with file access and extension
 * loading switched off, so user SQL cannot change or leave the store.
 * DuckDB never downloads extensions here (autoinstall and autoload are off).
 *
 * What only some uses need is imported when first used (the spec parser and YAML, ingest,
 * export and import): `periscope query` over built-in tables loads none of it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import { waitAtMost } from '../common/wait-at-most.js';
import { DB_FILE } from './data-dir.js';
import { DuckDBInstance } from './duckdb-api.js';
import type { ProbeWriteState } from './probe-store.js';
import type { ProcessFilter } from './process-filter.js';
import { DuckDBQuerySession } from './query-session.js';
import { createQueryViews } from './query-views.js';
import type { RetentionResult, RetentionRule } from './retention.js';
import { ensureSchema, SCHEMA_VERSION, schemaVersion } from './schema.js';
import { addVersion, readVersions, versionOfText } from './spec-history.js';
import type {
  ExportFormat,
  FiringInput,
  FiringPatch,
  FiringRecord,
  ImportResult,
  InvestigationRecord,
  ProbeBatchInput,
  ProbeEventQuery,
  QueryResult,
  QueryScope,
  ReportRowInput,
  SetSpecOptions,
  SetSpecResult,
  SnapshotInfo,
  SnapshotInput,
  SpecSqlProblem,
  SpecVersion,
  Store,
  StoredBinary,
  StoredProbeEvent,
  StoredProcessInput,
} from './store.js';
import type { StoredTrace, TraceBatchInput, TraceQuery } from './trace-store.js';

/** How to open a store. */
export interface OpenOptions {
  /** Open for reading only (queries, links); the default opens for writing (export needs it too). */
  readonly readOnly?: boolean;
  /** How long to wait for another Periscope process that holds the store (default 10 s). */
  readonly waitMs?: number;
  /**
   * Switch DuckDB's file access off for a writable store too (a served store: user SQL then
   * cannot read the server's files). Export and import need file access and are refused.
   */
  readonly noExternalAccess?: boolean;
}

const NO_DOWNLOADS = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };

async function openInstance(
  file: string,
  readOnly: boolean,
  noFiles: boolean,
  waitMs: number,
): Promise<DuckDBInstance> {
  // No file access. A store opened to read (`periscope query`) also has its configuration
  // locked; a served store does not: its query sessions set their own connection's TimeZone
  // (a PostgreSQL client's), and DuckDB refuses to switch file access back on while it runs
  // anyway. User SQL never sets anything: only reading statements pass (read-only-sql.ts).
  const locked: Record<string, string> = noFiles
    ? { enable_external_access: 'false', ...(readOnly ? { lock_configuration: 'true' } : {}) }
    : {};
  const options: Record<string, string> = {
    ...NO_DOWNLOADS,
    ...locked,
    ...(readOnly ? { access_mode: 'READ_ONLY' } : ({} as Record<string, string>)),
  };
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await DuckDBInstance.create(file, options);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!/lock/i.test(msg)) throw new PeriscopeError('corrupt', `cannot open the store ${file}: ${msg}`);
      if (Date.now() >= deadline) {
        const holder = /PID (\d+)/.exec(msg)?.[1];
        throw new PeriscopeError(
          'timeout',
          `the store ${file} is in use by another process${holder ? ` (PID ${holder})` : ''}; wait for it to finish and try again`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The embedded DuckDB implementation of Store. */
export class DuckDBStore implements Store {
  private constructor(
    readonly location: string,
    private instance: DuckDBInstance,
    private conn: DuckDBConnection,
    private readonly readOnly: boolean,
    private readonly noFiles: boolean,
  ) {}

  private changes = 0;

  /** Bumped by every write: a session kept open (the PostgreSQL port's) is stale once it moved. */
  get generation(): number {
    return this.changes;
  }

  /** Set while compact() has the file closed. */
  private compacting: Promise<void> | undefined;
  /** Operations running on the connection (compact() waits for none). */
  private busy = 0;
  private readonly idle: (() => void)[] = [];
  /** Marks calls made from inside an operation, which must not wait for a compaction. */
  private readonly inside = new AsyncLocalStorage<true>();

  /** Runs an operation on the store's connection, after a compaction in progress (nested calls pass through). */
  private async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return fn();
    while (this.compacting) await this.compacting;
    if (this.closed)
      throw new PeriscopeError(
        'unsupported',
        `the store at ${this.location} is closed (its server is stopping)`,
      );
    this.busy++;
    try {
      return await this.inside.run(true, fn);
    } finally {
      if (--this.busy === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /**
   * Why one process's rows cannot be stored (a value of the wrong type, a missing part), found
   * by writing them into a scratch in-memory database the way addSnapshot would; undefined
   * when they can. For finding the culprit after a failed addSnapshot.
   */
  async processProblem(p: StoredProcessInput): Promise<string | undefined> {
    const { writeSnapshot } = await import('./ingest.js');
    const instance = await DuckDBInstance.create(':memory:', NO_DOWNLOADS);
    const conn = await instance.connect();
    try {
      await ensureSchema(conn);
      await writeSnapshot(conn, 1, { processes: [p], specText: '' }, null);
      return undefined;
    } catch (e) {
      return (e instanceof Error ? e.message : String(e)).slice(0, 500);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  }

  /** Deletes the processes (and snapshots left empty) that the retention rules no longer keep. */
  async applyRetention(rules: readonly RetentionRule[], now = new Date()): Promise<RetentionResult> {
    return this.use(async () => {
      this.writable('deleting old snapshots');
      const { deleteExpired } = await import('./retention.js');
      // Its own transaction; it may delete facts of processes the probe writer remembers as written.
      const result = await this.serial(() => deleteExpired(this.conn, rules, now));
      await this.probeChain;
      this.probeState = undefined;
      return result;
    });
  }

  /**
   * Gives deleted space back to the file system by rewriting the database file (see
   * retention.ts). Operations in progress finish first and new ones wait until it is done;
   * a session kept open across it (session(), not query()) fails.
   */
  async compact(): Promise<{ before: number; after: number }> {
    this.writable('compacting the store');
    const { compactStore } = await import('./retention.js');
    while (this.compacting) await this.compacting;
    let done = (): void => undefined;
    this.compacting = new Promise<void>((resolve) => {
      done = resolve;
    });
    // Sessions kept open lose their connection with the file: they open again.
    this.changes++;
    try {
      // Operations in progress finish first; new ones wait in use() until the store is back.
      while (this.busy > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      const file = join(this.location, DB_FILE);
      await this.conn.run('CHECKPOINT');
      this.conn.closeSync();
      this.instance.closeSync();
      try {
        return await compactStore(file);
      } finally {
        this.instance = await openInstance(file, false, this.noFiles, 10_000);
        this.conn = await this.instance.connect();
      }
    } finally {
      this.compacting = undefined;
      done();
    }
  }

  /** Opens (creating when writing) the store in a data directory. */
  static async open(dir: string, opts: OpenOptions = {}): Promise<DuckDBStore> {
    const file = join(dir, DB_FILE);
    const readOnly = opts.readOnly === true;
    if (readOnly && !existsSync(file))
      throw new PeriscopeError(
        'not-found',
        `no store in ${dir} yet; take a snapshot with \`periscope snapshot --pid PID\` (or give --data DIR)`,
      );
    if (!readOnly) mkdirSync(dir, { recursive: true });
    const noFiles = readOnly || opts.noExternalAccess === true;
    const instance = await openInstance(file, readOnly, noFiles, opts.waitMs ?? 10_000);
    const conn = await instance.connect();
    try {
      if (!readOnly) await ensureSchema(conn);
      const v = await schemaVersion(conn);
      if (v !== SCHEMA_VERSION)
        throw new PeriscopeError(
          'unsupported',
          `${file} has store schema "${v}"; this Periscope uses ${SCHEMA_VERSION}`,
        );
    } catch (e) {
      conn.closeSync();
      instance.closeSync();
      throw e instanceof PeriscopeError
        ? e
        : new PeriscopeError('corrupt', `${file}: ${(e as Error).message}`);
    }
    return new DuckDBStore(dir, instance, conn, readOnly, noFiles);
  }

  private writable(what: string, files = false): void {
    if (this.readOnly)
      throw new PeriscopeError(
        'bad-usage',
        `${what} needs the store in ${this.location} opened for writing; it was opened read-only`,
      );
    if (files && this.noFiles)
      throw new PeriscopeError(
        'unsupported',
        `${what} needs file access, which this store has switched off; run it with the CLI on the data directory (${this.location})`,
      );
  }

  /**
   * Runs `fn` when the writes queued before it are done. One connection, one transaction at a
   * time: probe batches arrive every second while a snapshot is stored, and a second BEGIN on
   * the connection fails and aborts the first.
   */
  private serial<T>(fn: () => Promise<T>, moved: () => boolean = () => true): Promise<T> {
    // A write that changes no view's definition (`moved` false after it succeeded) leaves the
    // generation: the new rows are seen through the views sessions already have.
    const run = (
      this.onConnNow.getStore() ? fn() : this.writes.then(() => this.onConnNow.run(true, fn))
    ).then(
      (out) => {
        if (moved()) this.changes++;
        return out;
      },
      (e: unknown) => {
        this.changes++;
        throw e;
      },
    );
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async transaction<T>(fn: () => Promise<T>, moved?: () => boolean): Promise<T> {
    return this.serial(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      try {
        const out = await fn();
        await this.conn.run('COMMIT');
        return out;
      } catch (e) {
        await this.conn.run('ROLLBACK');
        throw e;
      }
    }, moved);
  }

  /** The last operation queued on `conn` (writes and its reads run one after another). */
  private writes: Promise<unknown> = Promise.resolve();
  /** Set while a queued operation runs on `conn`: what it calls runs at once, not queued behind itself. */
  private readonly onConnNow = new AsyncLocalStorage<true>();

  /**
   * Runs a read on the store's connection in the queue of its writes. One DuckDB connection runs
   * one statement and one transaction at a time: a read that came while a write's transaction
   * was open ran inside it (seeing rows that could still be rolled back), or closed the result a
   * write was streaming ("Attempting to execute an unsuccessful or closed pending query result").
   */
  private read<T>(fn: () => Promise<T>): Promise<T> {
    return this.use(() => {
      if (this.onConnNow.getStore()) return fn();
      const run = this.writes.then(() => this.onConnNow.run(true, fn));
      this.writes = run.catch(() => undefined);
      return run;
    });
  }

  /** Stores a snapshot and returns its id. */
  async addSnapshot(input: SnapshotInput): Promise<number> {
    return this.use(async () => {
      this.writable('storing a snapshot');
      return this.transaction(async () => {
        // Ids are never reused, also after retention deleted the newest snapshots (retention.ts keeps the mark).
        const r = await this.conn.runAndReadAll(
          "SELECT greatest(coalesce(max(snapshot_id), 0), coalesce((SELECT max(value::BIGINT) FROM raw.meta WHERE key = 'max_snapshot_id'), 0)) + 1 FROM raw.snapshots",
        );
        const id = Number(r.getRows()[0]![0]);
        const version = input.specText === '' ? null : await versionOfText(this.conn, input.specText);
        const { writeSnapshot } = await import('./ingest.js');
        await writeSnapshot(this.conn, id, input, version);
        return id;
      });
    });
  }

  /** Every snapshot, oldest first. */
  async listSnapshots(only?: ProcessFilter): Promise<SnapshotInfo[]> {
    if (only) {
      // The snapshots that hold a visible process, counting only those (as the `snapshots` view does).
      const r = await this.query(
        `SELECT snapshot_id, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS at, labels, spec_version, process_count, goroutine_count FROM snapshots ORDER BY snapshot_id`,
        { all: true },
        only,
      );
      return r.rows.map(([id, at, labels, v, p, g]) => ({
        snapshotId: Number(id),
        createdAt: String(at),
        labels: (labels ?? {}) as Record<string, string>,
        specVersion: v === null ? null : Number(v),
        processes: Number(p),
        goroutines: Number(g),
      }));
    }
    return this.read(async () => {
      const r = await this.conn.runAndReadAll(
        `SELECT snapshot_id, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), labels, spec_version, process_count, goroutine_count FROM raw.snapshots ORDER BY snapshot_id`,
      );
      return r.getRowsJS().map(([id, at, labels, v, p, g]) => ({
        snapshotId: Number(id),
        createdAt: String(at),
        labels: JSON.parse(String(labels)) as Record<string, string>,
        specVersion: v === null ? null : Number(v),
        processes: Number(p),
        goroutines: Number(g),
      }));
    });
  }

  /** Opens a session: a connection whose views show `scope`, for many queries. */
  async session(scope: QueryScope, only?: ProcessFilter): Promise<DuckDBQuerySession> {
    return this.use(async () => {
      return DuckDBQuerySession.open(
        this.instance,
        scope,
        async () => {
          const { specForScope } = await import('./scope-spec.js');
          return this.read(() => specForScope(this.conn, scope));
        },
        only,
      );
    });
  }

  /** Runs one read-only SQL statement over the tables of the current spec. */
  async query(sql: string, scope: QueryScope, only?: ProcessFilter): Promise<QueryResult> {
    return this.use(async () => {
      const s = await this.session(scope, only);
      try {
        return await s.query(sql);
      } finally {
        s.close();
      }
    });
  }

  /** What a goroutine links to and is linked from. */
  async links(
    snapshotId: number,
    processId: string,
    goroutineId: number,
    only?: ProcessFilter,
  ): Promise<QueryResult> {
    return this.use(async () => {
      const s = await this.session({ snapshot: snapshotId }, only);
      try {
        return await s.links(processId, goroutineId);
      } finally {
        s.close();
      }
    });
  }

  /** The current spec version, if any. */
  async currentSpec(): Promise<SpecVersion | undefined> {
    return this.read(async () => (await readVersions(this.conn, 'current'))[0]);
  }

  /** One spec version. */
  async specVersion(version: number): Promise<SpecVersion | undefined> {
    return this.read(async () => (await readVersions(this.conn, version))[0]);
  }

  /** Every spec version, oldest first. */
  async specLog(): Promise<SpecVersion[]> {
    return this.read(() => readVersions(this.conn));
  }

  /** Builds the spec's tables over every stored snapshot on a throw-away connection; returns what does not build. */
  async checkSpec(yaml: string, source: string): Promise<SpecSqlProblem[]> {
    return this.use(async () => {
      const [{ effectiveSpecOfText }, { SpecError }] = await Promise.all([
        import('../spec/effective-spec.js'),
        import('../spec/spec-parse.js'),
      ]);
      const spec = effectiveSpecOfText(yaml, source);
      const conn = await this.instance.connect();
      try {
        const built = await createQueryViews(conn, spec, { all: true }, { check: true });
        const issues = built.problems.map((p) => ({
          line: p.at?.line ?? 1,
          column: p.at?.column ?? 1,
          message: p.message,
        }));
        const fatal = issues.filter((p) => /cycle|built-in|key column/.test(p.message));
        if (fatal.length > 0) throw new SpecError(source, fatal);
        return issues;
      } finally {
        conn.closeSync();
      }
    });
  }

  /**
   * Validates (YAML, names, derived-table cycles, the SQL of derived tables and links over the
   * stored data) and records a new spec version; SQL that does not build refuses the spec
   * unless `force` (then each problem is a warning and that table is left out of queries).
   */
  async setSpec(
    yaml: string,
    author: string,
    source: string,
    opts: SetSpecOptions = {},
  ): Promise<SetSpecResult> {
    return this.use(async () => {
      this.writable('setting the spec');
      const { issueText, SpecError } = await import('../spec/spec-parse.js');
      const problems = await this.checkSpec(yaml, source);
      const current = (await this.read(() => readVersions(this.conn, 'current')))[0];
      if (problems.length > 0 && opts.force !== true && current?.yaml !== yaml)
        throw new SpecError(
          source,
          problems,
          `${source} was not stored: ${problems.length === 1 ? 'a derived table or link does' : `${problems.length} derived tables or links do`} not build over the stored tables (fix the spec, or store it anyway with --force):`,
        );
      const { version, changed } = await this.transaction(() => addVersion(this.conn, yaml, author));
      return { version, changed, warnings: problems.map((p) => issueText(source, p)) };
    });
  }

  /** The distinct binaries of stored snapshots (processes that were captured), newest first. */
  async storedBinaries(): Promise<StoredBinary[]> {
    return this.read(async () => {
      const r = await this.conn.runAndReadAll(
        'SELECT build_id, executable, any_value(go_version), list(DISTINCT hostname ORDER BY hostname), max(snapshot_id) AS last ' +
          'FROM raw.processes WHERE error IS NULL AND executable IS NOT NULL GROUP BY build_id, executable ORDER BY last DESC, executable',
      );
      return r.getRowsJS().map(([buildId, executable, goVersion, hosts, last]) => ({
        ...(buildId ? { buildId: String(buildId) } : {}),
        executable: String(executable),
        ...(goVersion ? { goVersion: String(goVersion) } : {}),
        hostnames: ((hosts as unknown[] | null) ?? []).map(String),
        lastSnapshot: Number(last),
      }));
    });
  }

  /** Writes one snapshot as a DuckDB file or a directory of Parquet files (exportWithNotes says what was left out). */
  async exportSnapshot(snapshotId: number, format: ExportFormat, out: string): Promise<void> {
    await this.exportWithNotes(snapshotId, format, out);
  }

  /** exportSnapshot, returning the spec tables that could not be exported and why. */
  async exportWithNotes(snapshotId: number, format: ExportFormat, out: string): Promise<string[]> {
    return this.use(async () => {
      this.writable('exporting a snapshot', true);
      const [{ specForScope }, { exportSnapshot }] = await Promise.all([
        import('./scope-spec.js'),
        import('./export-import.js'),
      ]);
      const { spec } = await this.read(() => specForScope(this.conn, { snapshot: snapshotId }));
      const conn = await this.instance.connect();
      try {
        return await exportSnapshot(conn, spec, snapshotId, format, out);
      } finally {
        conn.closeSync();
      }
    });
  }

  /** Reads a snapshot written by exportSnapshot. */
  async importSnapshot(path: string): Promise<ImportResult> {
    return this.use(async () => {
      this.writable('importing a snapshot', true);
      const { importSnapshot } = await import('./export-import.js');
      return importSnapshot(this.conn, path, (fn) => this.transaction(fn));
    });
  }

  private probeState: Promise<{ seq: number } & ProbeWriteState> | undefined;
  private probeChain: Promise<unknown> = Promise.resolve();

  /** Appends a batch of probe data; events get the next seq numbers. Returns the last seq. */
  async addProbeBatch(batch: ProbeBatchInput): Promise<number> {
    return this.use(() => this.addProbeBatchNow(batch));
  }

  private async addProbeBatchNow(batch: ProbeBatchInput): Promise<number> {
    this.writable('storing probe events');
    const { lastProbeSeq, readValueTypes, writeProbeBatch } = await import('./probe-store.js');
    const run = this.probeChain.then(async () => {
      this.probeState ??= this.read(async () => ({
        seq: await lastProbeSeq(this.conn),
        types: await readValueTypes(this.conn),
        processes: new Map<string, string>(),
      }));
      const state = await this.probeState;
      let next: number;
      try {
        // Only a value type not seen before changes a view (a probe table's typed column):
        // batches of known types leave the generation, so the PostgreSQL port's sessions stay.
        const typesBefore = state.types.size;
        next = await this.transaction(
          () => writeProbeBatch(this.conn, state.seq + 1, batch, state),
          () => state.types.size !== typesBefore,
        );
      } catch (e) {
        this.probeState = undefined; // the types noted for the failed batch: read them again
        throw e;
      }
      state.seq = next - 1;
      return state.seq;
    });
    this.probeChain = run.catch(() => undefined);
    return run;
  }

  /** Probe events after a cursor, oldest first. */
  async probeEvents(q: ProbeEventQuery): Promise<StoredProbeEvent[]> {
    const { readProbeEvents } = await import('./probe-store.js');
    return this.read(() => readProbeEvents(this.conn, q));
  }

  /** Deletes whole snapshots; returns the ids that existed. */
  async deleteSnapshots(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    return this.use(async () => {
      this.writable('deleting snapshots');
      const { deleteSnapshots } = await import('./retention.js');
      return this.serial(() => deleteSnapshots(this.conn, ids)); // its own transaction
    });
  }

  /** Adds a standing investigation; returns its id. */
  async addInvestigation(
    r: Omit<InvestigationRecord, 'id' | 'fires' | 'lastFiredAt' | 'closedAt' | 'closedBy'>,
  ): Promise<number> {
    return this.investigationWrite('adding an investigation', (m) => m.writeInvestigation(this.conn, r));
  }

  /** Marks an investigation closed. */
  async closeInvestigation(id: number, by: string, at: Date): Promise<void> {
    return this.investigationWrite('closing an investigation', (m) => m.writeClosed(this.conn, id, by, at));
  }

  /** Every investigation with its number of firings, oldest first. */
  async investigations(): Promise<InvestigationRecord[]> {
    const m = await import('./investigation-store.js');
    return this.read(() => m.readInvestigations(this.conn));
  }

  /** Records a firing as it starts; returns its id. */
  async addFiring(f: FiringInput): Promise<number> {
    return this.investigationWrite('recording a firing', (m) => m.writeFiring(this.conn, f));
  }

  /** Completes a firing with what its actions did. */
  async patchFiring(id: number, p: FiringPatch): Promise<void> {
    return this.investigationWrite('recording a firing', (m) => m.patchFiring(this.conn, id, p));
  }

  /** Stores the rows of a firing's report. */
  async addReportRows(rows: readonly ReportRowInput[]): Promise<void> {
    if (rows.length === 0) return;
    return this.investigationWrite('storing a report', (m) => m.writeReportRows(this.conn, rows));
  }

  /** The latest firings of an investigation, newest first. */
  async firings(investigationId: number, limit: number): Promise<FiringRecord[]> {
    const m = await import('./investigation-store.js');
    return this.read(() => m.readFirings(this.conn, investigationId, limit));
  }

  private async investigationWrite<T>(
    what: string,
    fn: (m: typeof import('./investigation-store.js')) => Promise<T>,
  ): Promise<T> {
    return this.use(async () => {
      this.writable(what);
      const m = await import('./investigation-store.js');
      return this.transaction(() => fn(m));
    });
  }

  /** Appends what an agent's request traces kept and counted. */
  async addTraceBatch(batch: TraceBatchInput): Promise<void> {
    return this.use(async () => {
      this.writable('storing request traces');
      const { writeTraceBatch } = await import('./trace-store.js');
      // The trace views do not depend on what the rows hold: the generation stays.
      await this.transaction(
        () => writeTraceBatch(this.conn, batch),
        () => false,
      );
    });
  }

  /** The latest kept traces with their events, newest first. */
  async traces(q: TraceQuery): Promise<StoredTrace[]> {
    const { readTraces } = await import('./trace-store.js');
    return this.read(() => readTraces(this.conn, q));
  }

  /** The process ids whose probe data a token limited by `only` sees (process-filter.ts, as the probe views). */
  async visibleProbeProcesses(only: ProcessFilter): Promise<Set<string>> {
    const { visibleProcessIdsSql } = await import('./process-filter.js');
    return this.read(async () => {
      const r = await this.conn.runAndReadAll(visibleProcessIdsSql(only));
      return new Set(r.getRowsJS().map(([id]) => String(id)));
    });
  }

  /**
   * Runs `fn` in one write transaction on the store's connection, after the writes queued
   * before it: the scaled-out store's cache fills and trims its raw tables through this.
   * `moved`, asked after it succeeded: whether it changed what a view is (default yes), for
   * Store.generation.
   */
  async writeRaw<T>(
    what: string,
    fn: (conn: DuckDBConnection) => Promise<T>,
    moved?: () => boolean,
  ): Promise<T> {
    return this.use(async () => {
      this.writable(what);
      return this.transaction(() => fn(this.conn), moved);
    });
  }

  /** Set by close(). */
  private closed = false;
  /** Resolves once the connection and the database are closed. */
  private shut: Promise<void> | undefined;
  /** What close() waits for, named in what it gives up on. */
  private closeWhat = '';

  /**
   * Closes the database: at once when no operation runs on its connection, else as soon as the
   * last one ends (later ones are refused); resolves when it is closed, or after `waitMs` with
   * what still ran (it closes when that ends). Closing a DuckDB connection while a statement
   * runs on it can deadlock that statement's thread for good (DuckDB 1.x destroys the
   * connection's context inside the statement, which holds the context's lock), and with it the
   * process's exit.
   */
  async close(waitMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    if (!this.shut) {
      this.closed = true;
      const busy = this.busy;
      this.closeWhat = `${busy} operation(s) on the DuckDB store at ${this.location}${this.compacting ? ' and its compaction' : ''}`;
      this.shut = new Promise<void>((resolve) => {
        const shut = (): void => {
          // A compaction has the file closed: it reopens it first (use() refuses what waited for it).
          if (this.compacting) return void this.compacting.then(shut);
          if (this.busy > 0) return void this.idle.push(shut);
          this.conn.closeSync();
          this.instance.closeSync();
          resolve();
        };
        shut();
      });
    }
    return waitAtMost([{ what: this.closeWhat, done: this.shut }], waitMs);
  }
}
