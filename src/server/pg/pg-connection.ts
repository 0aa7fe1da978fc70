/**
 * One client connection speaking PostgreSQL protocol 3.0: startup and cleartext-password
 * authentication with a user token, then the simple and the extended query protocol. Every
 * statement runs read-only through a store query session, as POST /v1/query does, and is
 * recorded in the audit log. A failure answers ErrorResponse with a SQLSTATE and the
 * connection stays usable; only a malformed stream or a failed login ends it.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { auditText } from '../../store/audit-log.js';
import type { QueryScope, QuerySession } from '../../store/store.js';
import { roleAllows, type TokenInfo } from '../../store/token-types.js';
import { actorOf, failure } from '../audit.js';
import type { ServerContext } from '../context.js';
import { tokenFilter } from '../program-scope.js';
import {
  type Answer,
  answerStatement,
  describeStatement,
  type Rows,
  type StreamedRows,
} from './pg-answer.js';
import { binaryParamText } from './pg-binary.js';
import { type PgError, PgFault, pgErrorOf } from './pg-errors.js';
import {
  authentication,
  BodyReader,
  backendKeyData,
  type ClientMessage,
  commandComplete,
  empty,
  errorResponse,
  MessageReader,
  parameterDescription,
  parameterStatus,
  readyForQuery,
  rowDescription,
} from './pg-messages.js';
import { cellWriters, formatOf, RowBatch } from './pg-rows.js';
import { type SetOutcome, setStatement } from './pg-set.js';
import { commandTag, splitStatements } from './pg-split.js';
import { loginOf, readStartup, sessionParameters } from './pg-startup.js';

/** What a connection needs from its server. */
export interface PgConnectionOptions {
  readonly ctx: ServerContext;
  /** Switches the socket to TLS after 'S' was written; undefined when the server has no TLS. */
  readonly startTls?: (socket: Socket) => TLSSocket;
  /** Cleartext passwords from other machines without TLS are accepted (--insecure-plain). */
  readonly insecurePlain: boolean;
  /** Registers the connection for cancel requests; returns its key (pid, secret). */
  readonly register: (c: PgConnection) => { pid: number; secret: number };
  readonly unregister: (c: PgConnection) => void;
  /** Handles a CancelRequest packet. */
  readonly cancel: (pid: number, secret: number) => void;
}

interface Portal {
  readonly sql: string;
  readonly params: readonly (string | null)[];
  /** The Bind's result format codes (0 text, 1 binary). */
  readonly formats: readonly number[];
  answer?: Answer;
  sent: number;
}

/** A client connection. */
export class PgConnection {
  private socket: Socket;
  private readonly reader = new MessageReader();
  private queue: Promise<void> = Promise.resolve();
  private state: 'startup' | 'password' | 'ready' | 'closed' = 'startup';
  private tls = false;
  private scope: QueryScope = { latest: true };
  private database = '';
  private user = '';
  private token: TokenInfo | undefined;
  private session: QuerySession | undefined;
  /** The store's generation when the session was opened. */
  private sessionGeneration = -1;
  /** Prepared statements: their SQL and the parameter types the client declared (0: unspecified). */
  private readonly statements = new Map<
    string,
    { readonly sql: string; readonly types: readonly number[] }
  >();
  private readonly portals = new Map<string, Portal>();
  /** Set after an error in an extended-protocol batch: messages are skipped until Sync. */
  private skipping = false;
  /** Whether a query or an extended-protocol batch is in progress (until ReadyForQuery). */
  private busy = false;
  /** A cancel request arrived for the work in progress: what has not started yet fails too. */
  private cancelled = false;

  constructor(
    socket: Socket,
    private readonly opts: PgConnectionOptions,
  ) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      const msgs = this.reader.push(chunk);
      if (typeof msgs === 'string') {
        this.fatal(msgs.startsWith('protocol violation') ? '08P01' : '54000', msgs);
        return;
      }
      for (const m of msgs)
        this.queue = this.queue.then(() => this.handle(m)).catch((e: unknown) => this.crashed(e));
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  private send(...b: Buffer[]): void {
    if (this.state !== 'closed' && this.socket.writable)
      this.socket.write(b.length === 1 ? b[0]! : Buffer.concat(b));
  }

