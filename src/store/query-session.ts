/**
 * A query session on the DuckDB store: its own connection, on which each read-only statement
 * gets the views it names (and what those read) built before it runs, and kept for the next.
 * `periscope query` uses one session per query; a server or a benchmark keeps one open for many.
 */
import type {
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBMaterializedResult,
  DuckDBPreparedStatement,
  DuckDBType,
  DuckDBValue,
} from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import { linkNoteWarnings, linksOfGoroutine } from './links-query.js';
import type { ProcessFilter } from './process-filter.js';
import { tablesOfQuery } from './query-tables.js';
import { QueryViews } from './query-views.js';
import { prepareReadOnly, sqlError } from './read-only-sql.js';
import { resultCells } from './result-cells.js';
import { checkScopedSql } from './scoped-sql.js';
import { literal } from './sql-text.js';
import type {
  CellSql,
  QueryResult,
  QueryScope,
  QuerySession,
  ResultColumn,
  TextChunk,
  TextResult,
  TextStream,
} from './store.js';
import { varcharBytes } from './varchar-cells.js';

function columnsOf(names: readonly string[], types: readonly DuckDBType[]): ResultColumn[] {
  return names.map((name, i) => ({ name, type: types[i]!.alias === 'JSON' ? 'JSON' : types[i]!.toString() }));
}

/** Values (a row, or a column of a chunk) as DuckDB prints them. */
function textValues(values: readonly DuckDBValue[]): (string | null)[] {
  return values.map((v) => (v === null || v === undefined ? null : String(v)));
}

/** A prepared statement's columns before it runs; undefined when DuckDB has not typed them all. */
function preparedColumns(prepared: DuckDBPreparedStatement): ResultColumn[] | undefined {
  try {
    const n = prepared.columnCount;
    return columnsOf(
      Array.from({ length: n }, (_, i) => prepared.columnName(i)),
      Array.from({ length: n }, (_, i) => prepared.columnType(i)),
    );
  } catch {
    return undefined;
  }
}

/** Binds `$n` parameters as text. */
function bindText(prepared: DuckDBPreparedStatement, params: readonly (string | null)[]): void {
  try {
    if (params.length !== prepared.parameterCount)
      throw new PeriscopeError(
        'bad-usage',
        `the statement has ${prepared.parameterCount} parameters; ${params.length} were given`,
      );
    params.forEach((v, i) => {
      if (v === null) prepared.bindNull(i + 1);
      else prepared.bindVarchar(i + 1, v);
    });
  } catch (e) {
    throw sqlError(e);
  }
}

/** The spec a session's views are built from, and notes for the user about it. */
export interface SessionSpec {
  readonly spec: EffectiveSpec;
  readonly notes: readonly string[];
}

/** The tables the links of a goroutine read. */
const LINK_TABLES = {
  names: new Set(['links', 'goroutines', 'frames', 'link_notes', 'processes']),
  ctes: new Set<string>(),
};

/** How many prepared statements (and last runs, by text) a session keeps (the least recently used goes first). */
const KEPT_STATEMENTS = 64;

/**
 * The most rows a statement returned last time for it to be run whole (`run()`: one call into
 * DuckDB, then its chunks read synchronously) instead of streamed (`stream()` and a
 * `fetchChunk()` per chunk plus one for the end, each a hop through libuv's thread pool).
 * One vector: a small result is at most one chunk in memory either way. Run whole, it is
 * bounded to SMALL_ROWS + 1 rows (see streamText, smallBound), so that it never holds more
 * than that.
 */
const SMALL_ROWS = 2048;

/** The bounds of a statement run whole (see smallBound): what it returns past SMALL_ROWS + 1 rows is not read. */
const LIMIT = `LIMIT ${SMALL_ROWS + 1}`;
const QUALIFY = `QUALIFY row_number() OVER () <= ${SMALL_ROWS + 1}`;

/** How a statement's cells are read by streamText (cellsOf). */
interface Cells {
  readonly cellSql?: CellSql;
  /** The statement's columns, known before it runs. */
  readonly typed?: readonly ResultColumn[] | undefined;
  /** The statement wrapped to print its cells in DuckDB (undefined: no cell is printed so). */
  readonly wrapped?: DuckDBPreparedStatement | undefined;
  /** The text of that wrapping, a SELECT of the cells (`#1` for a cell as DuckDB prints it); with `typed`. */
  readonly wrappedText?: string;
  /** Which columns of the wrapped statement come as bytes. */
  readonly asBytes: readonly boolean[];
}

const NO_CELLS: Cells = { asBytes: [] };

