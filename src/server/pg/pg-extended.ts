/**
 * The extended query protocol of one connection: Parse, Bind, Describe (statement or
 * portal), Execute (with a row limit: PortalSuspended), Close; its prepared statements and
 * portals. A portal's rows are read from DuckDB as its Executes send them (pg-cursor.ts), as
 * PostgreSQL's are. Sync and Flush are the connection's (pg-connection.ts); portals end at
 * Sync outside a transaction block, when a block ends, and when a savepoint set before them is
 * rolled back to (pg-transaction.ts), as in PostgreSQL. As there, a named portal or statement
 * is not replaced (42P03, 42P05: Close it first; the unnamed ones are), a portal run to its end
 * gives no more rows (`SELECT 0`; a command's portal, or one whose run failed, cannot be run
 * again: 55000), and in a failed block, Parse, Bind and Execute of a statement that does not
 * end it are refused (25P02).
 */
import { describeStatement } from './pg-answer.js';
import { binaryParamText } from './pg-binary.js';
import { RowCursor } from './pg-cursor.js';
import { PgFault } from './pg-errors.js';
import { type BodyReader, empty, parameterDescription, rowDescription } from './pg-messages.js';
import { cellWriters, formatOf } from './pg-rows.js';
import type { PgLink, RunAnswer, StatementRunner } from './pg-runner.js';
import { splitStatements } from './pg-split.js';
import type { BlockPortals } from './pg-transaction.js';

interface Portal {
  readonly sql: string;
  readonly params: readonly (string | null)[];
  /** The Bind's result format codes (0 text, 1 binary). */
  readonly formats: readonly number[];
  /** Its statement's answer, once run: rows held or a cursor, whose rows the next Executes send. */
  answer?: RunAnswer;
  /** Held rows sent so far. */
  sent: number;
  /** The savepoint level it was opened at (pg-transaction.ts): rolled back to below it, it ends. */
  depth: number;
  /** Whether it can be run: not once a command ran in it or its run failed, as in PostgreSQL (55000). */
  runnable: boolean;
}

/** The prepared statements and portals of a connection, and the messages that use them. */
export class ExtendedProtocol implements BlockPortals {
  /** Prepared statements: their SQL and the parameter types the client declared (0: unspecified). */
  private readonly statements = new Map<
    string,
    { readonly sql: string; readonly types: readonly number[] }
  >();
  private readonly portals = new Map<string, Portal>();

  constructor(
    private readonly link: PgLink,
    private readonly runner: StatementRunner,
  ) {}

  /** Handles one message of type `type` (P, B, D, E, C); throws a PgFault to fail the batch. */
  async handle(type: string, r: BodyReader): Promise<void> {
    switch (type) {
      case 'P':
        return await this.parse(r);
      case 'B':
        return this.bind(r);
      case 'D':
        return this.describe(r);
      case 'E':
        return this.execute(r);
      case 'C': {
        const kind = String.fromCharCode(r.bytes(1)[0]!);
        const name = r.cstring();
        if (kind === 'S') this.statements.delete(name);
        else this.closePortal(name);
        this.link.send(empty('3'));
        return;
      }
      default:
        throw new PgFault('08P01', `message type "${type}" is not supported`);
    }
  }

  private async parse(r: BodyReader): Promise<void> {
    const name = r.cstring();
    const sql = r.cstring();
    // PostgreSQL's order: what the parser finds, then the failed block, then the name.
    if (splitStatements(sql).length > 1)
      throw new PgFault('42601', 'cannot insert multiple commands into a prepared statement');
    await this.runner.checkFailedBlock(sql);
    if (name !== '' && this.statements.has(name))
      throw new PgFault(
        '42P05',
        `prepared statement "${name}" already exists; Close it first (or use the unnamed statement, which is replaced)`,
      );
    const nTypes = r.int16();
    const types = Array.from({ length: nTypes }, () => r.int32());
    this.statements.set(name, { sql, types });
    this.link.send(empty('1'));
  }

  private bind(r: BodyReader): void {
    const portal = r.cstring();
    const stmt = r.cstring();
    const prepared = this.statements.get(stmt);
    if (prepared === undefined) throw new PgFault('26000', `prepared statement "${stmt}" does not exist`);
    const { sql, types } = prepared;
    this.link.transaction.check(sql);
    const nFormats = r.int16();
    const formats = Array.from({ length: nFormats }, () => r.int16());
    const n = r.int16();
    const params: (string | null)[] = [];
    for (let i = 0; i < n; i++) {
      const len = r.int32();
      const format = formats.length === 1 ? formats[0] : formats[i];
      if (len < 0) params.push(null);
      else if (format === 1) params.push(binaryParamText(types[i] ?? 0, r.bytes(len)));
      else params.push(r.bytes(len).toString('utf8'));
    }
    const nResult = r.int16();
    const resultFormats = Array.from({ length: nResult }, () => r.int16());
    // A named portal lives until Close, Sync outside a block or the block's end: it is not replaced.
    if (portal !== '' && this.portals.has(portal))
      throw new PgFault(
        '42P03',
        `portal "${portal}" already exists; Close it first (or use the unnamed portal, which is replaced)`,
      );
    this.closePortal(portal);
    this.portals.set(portal, {
      sql,
      params,
      formats: resultFormats,
      sent: 0,
      depth: this.link.transaction.depth,
      runnable: true,
    });
    this.link.send(empty('2'));
  }

