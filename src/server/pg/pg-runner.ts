/**
 * How a connection runs statements: its store query session (kept from statement to
 * statement, opened again once the store changed; kept whatever changes, in one DuckDB read
 * transaction, through a REPEATABLE READ or SERIALIZABLE block), each statement audited as a
 * query of the HTTP API is, and answers sent as RowDescription, DataRows and CommandComplete,
 * written in batches that wait for the socket to drain.
 */
import { auditText } from '../../store/audit-log.js';
import type { QueryScope, QuerySession } from '../../store/store.js';
import type { TokenInfo } from '../../store/token-types.js';
import { actorOf, failure } from '../audit.js';
import type { ServerContext } from '../context.js';
import { tokenFilter } from '../program-scope.js';
import { answerStatement, type Rows } from './pg-answer.js';
import { RowCursor } from './pg-cursor.js';
import { PgFault, pgErrorOf } from './pg-errors.js';
import { commandComplete, empty, errorResponse, parameterStatus, rowDescription } from './pg-messages.js';
import { type CellWriter, cellWriters, RowBatch } from './pg-rows.js';
import { type SetOutcome, setStatement } from './pg-set.js';
import { commandTag, splitStatements } from './pg-split.js';
import { type PgTimeZone, serverTimeZone } from './pg-timezone.js';
import {
  isTransactionStatement,
  type TransactionBlock,
  type TransactionOutcome,
  transactionStatement,
} from './pg-transaction.js';

/** What the runner needs from its connection. */
export interface PgLink {
  readonly ctx: ServerContext;
  readonly scope: QueryScope;
  readonly token: TokenInfo | undefined;
  /** The client's address, for the audit log. */
  readonly source: string;
  /** A cancel request arrived for the work in progress. */
  readonly cancelled: boolean;
  /** The connection's time zone, in which TIMESTAMPTZ values are printed. */
  readonly timeZone: PgTimeZone;
  /** The connection's transaction block. */
  readonly transaction: TransactionBlock;
  /** Makes `zone` the connection's time zone ('default': the one it started with); returns it. */
  setTimeZone(zone: PgTimeZone | 'default'): PgTimeZone;
  /** Queues messages; they are written at ReadyForQuery, Flush, or once 64 KiB are queued. */
  send(...b: Buffer[]): void;
  /** Queues, and once 64 KiB are queued writes and waits for the socket to drain when its buffer is full; false once the client is gone. */
  write(b: Buffer): Promise<boolean>;
}

/**
 * What a run gives to send: rows held (an answer known without DuckDB), a cursor over rows read
 * from DuckDB as they are sent, a command with no rows (an accepted SET, a transaction-control
 * statement), or the empty query.
 */
export type RunAnswer = Rows | RowCursor | { readonly command: SetOutcome | TransactionOutcome } | 'empty';

const CANCELLED = 'canceling statement due to user request';

/** Runs a connection's statements and sends their answers. */
export class StatementRunner {
  private session: QuerySession | undefined;
  /** The store's generation when the session was opened. */
  private sessionGeneration = -1;
  /** The cursor a portal keeps whose rows still come from the session's streaming result. */
  private live: RowCursor | undefined;
  /**
   * Whether the session runs in a DuckDB read transaction for the block in progress (one view
   * of the store: TransactionBlock.holdsView), and whether a statement failed in it (DuckDB
   * may then have aborted it, the views built in it with it).
   */
  private pinned: 'no' | 'yes' | 'failed' = 'no';

  constructor(private readonly link: PgLink) {}

  /**
   * The connection's session, kept from statement to statement (its views built and its
   * statements prepared once) until the store changes: then it is opened again, so that
   * `latest` is the newest snapshot and the spec's tables are the current spec's. In a block
   * that holds one view of the store, it is kept whatever changes, its statements run in one
   * DuckDB read transaction begun at the block's first query. It runs in the connection's
   * time zone.
   */
  async open(): Promise<QuerySession> {
    // Whatever runs next on the session would end a portal's streaming result: its rest is read first.
    const live = this.live;
    this.live = undefined;
    await live?.park();
    const { ctx } = this.link;
    const generation = ctx.store.generation;
    if (this.session && this.pinned === 'no' && this.sessionGeneration !== generation) this.close();
    if (!this.session) {
      this.session = await ctx.store.session(this.link.scope, tokenFilter(this.link.token));
      this.sessionGeneration = generation;
    }
    if (this.pinned === 'no' && this.link.transaction.holdsView) {
      await this.session.pin();
      this.pinned = 'yes';
    }
    // DuckDB's zone-dependent functions in the connection's zone (nothing to do when unchanged).
    // The server's own zone is DuckDB's already: should its ICU not know the name Node gives it,
    // statements still run.
    const zone = this.link.timeZone.iana;
    await this.session.setTimeZone(zone).catch((e: unknown) => {
      if (zone !== serverTimeZone().iana) throw e;
    });
    return this.session;
  }