/** What a statement returned the last time it was read to its end: how many rows, and its columns' names. */
interface LastRun {
  readonly rows: number;
  readonly names: readonly string[];
}

/** A chunk's rows as text, the columns of `asBytes` as their bytes; undefined at the end. */
function textChunk(chunk: DuckDBDataChunk | null, asBytes: readonly boolean[]): TextChunk | undefined {
  if (!chunk || chunk.rowCount === 0) return undefined;
  const rows = chunk.rowCount;
  return {
    rowCount: rows,
    columns: Array.from({ length: chunk.columnCount }, (_, i) =>
      asBytes[i] ? varcharBytes(chunk, i, rows) : textValues(chunk.getColumnValues(i)),
    ),
  };
}

/** The DuckDB QuerySession, with the links lookup beside it. */
export class DuckDBQuerySession implements QuerySession {
  private notes: readonly string[] = [];
  /** Statements prepared on this session, by their text. */
  private readonly statements = new Map<string, DuckDBPreparedStatement>();
  /** Statements wrapped for streamText, by the wrapping text (null: DuckDB does not take it). */
  private readonly wrapped = new Map<string, DuckDBPreparedStatement | null>();
  /** How a statement known small is bounded, by its text (smallBound). */
  private readonly bounds = new Map<string, string>();
  /** What a statement (by its text) returned the last time it was read to its end. */
  private readonly lastRuns = new Map<string, LastRun>();
  /** How a prepared statement's cells are read (cellsOf). */
  private readonly cells = new WeakMap<DuckDBPreparedStatement, Cells>();
  /** The time zone the connection was set to (setTimeZone); undefined: DuckDB's default, the server's. */
  private timeZone: string | undefined;

  private constructor(
    private readonly conn: DuckDBConnection,
    private views: QueryViews,
    private readonly scoped: boolean,
  ) {}

  /**
   * Connects and resolves the scope; `loadSpec` is called the first time a query names a
   * table of the spec (a query of built-in tables never parses it), and its notes then join
   * the warnings of every result. With `only` (a token limited to programs) the session shows
   * only those processes, and runs only statements that read nothing but its views.
   */
  static async open(
    instance: DuckDBInstance,
    scope: QueryScope,
    loadSpec: () => Promise<SessionSpec>,
    only?: ProcessFilter,
  ): Promise<DuckDBQuerySession> {
    const conn = await instance.connect();
    try {
      let session: DuckDBQuerySession | undefined;
      let loaded: Promise<SessionSpec> | undefined;
      const views = await QueryViews.open(
        conn,
        scope,
        async () => {
          loaded ??= loadSpec();
          const s = await loaded;
          if (session) session.notes = s.notes;
          return s.spec;
        },
        {},
        only,
      );
      session = new DuckDBQuerySession(conn, views, only !== undefined);
      return session;
    } catch (e) {
      conn.closeSync();
      throw e;
    }
  }

  /** The snapshots the session's tables show. */
  get snapshotIds(): readonly number[] {
    return this.views.snapshotIds;
  }

  /** Notes about the spec and the parts of it that could not be built (so far). */
  get warnings(): readonly string[] {
    return [...this.notes, ...this.views.problems.map((p) => p.message)];
  }

  private result(r: Parameters<typeof resultCells>[0]): QueryResult {
    return { ...resultCells(r), warnings: this.warnings, snapshotIds: this.snapshotIds };
  }

  /** Runs one read-only SQL statement. */
  async query(sql: string): Promise<QueryResult> {
    const prepared = await this.prepare(sql);
    try {
      return this.result(await prepared.runAndReadAll());
    } catch (e) {
      throw sqlError(e);
    }
  }

  /** Prepares a statement and binds its `$n` parameters as text (DuckDB casts them to what the statement needs). */
  private async bound(sql: string, params: readonly (string | null)[]): Promise<DuckDBPreparedStatement> {
    const prepared = await this.prepare(sql);
    bindText(prepared, params);
    return prepared;
  }

  /**
   * Runs one read-only statement with `$n` parameters as text, its rows held whole: read as
   * streamText reads them (a statement known small runs whole under its limit, a parameterised
   * one too), values as DuckDB prints them.
   */
  async queryText(sql: string, params: readonly (string | null)[] = []): Promise<TextResult> {
    const s = await this.streamText(sql, params);
    const rows: (string | null)[][] = [];
    for (let c = await s.next(); c; c = await s.next()) {
      const columns = c.columns as readonly (readonly (string | null)[])[];
      for (let r = 0; r < c.rowCount; r++) rows.push(columns.map((col) => col[r] ?? null));
    }
    return { columns: s.columns, rows };
  }