  private async describe(r: BodyReader): Promise<void> {
    const kind = String.fromCharCode(r.bytes(1)[0]!);
    const name = r.cstring();
    if (kind === 'S') {
      const sql = this.statements.get(name)?.sql;
      if (sql === undefined) throw new PgFault('26000', `prepared statement "${name}" does not exist`);
      if (splitStatements(sql).length === 0) {
        this.link.send(parameterDescription(0), empty('n'));
        return;
      }
      const d = await describeStatement(
        await this.runner.open(),
        sql,
        this.link.timeZone,
        this.link.transaction.isolation,
      );
      this.link.send(parameterDescription(d.params), d.columns ? rowDescription(d.columns) : empty('n'));
      return;
    }
    const p = this.portals.get(name);
    if (!p) throw new PgFault('34000', `portal "${name}" does not exist`);
    // Without parameters, the columns come without running it: Execute runs the statement.
    // With parameters, DuckDB types the columns only once they are bound: it starts now, and
    // the portal keeps its cursor (no row read yet) for Execute to send the rows.
    if (!p.answer && p.params.length > 0)
      await this.runner.run(
        p.sql,
        p.params,
        async (a) => {
          p.answer = a;
        },
        true,
      );
    const d =
      p.answer ??
      (splitStatements(p.sql).length === 0
        ? 'empty'
        : await describeStatement(
            await this.runner.open(),
            p.sql,
            this.link.timeZone,
            this.link.transaction.isolation,
          ));
    const columns = d === 'empty' ? undefined : 'columns' in d ? d.columns : undefined;
    if (!columns) this.link.send(empty('n'));
    else {
      cellWriters(columns, p.formats); // refuses a binary column it cannot encode, before any row
      this.link.send(rowDescription(columns, (i) => formatOf(p.formats, i)));
    }
  }

  private async execute(r: BodyReader): Promise<void> {
    const name = r.cstring();
    const max = r.int32();
    const p = this.portals.get(name);
    if (!p) throw new PgFault('34000', `portal "${name}" does not exist`);
    // A portal suspended before its block failed gives no more rows (25P02), as in PostgreSQL.
    this.link.transaction.check(p.sql);
    if (!p.runnable) throw new PgFault('55000', `portal "${name}" cannot be run`);
    try {
      if (p.answer) await this.sendExecuted(p, p.answer, max);
      // The portal keeps the answer: a later Execute goes on where this one stopped, or, once
      // the rows are all sent, gives none. With a row limit (PortalSuspended, more Executes to
      // come) a cursor outlives the run; without, it is read to its end (and closed) in it.
      else
        await this.runner.run(
          p.sql,
          p.params,
          async (a) => {
            p.answer = a;
            await this.sendExecuted(p, a, max);
          },
          max > 0,
        );
    } catch (e) {
      p.runnable = false;
      throw e;
    }
  }

  /** Ends every portal (at Sync outside a block, when a block ends, when the connection closes), their cursors' runs with them. */
  closePortals(): void {
    for (const name of [...this.portals.keys()]) this.closePortal(name);
  }

  closePortalsAfter(depth: number): void {
    for (const [name, p] of [...this.portals]) if (p.depth > depth) this.closePortal(name);
  }

  releasePortals(depth: number): void {
    for (const p of this.portals.values()) p.depth = Math.min(p.depth, depth);
  }

  private closePortal(name: string): void {
    const p = this.portals.get(name);
    if (p?.answer instanceof RowCursor) p.answer.close();
    this.portals.delete(name);
  }

  /** Sends what an Execute of a portal gives: rows from where the last one stopped, up to `max` (0: all). */
  private async sendExecuted(p: Portal, a: RunAnswer, max: number): Promise<void> {
    // The RowDescription came with Describe; Execute sends rows only.
    if (a === 'empty') this.link.send(empty('I'));
    else if ('command' in a) {
      this.runner.sendCommand(a.command);
      p.runnable = false;
    } else p.sent = await this.runner.sendRows(a, p.sent, max, p.formats);
  }
}
