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
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import { DB_FILE } from './data-dir.js';
import { DuckDBInstance } from './duckdb-api.js';
import { DuckDBQuerySession } from './query-session.js';
import { createQueryViews } from './query-views.js';
import { ensureSchema, SCHEMA_VERSION, schemaVersion } from './schema.js';
import { addVersion, readVersions, versionOfText } from './spec-history.js';
import type {
  ExportFormat,
  ImportResult,
  QueryResult,
  QueryScope,
  SetSpecOptions,
  SetSpecResult,
  SnapshotInfo,
  SnapshotInput,
  SpecSqlProblem,
  SpecVersion,
  Store,
  StoredBinary,
} from './store.js';

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
  const locked: Record<string, string> = noFiles
    ? { enable_external_access: 'false', lock_configuration: 'true' }
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
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly readOnly: boolean,
    private readonly noFiles: boolean,
  ) {}

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

  private async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.conn.run('COMMIT');
      return out;
    } catch (e) {
      await this.conn.run('ROLLBACK');
      throw e;
    }
  }

  /** Stores a snapshot and returns its id. */
  async addSnapshot(input: SnapshotInput): Promise<number> {
    this.writable('storing a snapshot');
    return this.transaction(async () => {
      const r = await this.conn.runAndReadAll('SELECT coalesce(max(snapshot_id), 0) + 1 FROM raw.snapshots');
      const id = Number(r.getRows()[0]![0]);
      const version = input.specText === '' ? null : await versionOfText(this.conn, input.specText);
      const { writeSnapshot } = await import('./ingest.js');
      await writeSnapshot(this.conn, id, input, version);
      return id;
    });
  }

  /** Every snapshot, oldest first. */
  async listSnapshots(): Promise<SnapshotInfo[]> {
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
  }

  /** Opens a session: a connection whose views show `scope`, for many queries. */
  async session(scope: QueryScope): Promise<DuckDBQuerySession> {
    return DuckDBQuerySession.open(this.instance, scope, async () => {
      const { specForScope } = await import('./scope-spec.js');
      return specForScope(this.conn, scope);
    });
  }

  /** Runs one read-only SQL statement over the tables of the current spec. */
  async query(sql: string, scope: QueryScope): Promise<QueryResult> {
    const s = await this.session(scope);
    try {
      return await s.query(sql);
    } finally {
      s.close();
    }
  }

  /** What a goroutine links to and is linked from. */
  async links(snapshotId: number, processId: string, goroutineId: number): Promise<QueryResult> {
    const s = await this.session({ snapshot: snapshotId });
    try {
      return await s.links(processId, goroutineId);
    } finally {
      s.close();
    }
  }

  /** The current spec version, if any. */
  async currentSpec(): Promise<SpecVersion | undefined> {
    return (await readVersions(this.conn, 'current'))[0];
  }

  /** One spec version. */
  async specVersion(version: number): Promise<SpecVersion | undefined> {
    return (await readVersions(this.conn, version))[0];
  }

  /** Every spec version, oldest first. */
  async specLog(): Promise<SpecVersion[]> {
    return readVersions(this.conn);
  }

  /** Builds the spec's tables over every stored snapshot on a throw-away connection; returns what does not build. */
  async checkSpec(yaml: string, source: string): Promise<SpecSqlProblem[]> {
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
    this.writable('setting the spec');
    const { issueText, SpecError } = await import('../spec/spec-parse.js');
    const problems = await this.checkSpec(yaml, source);
    const current = (await readVersions(this.conn, 'current'))[0];
    if (problems.length > 0 && opts.force !== true && current?.yaml !== yaml)
      throw new SpecError(
        source,
        problems,
        `${source} was not stored: ${problems.length === 1 ? 'a derived table or link does' : `${problems.length} derived tables or links do`} not build over the stored tables (fix the spec, or store it anyway with --force):`,
      );
    const { version, changed } = await addVersion(this.conn, yaml, author);
    return { version, changed, warnings: problems.map((p) => issueText(source, p)) };
  }

  /** The distinct binaries of stored snapshots (processes that were captured), newest first. */
  async storedBinaries(): Promise<StoredBinary[]> {
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
  }

  /** Writes one snapshot as a DuckDB file or a directory of Parquet files (exportWithNotes says what was left out). */
  async exportSnapshot(snapshotId: number, format: ExportFormat, out: string): Promise<void> {
    await this.exportWithNotes(snapshotId, format, out);
  }

  /** exportSnapshot, returning the spec tables that could not be exported and why. */
  async exportWithNotes(snapshotId: number, format: ExportFormat, out: string): Promise<string[]> {
    this.writable('exporting a snapshot', true);
    const [{ specForScope }, { exportSnapshot }] = await Promise.all([
      import('./scope-spec.js'),
      import('./export-import.js'),
    ]);
    const { spec } = await specForScope(this.conn, { snapshot: snapshotId });
    const conn = await this.instance.connect();
    try {
      return await exportSnapshot(conn, spec, snapshotId, format, out);
    } finally {
      conn.closeSync();
    }
  }

  /** Reads a snapshot written by exportSnapshot. */
  async importSnapshot(path: string): Promise<ImportResult> {
    this.writable('importing a snapshot', true);
    const { importSnapshot } = await import('./export-import.js');
    return importSnapshot(this.conn, path, (fn) => this.transaction(fn));
  }

  /** Closes the database. */
  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