  /**
   * Throws what PostgreSQL answers a statement of a query string or a Parse in a failed block:
   * its syntax error (42601) when DuckDB's parser refuses it, as PostgreSQL's parser runs
   * before it looks at the block, else 25P02. Nothing to do outside a failed block. The
   * statements this server answers itself (SET, SHOW, the catalog queries, whose text DuckDB
   * need not parse) and transaction control (pg-transaction.ts parses it) are not given to DuckDB.
   */
  async checkFailedBlock(sql: string): Promise<void> {
    const block = this.link.transaction;
    if (block.status !== 'E') return;
    try {
      block.check(sql);
    } catch (aborted) {
      if (isTransactionStatement(sql) || /^\s*(set|reset|show)\s|pg_catalog|information_schema/i.test(sql))
        throw aborted;
      try {
        await (await this.open()).describe(sql);
      } catch (e) {
        const err = pgErrorOf(e);
        if (/Parser Error/.test(err.message)) throw new PgFault('42601', err.message);
      }
      throw aborted;
    }
  }

  /** Stops the statement running on the session now. */
  interrupt(): void {
    this.session?.interrupt();
  }

  /**
   * Ends the DuckDB read transaction of a block that held one view of the store, once the
   * block no longer holds it (COMMIT, ROLLBACK, the next of a chain). After a failure in it the
   * session is closed instead: DuckDB may have aborted the transaction and dropped the views
   * built in it, and the next statement opens a new one.
   */
  private async unpin(): Promise<void> {
    if (this.pinned === 'no' || this.link.transaction.holdsView) return;
    if (this.pinned === 'failed') this.close();
    else {
      this.pinned = 'no';
      await this.session?.unpin();
    }
  }

  /** Releases the session. */
  close(): void {
    this.live = undefined;
    this.pinned = 'no';
    try {
      this.session?.close();
    } catch {
      // Its connection went with the database a compaction closed.
    }
    this.session = undefined;
  }

  /**
   * Runs one statement through the session and hands its answer to `deliver` (which sends
   * it), audited as a query of the HTTP API is: with the rows read, or the error. Rows from
   * DuckDB come as a cursor, read as they are sent; with `keep` (a portal's, whose rows the
   * next Executes send) the cursor outlives the run, and its audit entry comes when it ends
   * or is closed, else when the run does. A statement of a query string (`fromQuery`) is
   * checked as PostgreSQL parses one in a failed block (checkFailedBlock); a portal's was at its Parse.
   */
  async run(
    sql: string,
    params: readonly (string | null)[],
    deliver: (a: RunAnswer) => Promise<void>,
    keep = false,
    fromQuery = false,
  ): Promise<void> {
    if (splitStatements(sql).length === 0) return deliver('empty');
    const link = this.link;
    const asked = { sql: auditText(sql), scope: link.scope, protocol: 'postgresql' };
    let audited = false;
    const audit = (outcome: 'ok' | 'error', details: Record<string, unknown>): void => {
      if (audited) return;
      audited = true;
      link.ctx.audit.append({
        action: 'query',
        actor: actorOf(link.token),
        source: link.source,
        outcome,
        details: { ...asked, ...details },
      });
    };
    let set: SetOutcome | undefined;
    let outcome: TransactionOutcome | undefined;
    try {
      if (fromQuery && link.transaction.status === 'E') await this.checkFailedBlock(sql);
      link.transaction.check(sql);
      const tx = transactionStatement(sql);
      if (tx) outcome = link.transaction.apply(tx);
      else set = setStatement(sql);
      if (set?.isolation?.default) link.transaction.setDefaultLevel(set.isolation.level);
      else if (set?.isolation?.level) link.transaction.setLevel(set.isolation.level);
    } catch (e) {
      audit('error', failure(e));
      // PREPARE TRANSACTION ends the block and fails.
      await this.unpin();
      throw e;
    }
    if (outcome) {
      await this.unpin();
      return deliver({ command: outcome });
    }
    if (set?.timeZone) {
      const zone = link.setTimeZone(set.timeZone);
      return deliver({ command: { tag: set.tag, report: ['TimeZone', zone.name] } });
    }
    if (set) return deliver({ command: set });
    // A SHOW does not fix the block's isolation level, as in PostgreSQL; a query does.
    if (link.transaction.inBlock && !/^\s*show\s/i.test(sql)) link.transaction.query();
    const session = await this.open();
    if (link.cancelled) throw new PgFault('57014', CANCELLED);
    let cursor: RowCursor | undefined;
    try {
      const answer = await answerStatement(session, sql, params, link.timeZone, link.transaction.isolation);
      if (answer !== 'empty' && 'stream' in answer) {
        cursor = new RowCursor(answer.columns, answer.stream, (rowCount, error) => {
          if (error === undefined) return audit('ok', { rowCount, snapshotIds: session.snapshotIds });
          if (this.pinned === 'yes' && this.session === session) this.pinned = 'failed';
          audit('error', failure(error));
        });
        await deliver(cursor);
        if (!keep) cursor.close();
        else if (cursor.streaming) this.live = cursor;
      } else {
        await deliver(answer);
        const rowCount = answer !== 'empty' && 'rows' in answer ? answer.rows.length : 0;
        audit('ok', { rowCount, snapshotIds: session.snapshotIds });
      }
    } catch (e) {
      audit('error', failure(e));
      cursor?.close();
      if (this.pinned === 'yes') this.pinned = 'failed';
      if (link.cancelled) throw new PgFault('57014', CANCELLED);
      throw e;
    }
  }

