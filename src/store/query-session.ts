/**
 * A query session on the DuckDB store: its own connection with the scope's views built once,
 * then read-only statements one at a time. `periscope query` uses one session per query; a
 * server or a benchmark keeps one open for many.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import { linkNoteWarnings, linksOfGoroutine } from './links-query.js';
import { createQueryViews } from './query-views.js';
import { prepareReadOnly, sqlError } from './read-only-sql.js';
import { resultCells } from './result-cells.js';
import type { QueryResult, QueryScope, QuerySession } from './store.js';

/** The DuckDB QuerySession, with the links lookup beside it. */
export class DuckDBQuerySession implements QuerySession {
  private constructor(
    private readonly conn: DuckDBConnection,
    readonly snapshotIds: readonly number[],
    readonly warnings: readonly string[],
  ) {}

  /** Connects and builds the views of `spec` over `scope`; `notes` join the warnings of every result. */
  static async open(
    instance: DuckDBInstance,
    spec: EffectiveSpec,
    scope: QueryScope,
    notes: readonly string[] = [],
  ): Promise<DuckDBQuerySession> {
    const conn = await instance.connect();
    try {
      const built = await createQueryViews(conn, spec, scope);
      return new DuckDBQuerySession(conn, built.snapshotIds, [
        ...notes,
        ...built.problems.map((p) => p.message),
      ]);
    } catch (e) {
      conn.closeSync();
      throw e;
    }
  }

  private result(r: Parameters<typeof resultCells>[0]): QueryResult {
    return { ...resultCells(r), warnings: this.warnings, snapshotIds: this.snapshotIds };
  }

  /** Runs one read-only SQL statement. */
  async query(sql: string): Promise<QueryResult> {
    const prepared = await prepareReadOnly(this.conn, sql);
    try {
      return this.result(await prepared.runAndReadAll());
    } catch (e) {
      throw sqlError(e);
    }
  }

  /** What a goroutine links to and is linked from; the links that cannot resolve somewhere are in its warnings. */
  async links(processId: string, goroutineId: number): Promise<QueryResult> {
    const r = this.result(await linksOfGoroutine(this.conn, processId, goroutineId));
    const notes = await linkNoteWarnings(this.conn);
    return notes.length > 0 ? { ...r, warnings: [...r.warnings, ...notes] } : r;
  }

  /** Closes the connection. */
  close(): void {
    this.conn.closeSync();
  }
}