  /**
   * As queryText, the rows read a chunk at a time: a million rows are never all in memory as
   * values. Measured on 200k rows: 555 ms against 778 ms when materialized first (`run()`,
   * then its chunks); a 4-row query takes the same either way (0.88 ms, 0.82 ms).
   *
   * `cellSql` gives, for a column, a VARCHAR expression of its value `ref` (`#1`, `#2`, …):
   * such columns come as bytes (varchar-cells.ts), the statement wrapped in a SELECT of those
   * expressions, so DuckDB prints a chunk's values in bulk instead of JS printing one value
   * object at a time (1M rows of 6 columns over the PostgreSQL port, one run at load 12–15:
   * 1.8 s of CPU and 2.3–2.9 s before, 0.9 s and 0.7–1.1 s after). The others come as DuckDB prints
   * them, as do all columns of a statement with parameters (its column types are known only
   * once they are bound) or one that cannot be wrapped (EXPLAIN).
   *
   * A statement that returned at most SMALL_ROWS rows the last time it was read to its end
   * (by its text, whatever its parameters were) is run whole instead (`materialized`, see
   * runSmall), with `LIMIT SMALL_ROWS + 1` around it (or its like, smallBound): a 4-row query
   * saves two of its three hops through the thread pool, and DuckDB runs an `ORDER BY` under a LIMIT as a top-N
   * instead of a full sort, whose set-up for every run cost more than PostgreSQL's whole answer
   * (a 4-row sorted statement 395–416 us, 220–248 us with the LIMIT, at load 7;
   * docs/performance.md). Most statements return as many rows each time within a session, but
   * probe and trace rows arrive while it is open, and another parameter may select more: a
   * statement that grew past the limit is run again, streamed, so a result held whole is never
   * larger than the limit.
   */
  async streamText(
    sql: string,
    params: readonly (string | null)[] = [],
    cellSql?: CellSql,
  ): Promise<TextStream & { readonly materialized: boolean }> {
    const small = await this.runSmall(sql, params, params.length === 0 ? cellSql : undefined);
    if (small) return small;
    const prepared = await this.bound(sql, params);
    const { typed, wrapped, asBytes } = await this.cellsOf(
      sql,
      prepared,
      params.length === 0 ? cellSql : undefined,
    );
    const statement = wrapped ?? prepared;
    try {
      // Never run, large last time, or grown past the limit since: streamed, as it is.
      const stream = await statement.stream();
      const columns = wrapped && typed ? typed : columnsOf(stream.columnNames(), stream.columnTypes());
      let seen = 0;
      return {
        columns,
        materialized: false,
        next: async () => {
          try {
            const chunk = textChunk(await stream.fetchChunk(), asBytes);
            if (chunk) seen += chunk.rowCount;
            else
              this.keep(this.lastRuns, sql, {
                rows: seen,
                names: columns.map((c) => c.name),
              });
            return chunk;
          } catch (e) {
            throw sqlError(e);
          }
        },
      };
    } catch (e) {
      throw sqlError(e);
    }
  }

  /**
   * Runs a statement known small (it returned at most SMALL_ROWS rows the last time it was
   * read to its end) whole, under `LIMIT SMALL_ROWS + 1` (or its like, smallBound): its cells
   * wrapping when it has one, else `SELECT * FROM (…)` (a statement with parameters: they are bound to the wrapping,
   * whose `$n` are the statement's). Its columns are the statement's: those typed before it
   * ran, else the names of its last run (a `SELECT *` renames a repeated name, `a` to `a_1`)
   * with the types of this one (a parameter's type is known once bound). The wrapping is
   * kept by its text, and kept only once the statement passed the read-only checks in this
   * session: a parameterised statement known small is neither checked nor prepared again.
   * Undefined: not known small, DuckDB does not take the wrapping, or it hit the limit (it
   * is then streamed).
   */
  private async runSmall(
    sql: string,
    params: readonly (string | null)[],
    cellSql: CellSql | undefined,
  ): Promise<(TextStream & { readonly materialized: boolean }) | undefined> {
    const last = this.kept(this.lastRuns, sql);
    if (last === undefined || last.rows > SMALL_ROWS) return undefined;
    const cells = cellSql ? await this.cellsOf(sql, await this.prepare(sql), cellSql) : NO_CELLS;
    const base = cells.wrappedText ?? `SELECT * FROM (\n${sql}\n) AS periscope_cells`;
    // Checked in this session before it is explained, and before its wrapping is prepared.
    if (!this.bounds.has(sql)) await this.prepare(sql);
    const text = `${base}\n${await this.smallBound(sql, base, params)}`;
    if (!this.wrapped.has(text)) await this.prepare(sql);
    const small = await this.prepareWrapped(text);
    if (!small) return undefined;
    bindText(small, params);
    let r: DuckDBMaterializedResult;
    try {
      r = await small.run();
    } catch (e) {
      throw sqlError(e);
    } finally {
      // A kept statement would hold its values (up to 4 MiB a message) until its next run.
      if (params.length > 0) small.clearBindings();
    }
    this.keep(this.lastRuns, sql, { rows: r.rowCount, names: last.names });
    if (r.rowCount > SMALL_ROWS) return undefined;
    const columns =
      cells.typed ??
      (last.names.length === r.columnCount
        ? columnsOf(last.names, r.columnTypes())
        : columnsOf(r.columnNames(), r.columnTypes()));
    const count = r.chunkCount;
    let next = 0;
    return {
      columns,
      materialized: true,
      next: async () => {
        try {
          return next < count ? textChunk(r.getChunk(next++), cells.asBytes) : undefined;
        } catch (e) {
          throw sqlError(e);
        }
      },
    };
  }

