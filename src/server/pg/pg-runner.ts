/**
 * How a connection runs statements: its store query session (kept from statement to
 * statement, opened again once the store changed), each statement audited as a query of the
 * HTTP API is, and answers sent as RowDescription, DataRows and CommandComplete, written in
 * batches that wait for the socket to drain.
 */
import { auditText } from '../../store/audit-log.js';
import type { QueryScope, QuerySession } from '../../store/store.js';
import type { TokenInfo } from '../../store/token-types.js';
import { actorOf, failure } from '../audit.js';
import type { ServerContext } from '../context.js';
import { tokenFilter } from '../program-scope.js';
import { type Answer, answerStatement, type Rows, type StreamedRows } from './pg-answer.js';
import { PgFault } from './pg-errors.js';
import { commandComplete, empty, parameterStatus, rowDescription } from './pg-messages.js';
import { cellWriters, RowBatch } from './pg-rows.js';
import { type SetOutcome, setStatement } from './pg-set.js';
import { commandTag, splitStatements } from './pg-split.js';
import { type PgTimeZone, serverTimeZone } from './pg-timezone.js';

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
  /** Makes `zone` the connection's time zone ('default': the one it started with); returns it. */
  setTimeZone(zone: PgTimeZone | 'default'): PgTimeZone;
  /** Queues messages; they are written at ReadyForQuery, Flush, or once 64 KiB are queued. */
  send(...b: Buffer[]): void;
  /** Queues, and once 64 KiB are queued writes and waits for the socket to drain when its buffer is full; false once the client is gone. */
  write(b: Buffer): Promise<boolean>;
}

/** Runs a connection's statements and sends their answers. */
export class StatementRunner {
  private session: QuerySession | undefined;
  /** The store's generation when the session was opened. */
  private sessionGeneration = -1;

  constructor(private readonly link: PgLink) {}

  /**
   * The connection's session, kept from statement to statement (its views built and its
   * statements prepared once) until the store changes: then it is opened again, so that
   * `latest` is the newest snapshot and the spec's tables are the current spec's. It runs in
   * the connection's time zone.
   */
  async open(): Promise<QuerySession> {
    const { ctx } = this.link;
    const generation = ctx.store.generation;
    if (this.session && this.sessionGeneration !== generation) this.close();
    if (!this.session) {
      this.session = await ctx.store.session(this.link.scope, tokenFilter(this.link.token));
      this.sessionGeneration = generation;
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

  /** Stops the statement running on the session now. */
  interrupt(): void {
    this.session?.interrupt();
  }

  /** Releases the session. */
  close(): void {
    try {
      this.session?.close();
    } catch {
      // Its connection went with the database a compaction closed.
    }
    this.session = undefined;
  }

  /**
   * Runs one statement through the session and hands its answer to `deliver` (which sends
   * it), audited as a query of the HTTP API is: with the rows delivered, or the error.
   * `stream`: rows are read from DuckDB as they are sent.
   */
  async run(
    sql: string,
    params: readonly (string | null)[],
    stream: boolean,
    deliver: (a: Answer) => Promise<void>,
  ): Promise<void> {
    if (splitStatements(sql).length === 0) return deliver('empty');
    const link = this.link;
    const asked = { sql: auditText(sql), scope: link.scope, protocol: 'postgresql' };
    const audit = (outcome: 'ok' | 'error', details: Record<string, unknown>): void => {
      link.ctx.audit.append({
        action: 'query',
        actor: actorOf(link.token),
        source: link.source,
        outcome,
        details: { ...asked, ...details },
      });
    };
    let set: SetOutcome | undefined;
    try {
      set = setStatement(sql);
    } catch (e) {
      audit('error', failure(e));
      throw e;
    }
    if (set?.timeZone) {
      const zone = link.setTimeZone(set.timeZone);
      return deliver({ command: { tag: set.tag, report: ['TimeZone', zone.name] } });
    }
    if (set) return deliver({ command: set });
    const session = await this.open();
    if (link.cancelled) throw new PgFault('57014', 'canceling statement due to user request');
    try {
      let rowCount = 0;
      const answer = await answerStatement(session, sql, params, stream, link.timeZone);
      if (answer !== 'empty' && 'stream' in answer) {
        const source = answer.stream;
        const counted = async () => {
          const chunk = await source.next();
          rowCount += chunk?.rowCount ?? 0;
          return chunk;
        };
        await deliver({ columns: answer.columns, stream: { columns: source.columns, next: counted } });
      } else {
        if (answer !== 'empty' && 'rows' in answer) rowCount = answer.rows.length;
        await deliver(answer);
      }
      audit('ok', { rowCount, snapshotIds: session.snapshotIds });
    } catch (e) {
      audit('error', failure(e));
      if (link.cancelled) throw new PgFault('57014', 'canceling statement due to user request');
      throw e;
    }
  }

  /** Sends an answer of the simple query protocol: RowDescription, rows and CommandComplete. */
  async sendAnswer(a: Answer): Promise<void> {
    if (a === 'empty') this.link.send(empty('I'));
    else if ('command' in a) this.sendCommand(a.command);
    else {
      this.link.send(rowDescription(a.columns));
      await this.sendRows(a, 0, 0);
    }
  }

  /** Sends the CommandComplete of an accepted SET (and the ParameterStatus it reports). */
  sendCommand(c: SetOutcome): void {
    this.link.send(commandComplete(c.tag), ...(c.report ? [parameterStatus(c.report[0], c.report[1])] : []));
  }

  /**
   * Sends rows [from, from + max) (all when max is 0) and the CommandComplete or
   * PortalSuspended after them; writes in batches of about 64 KiB and waits for the socket
   * to drain between them, so a million-row answer neither queues unbounded nor builds one
   * huge buffer. Returns where it stopped.
   */
  async sendRows(
    a: Rows | StreamedRows,
    from: number,
    max: number,
    formats: readonly number[] = [],
  ): Promise<number> {
    const cells = cellWriters(a.columns, formats);
    const batch = new RowBatch();
    if ('stream' in a) {
      let n = 0;
      for (let chunk = await a.stream.next(); chunk; chunk = await a.stream.next()) {
        // A chunk (2048 rows, about 150 KiB in the benchmark) is written at once.
        batch.addChunk(chunk, cells);
        n += chunk.rowCount;
        if (batch.size >= 65_536 && !(await this.link.write(batch.take()))) return n;
      }
      batch.append(commandComplete(commandTag(n)));
      await this.link.write(batch.take());
      return n;
    }
    const end = max > 0 ? Math.min(a.rows.length, from + max) : a.rows.length;
    for (let i = from; i < end; i++) {
      batch.add(a.rows[i]!, cells);
      if (batch.size >= 65_536 && !(await this.link.write(batch.take()))) return end;
    }
    batch.append(end < a.rows.length ? empty('s') : commandComplete(commandTag(end - from)));
    await this.link.write(batch.take());
    return end;
  }
}