  private fatal(code: string, message: string): void {
    this.send(errorResponse(code, message, 'FATAL'));
    this.socket.end();
    this.close();
  }

  private crashed(e: unknown): void {
    console.error('periscope server: PostgreSQL connection:', e);
    this.fatal('XX000', 'internal error; the server log has details');
  }

  /** Ends the connection and releases its session. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // A client gone mid-query must not leave it running: stop it, and release the session
    // once the handler in progress has finished.
    if (this.busy) this.session?.interrupt();
    this.queue = this.queue.then(() => this.closeSession());
    this.opts.unregister(this);
    this.socket.destroy();
  }

  /** A cancel request for this connection: stops the statement in progress (57014); ignored when idle. */
  cancel(): void {
    if (!this.busy) return;
    this.cancelled = true;
    this.session?.interrupt();
  }

  private idle(): void {
    this.busy = false;
    this.cancelled = false;
    this.send(readyForQuery());
  }

  private closeSession(): void {
    try {
      this.session?.close();
    } catch {
      // Its connection went with the database a compaction closed.
    }
    this.session = undefined;
  }

  private async handle(m: ClientMessage): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'startup') return this.startup(m);
    if (this.state === 'password') return this.password(m);
    return this.ready(m);
  }

  private startup(m: ClientMessage): void {
    const packet = readStartup(m.body);
    switch (packet.kind) {
      case 'ssl':
        if (!this.opts.startTls || this.tls) {
          this.socket.write('N');
          return;
        }
        this.socket.write('S');
        this.socket.removeAllListeners('data');
        this.socket.removeAllListeners('close');
        this.socket.removeAllListeners('error');
        this.socket = this.opts.startTls(this.socket);
        this.tls = true;
        this.listen(this.socket);
        return;
      case 'gssenc':
        this.socket.write('N');
        return;
      case 'cancel':
        this.opts.cancel(packet.pid, packet.secret);
        this.close();
        return;
      case 'refused':
        this.fatal(packet.error.code, packet.error.message);
        return;
    }
    const login = loginOf(packet.params, {
      tls: this.tls,
      insecurePlain: this.opts.insecurePlain,
      remote: this.socket.remoteAddress,
    });
    this.user = packet.params.get('user') ?? '';
    this.database = packet.params.get('database') ?? this.user;
    if ('code' in login) {
      this.fatal(login.code, login.message);
      return;
    }
    this.scope = login.scope;
    this.state = 'password';
    this.send(authentication(3));
  }

  private password(m: ClientMessage): void {
    if (m.type !== 0x70 /* p */) {
      this.fatal('08P01', 'expected a password message');
      return;
    }
    const given = new BodyReader(m.body).cstring();
    const token = this.opts.ctx.tokens.verify(given);
    const source = this.socket.remoteAddress ?? 'unknown';
    if (!token || !roleAllows(token.role, 'user')) {
      const why = token
        ? `this is ${token.role === 'agent' ? 'an agent' : 'a'} token; PostgreSQL connections need a user or admin token`
        : 'password authentication failed: the password must be a Periscope user token (periscope token create --role user)';
      this.opts.ctx.audit.append({
        action: 'denied',
        actor: actorOf(token),
        source,
        outcome: 'refused',
        details: { protocol: 'postgresql', user: this.user, database: this.database, message: why },
      });
      this.fatal('28P01', why);
      return;
    }
    this.token = token;
    this.state = 'ready';
    const key = this.opts.register(this);
    this.send(
      authentication(0),
      ...sessionParameters(this.user),
      backendKeyData(key.pid, key.secret),
      readyForQuery(),
    );
  }

  private async ready(m: ClientMessage): Promise<void> {
    const type = String.fromCharCode(m.type);
    if (type === 'X') {
      this.socket.end();
      this.close();
      return;
    }
    if (type === 'Q') return this.simpleQuery(new BodyReader(m.body).cstring());
    if (type === 'S') {
      this.skipping = false;
      this.idle();
      return;
    }
    if (type === 'H') return;
    if (this.skipping) return;
    this.busy = true;
    try {
      await this.extended(type, new BodyReader(m.body));
    } catch (e) {
      this.skipping = true;
      this.sendError(pgErrorOf(e));
    }
  }

  private sendError(e: PgError): void {
    this.send(errorResponse(e.code, e.message));
  }

  private async simpleQuery(sql: string): Promise<void> {
    const statements = splitStatements(sql);
    this.busy = true;
    try {
      if (statements.length === 0) this.send(empty('I'));
      for (const s of statements) await this.run(s, [], true, (a) => this.sendAnswer(a));
    } catch (e) {
      this.sendError(pgErrorOf(e));
    }
    this.idle();
  }

  private async sendAnswer(a: Answer): Promise<void> {
    if (a === 'empty') this.send(empty('I'));
    else if ('command' in a) this.sendCommand(a.command);
    else {
      this.send(rowDescription(a.columns));
      await this.sendRows(a, 0, 0);
    }
  }

  /** Sends what an Execute of a portal gives: rows from where the last one stopped, up to `max` (0: all). */
  private async sendExecuted(p: Portal, a: Answer, max: number): Promise<void> {
    // The RowDescription came with Describe; Execute sends rows only.
    if (a === 'empty') this.send(empty('I'));
    else if ('command' in a) this.sendCommand(a.command);
    else p.sent = await this.sendRows(a, p.sent, max, p.formats);
  }

  private sendCommand(c: SetOutcome): void {
    this.send(commandComplete(c.tag), ...(c.report ? [parameterStatus(c.report[0], c.report[1])] : []));
  }

  /**
   * The connection's session, kept from statement to statement (its views built and its
   * statements prepared once) until the store changes: then it is opened again, so that
   * `latest` is the newest snapshot and the spec's tables are the current spec's.
   */
  private async openSession(): Promise<QuerySession> {
    const generation = this.opts.ctx.store.generation;
    if (this.session && this.sessionGeneration !== generation) this.closeSession();
    if (!this.session) {
      this.session = await this.opts.ctx.store.session(this.scope, tokenFilter(this.token));
      this.sessionGeneration = generation;
    }
    return this.session;
  }

  /**
   * Runs one statement through the session and hands its answer to `deliver` (which sends
   * it), audited as a query of the HTTP API is: with the rows delivered, or the error.
   * `stream`: rows are read from DuckDB as they are sent.
   */
  private async run(
    sql: string,
    params: readonly (string | null)[],
    stream: boolean,
    deliver: (a: Answer) => Promise<void>,
  ): Promise<void> {
    if (splitStatements(sql).length === 0) return deliver('empty');
    const asked = { sql: auditText(sql), scope: this.scope, protocol: 'postgresql' };
    const audit = (outcome: 'ok' | 'error', details: Record<string, unknown>): void => {
      this.opts.ctx.audit.append({
        action: 'query',
        actor: actorOf(this.token),
        source: this.socket.remoteAddress ?? 'unknown',
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
    if (set) return deliver({ command: set });
    const session = await this.openSession();
    if (this.cancelled) throw new PgFault('57014', 'canceling statement due to user request');
    try {
      let rowCount = 0;
      const answer = await answerStatement(session, sql, params, stream);
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
      if (this.cancelled) throw new PgFault('57014', 'canceling statement due to user request');
      throw e;
    }
  }

  private async extended(type: string, r: BodyReader): Promise<void> {
    switch (type) {
      case 'P': {
        const name = r.cstring();
        const sql = r.cstring();
        if (splitStatements(sql).length > 1)
          throw new PgFault('42601', 'cannot insert multiple commands into a prepared statement');
        const nTypes = r.int16();
        const types = Array.from({ length: nTypes }, () => r.int32());
        this.statements.set(name, { sql, types });
        this.send(empty('1'));
        return;
      }
      case 'B': {
        const portal = r.cstring();
        const stmt = r.cstring();
        const prepared = this.statements.get(stmt);
        if (prepared === undefined) throw new PgFault('26000', `prepared statement "${stmt}" does not exist`);
        const { sql, types } = prepared;
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
        this.portals.set(portal, { sql, params, formats: resultFormats, sent: 0 });
        this.send(empty('2'));
        return;
      }
      case 'D': {
        const kind = String.fromCharCode(r.bytes(1)[0]!);
        const name = r.cstring();
        if (kind === 'S') {
          const sql = this.statements.get(name)?.sql;
          if (sql === undefined) throw new PgFault('26000', `prepared statement "${name}" does not exist`);
          if (splitStatements(sql).length === 0) {
            this.send(parameterDescription(0), empty('n'));
            return;
          }
          const d = await describeStatement(await this.openSession(), sql);
          this.send(parameterDescription(d.params), d.columns ? rowDescription(d.columns) : empty('n'));
          return;
        }
        const p = this.portals.get(name);
        if (!p) throw new PgFault('34000', `portal "${name}" does not exist`);
        // Without parameters, the columns come without running it: Execute runs the statement
        // and streams its rows. With parameters, DuckDB types the columns only once they are
        // bound: it runs now and the portal holds its answer.
        if (!p.answer && p.params.length > 0)
          await this.run(p.sql, p.params, false, async (a) => {
            p.answer = a;
          });
        const d =
          p.answer ??
          (splitStatements(p.sql).length === 0
            ? 'empty'
            : await describeStatement(await this.openSession(), p.sql));
        const columns = d === 'empty' ? undefined : 'columns' in d ? d.columns : undefined;
        if (!columns) this.send(empty('n'));
        else {
          cellWriters(columns, p.formats); // refuses a binary column it cannot encode, before any row
          this.send(rowDescription(columns, (i) => formatOf(p.formats, i)));
        }
        return;
      }
      case 'E': {
        const name = r.cstring();
        const max = r.int32();
        const p = this.portals.get(name);
        if (!p) throw new PgFault('34000', `portal "${name}" does not exist`);
        if (p.answer) await this.sendExecuted(p, p.answer, max);
        // A row limit (PortalSuspended, more Executes to come) holds the answer in the portal;
        // without one the rows are streamed.
        else
          await this.run(p.sql, p.params, max === 0, async (a) => {
            if (max > 0) p.answer = a;
            await this.sendExecuted(p, a, max);
          });
        return;
      }
      case 'C': {
        const kind = String.fromCharCode(r.bytes(1)[0]!);
        const name = r.cstring();
        if (kind === 'S') this.statements.delete(name);
        else this.portals.delete(name);
        this.send(empty('3'));
        return;
      }
      default:
        throw new PgFault('08P01', `message type "${type}" is not supported`);
    }
  }

  /**
   * Sends rows [from, from + max) (all when max is 0) and the CommandComplete or
   * PortalSuspended after them; writes in batches of about 64 KiB and waits for the socket
   * to drain between them, so a million-row answer neither queues unbounded nor builds one
   * huge buffer.
   */
  private async sendRows(
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
        if (batch.size >= 65_536 && !(await this.write(batch.take()))) return n;
      }
      batch.append(commandComplete(commandTag(n)));
      await this.write(batch.take());
      return n;
    }
    const end = max > 0 ? Math.min(a.rows.length, from + max) : a.rows.length;
    for (let i = from; i < end; i++) {
      batch.add(a.rows[i]!, cells);
      if (batch.size >= 65_536 && !(await this.write(batch.take()))) return end;
    }
    batch.append(end < a.rows.length ? empty('s') : commandComplete(commandTag(end - from)));
    await this.write(batch.take());
    return end;
  }

  /** Writes and waits for the socket to drain when its buffer is full; false once the client is gone. */
  private async write(b: Buffer): Promise<boolean> {
    if (this.state === 'closed' || !this.socket.writable) return false;
    if (this.socket.write(b)) return true;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
    return (this.state as string) !== 'closed' && this.socket.writable;
  }
}