  /** Sends an answer of the simple query protocol: RowDescription, rows and CommandComplete. */
  async sendAnswer(a: RunAnswer): Promise<void> {
    if (a === 'empty') this.link.send(empty('I'));
    else if ('command' in a) this.sendCommand(a.command);
    else {
      this.link.send(rowDescription(a.columns));
      await this.sendRows(a, 0, 0);
    }
  }

  /**
   * Sends the CommandComplete of an accepted SET (and the ParameterStatus it reports) or
   * transaction-control statement (after the warning it gives).
   */
  sendCommand(c: SetOutcome | TransactionOutcome): void {
    if ('warning' in c && c.warning)
      this.link.send(errorResponse(c.warning.code, c.warning.message, 'WARNING', 'N'));
    this.link.send(
      commandComplete(c.tag),
      ...('report' in c && c.report ? [parameterStatus(c.report[0], c.report[1])] : []),
    );
  }

  /**
   * Sends rows, up to `max` (0: all), and the CommandComplete or, when rows are left,
   * PortalSuspended after them: held rows from `from`, a cursor's from where it stopped.
   * Writes in batches of about 64 KiB and waits for the socket to drain between them, so a
   * million-row answer neither queues unbounded nor builds one huge buffer. Returns where it
   * stopped in held rows (a cursor keeps its own place).
   */
  async sendRows(
    a: Rows | RowCursor,
    from: number,
    max: number,
    formats: readonly number[] = [],
  ): Promise<number> {
    const cells = cellWriters(a.columns, formats);
    if (a instanceof RowCursor) {
      try {
        await this.sendCursor(a, max, cells);
      } catch (e) {
        if (this.link.cancelled) throw new PgFault('57014', CANCELLED);
        throw e;
      }
      return 0;
    }
    const batch = new RowBatch();
    const end = max > 0 ? Math.min(a.rows.length, from + max) : a.rows.length;
    for (let i = from; i < end; i++) {
      batch.add(a.rows[i]!, cells);
      if (batch.size >= 65_536 && !(await this.link.write(batch.take()))) return end;
    }
    // As in PostgreSQL, the limit reached is PortalSuspended even when no row is left.
    batch.append(
      max > 0 && end - from === max ? empty('s') : commandComplete(a.tag ?? commandTag(end - from)),
    );
    await this.link.write(batch.take());
    return end;
  }

  /**
   * Sends a cursor's next rows, up to `max` (0: all); a row limit reached gives PortalSuspended,
   * as in PostgreSQL, which does not look for a row after the last one asked for.
   */
  private async sendCursor(c: RowCursor, max: number, cells: readonly CellWriter[]): Promise<void> {
    const batch = new RowBatch();
    let n = 0;
    for (;;) {
      if (max > 0 && n === max) {
        batch.append(empty('s'));
        break;
      }
      const next = await c.peek();
      if (!next) {
        batch.append(commandComplete(commandTag(n)));
        break;
      }
      // A chunk (2048 rows, about 150 KiB in the benchmark) is written at once, or the part of it within the limit.
      const take = Math.min(next.chunk.rowCount - next.at, max > 0 ? max - n : Number.POSITIVE_INFINITY);
      batch.addChunk(next.chunk, cells, next.at, next.at + take);
      c.advance(take);
      n += take;
      if (batch.size >= 65_536 && !(await this.link.write(batch.take()))) return;
    }
    await this.link.write(batch.take());
  }
}