  /**
   * How a statement known small is bounded (by its text; chosen the first time it runs so):
   * `LIMIT`, unless DuckDB would plan that LIMIT as a late materialization (the row ids
   * limited first, then the rows fetched again by a semi join on them and sorted back into
   * order: what it does for a LIMIT of more than 63 rows over a table's scan without an ORDER
   * BY), whose three pipelines cost 4-5x the statement itself (4 rows of `snapshots`: 564-618
   * us against 118-142 us unbounded, docs/performance.md); then `QUALIFY row_number() OVER ()`,
   * a streaming window that keeps the first rows in the statement's order as LIMIT does (but
   * reads on to the end: a statement that grew large is read whole once more before it is
   * streamed). An ordered statement keeps LIMIT: DuckDB runs it as a top-N. The plan is read once with
   * EXPLAIN (its parameters bound), which only plans the statement, already checked.
   */
  private async smallBound(sql: string, base: string, params: readonly (string | null)[]): Promise<string> {
    const kept = this.kept(this.bounds, sql);
    if (kept !== undefined) return kept;
    let bound = LIMIT;
    try {
      const explain = await this.conn.prepare(`EXPLAIN ${base}\n${LIMIT}`);
      try {
        bindText(explain, params);
        const plan = (await explain.runAndReadAll()).getRows().map((r) => String(r[1]));
        if (plan.some((p) => /rowid = rowid/.test(p)) && !/rowid/i.test(sql)) bound = QUALIFY;
      } finally {
        explain.destroySync();
      }
    } catch {
      // Not explained (DuckDB refused it): LIMIT, which is right either way.
    }
    this.keep(this.bounds, sql, bound);
    return bound;
  }

  /**
   * How a statement's cells are read: its columns before it runs, the statement wrapped to
   * print them (undefined: read as DuckDB prints values) and which columns come as bytes;
   * kept with the prepared statement (a kept statement is given again and again), with the
   * `cellSql` it was made for.
   */
  private async cellsOf(
    sql: string,
    prepared: DuckDBPreparedStatement,
    cellSql: CellSql | undefined,
  ): Promise<Cells> {
    if (!cellSql) return NO_CELLS;
    const kept = this.cells.get(prepared);
    if (kept?.cellSql === cellSql) return kept;
    const typed = preparedColumns(prepared);
    const exprs = typed ? typed.map((c, i) => cellSql(c, `#${i + 1}`)) : [];
    // The statement already passed the read-only checks as one statement; the newlines keep a
    // trailing `-- comment` from swallowing the closing parenthesis.
    const list = exprs.map((e, i) => e ?? `#${i + 1}`).join(', ');
    const wrappedText = typed ? `SELECT ${list} FROM (\n${sql}\n) AS periscope_cells` : undefined;
    const wrapped =
      wrappedText && exprs.some((e) => e !== undefined) ? await this.prepareWrapped(wrappedText) : undefined;
    const cells: Cells = {
      cellSql,
      typed,
      wrapped,
      ...(wrappedText ? { wrappedText } : {}),
      // Without a wrapping, no cell is printed in DuckDB (or DuckDB did not take it: streamed as is).
      asBytes: wrapped ? exprs.map((e) => e !== undefined) : [],
    };
    this.cells.set(prepared, cells);
    return cells;
  }

  /** A statement wrapped around a checked one (kept by its text); undefined when DuckDB does not take it. */
  private async prepareWrapped(text: string): Promise<DuckDBPreparedStatement | undefined> {
    let prepared = this.kept(this.wrapped, text);
    if (prepared === undefined) {
      prepared = await this.conn.prepare(text).catch(() => null);
      this.keep(this.wrapped, text, prepared);
    }
    return prepared ?? undefined;
  }

  /** The columns and parameter count of one read-only statement, without running it. */
  async describe(sql: string): Promise<{ columns: ResultColumn[]; params: number }> {
    const prepared = await this.prepare(sql);
    const n = prepared.columnCount;
    const names = Array.from({ length: n }, (_, i) => prepared.columnName(i));
    const types = Array.from({ length: n }, (_, i) => prepared.columnType(i));
    return { columns: columnsOf(names, types), params: prepared.parameterCount };
  }

  /**
   * The prepared statement of `sql`, kept (without parameters) for the next time the session is given the same text
   * (a dashboard's refresh, a driver's repeated statement): it passed the checks and has its
   * views already. A 4-row query over the PostgreSQL port spent most of its time in the
   * checks and the prepare (docs/performance.md).
   */
  private async prepare(sql: string): Promise<DuckDBPreparedStatement> {
    const kept = this.kept(this.statements, sql);
    if (kept) return kept;
    const prepared = await this.prepareNew(sql);
    // Not one with parameters: once bound and run, DuckDB's column types of `$2 AS s` change
    // (a later Describe of it failed with "Unexpected type id: 0", seen with JDBC).
    if (prepared.parameterCount === 0) this.keep(this.statements, sql, prepared);
    return prepared;
  }

  /** A kept entry, made the most recently used. */
  private kept<T>(cache: Map<string, T>, key: string): T | undefined {
    const v = cache.get(key);
    if (v !== undefined) {
      cache.delete(key);
      cache.set(key, v);
    }
    return v;
  }

  private keep<T>(cache: Map<string, T>, key: string, value: T): void {
    cache.delete(key);
    if (cache.size >= KEPT_STATEMENTS) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }

  private async prepareNew(sql: string): Promise<DuckDBPreparedStatement> {
    return prepareReadOnly(this.conn, sql, async () => {
      if (this.scoped) await checkScopedSql(this.conn, sql);
      await this.views.build(await this.views.viewsFor(await tablesOfQuery(this.conn, sql)));
    }).catch(async (e: unknown) => {
      // A view the statement reads in a way the name search missed (a view built without a
      // view it reads failed, too): build every view again from scratch, and prepare again.
      if (!this.views.complete && /Catalog Error/.test((e as Error).message)) {
        this.views = this.views.anew();
        this.statements.clear();
        this.wrapped.clear();
        await this.views.build('all');
        return prepareReadOnly(this.conn, sql);
      }
      throw e;
    });
  }

  /** What a goroutine links to and is linked from; the links that cannot resolve somewhere are in its warnings. */
  async links(processId: string, goroutineId: number): Promise<QueryResult> {
    await this.views.build(await this.views.viewsFor(LINK_TABLES));
    const r = this.result(await linksOfGoroutine(this.conn, processId, goroutineId));
    const notes = await linkNoteWarnings(this.conn);
    return notes.length > 0 ? { ...r, warnings: [...r.warnings, ...notes] } : r;
  }

  /**
   * Sets DuckDB's `TimeZone` on this session's connection (a setting of the connection: other
   * sessions keep theirs). Statements prepared in another zone are prepared again: DuckDB
   * binds a kept statement's zone into it (`CAST('2024-01-01' AS TIMESTAMPTZ)`, `extract(hour
   * …)` gave the old zone's answer after the SET).
   */
  async setTimeZone(iana: string): Promise<void> {
    if (iana === this.timeZone) return;
    try {
      await this.conn.run(`SET TimeZone = ${literal(iana)}`);
    } catch (e) {
      throw new PeriscopeError(
        'bad-usage',
        `DuckDB does not know the time zone ${iana} (${(e as Error).message.split('\n')[0]}); set another one (SET TimeZone = 'UTC')`,
      );
    }
    this.timeZone = iana;
    this.statements.clear();
    this.wrapped.clear();
  }

  /** Begins a read-only transaction on this session's connection (QuerySession.pin). */
  async pin(): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION READ ONLY');
  }

  /** Ends pin's transaction (it wrote nothing but the views built in it, which stay). */
  async unpin(): Promise<void> {
    await this.conn.run('COMMIT');
  }

  /** Stops the statement running now on this session's connection. */
  interrupt(): void {
    this.conn.interrupt();
  }

  /** Closes the connection. */
  close(): void {
    this.conn.closeSync();
  }
}
