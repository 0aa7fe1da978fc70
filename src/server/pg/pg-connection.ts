/**
 * One client connection speaking PostgreSQL protocol 3.0: its socket and message queue, the
 * login (pg-login.ts), then the simple query protocol here and the extended one in
 * pg-extended.ts, statements run by pg-runner.ts. Every statement runs read-only through a
 * store query session, as POST /v1/query does, and is recorded in the audit log. A failure
 * answers ErrorResponse with a SQLSTATE and the connection stays usable (in a transaction
 * block, pg-transaction.ts, the block is failed until ROLLBACK); only a malformed stream or a
 * failed login ends it. ReadyForQuery carries the block's status; portals outlive Sync in a block.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { QueryScope } from '../../store/store.js';
import type { TokenInfo } from '../../store/token-types.js';
import type { ServerContext } from '../context.js';
import { pgErrorOf } from './pg-errors.js';
import { ExtendedProtocol } from './pg-extended.js';
import { passwordStep, startupStep } from './pg-login.js';
import {
  authentication,
  BodyReader,
  backendKeyData,
  type ClientMessage,
  empty,
  errorResponse,
  MessageReader,
  readyForQuery,
} from './pg-messages.js';
import { type PgLink, StatementRunner } from './pg-runner.js';
import { splitStatements } from './pg-split.js';
import { sessionParameters } from './pg-startup.js';
import { type PgTimeZone, serverTimeZone } from './pg-timezone.js';
import { TransactionBlock } from './pg-transaction.js';

/** Queued bytes that are written at once, without waiting for a flush. */
const FLUSH_BYTES = 65_536;

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

/** A client connection. */
export class PgConnection implements PgLink {
  private socket: Socket;
  private readonly reader = new MessageReader();
  /** Messages sent and not yet written (see send). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private queue: Promise<void> = Promise.resolve();
  private state: 'startup' | 'password' | 'ready' | 'closed' = 'startup';
  private tls = false;
  scope: QueryScope = { latest: true };
  private database = '';
  private user = '';
  token: TokenInfo | undefined;
  /** The session's time zone, and the one it started with (RESET, DEFAULT). */
  timeZone: PgTimeZone = serverTimeZone();
  private startZone: PgTimeZone = this.timeZone;
  private readonly runner = new StatementRunner(this);
  private readonly extended = new ExtendedProtocol(this, this.runner);
  /** The transaction block: its portals end when it does (and when a savepoint before them is rolled back to). */
  readonly transaction = new TransactionBlock(this.extended);
  /** Set after an error in an extended-protocol batch: messages are skipped until Sync. */
  private skipping = false;
  /** Whether a query or an extended-protocol batch is in progress (until ReadyForQuery). */
  private busy = false;
  /** A cancel request arrived for the work in progress: what has not started yet fails too. */
  cancelled = false;

  constructor(
    socket: Socket,
    private readonly opts: PgConnectionOptions,
  ) {
    this.socket = socket;
    this.listen(socket);
  }

  /** The server's context. */
  get ctx(): ServerContext {
    return this.opts.ctx;
  }

  /** The client's address. */
  get source(): string {
    return this.socket.remoteAddress ?? 'unknown';
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

  /**
   * Queues messages to send (nothing once closed): they leave with the next flush, which comes
   * at ReadyForQuery, Flush, a fatal error, the end of a message before login, or once 64 KiB
   * are queued. An answer is then one write to the socket, not one per message: a small query
   * was three (RowDescription, rows and CommandComplete, ReadyForQuery), each a system call on
   * the statement's path.
   */
  send(...b: Buffer[]): void {
    if (this.state === 'closed' || !this.socket.writable) return;
    for (const x of b) {
      this.pending.push(x);
      this.pendingBytes += x.length;
    }
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Writes what is queued; the socket's return value (false: its buffer is full). */
  private flush(): boolean {
    if (this.pending.length === 0) return true;
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.state === 'closed' || !this.socket.writable) return false;
    return this.socket.write(out);
  }

  /**
   * Queues `b` and, once 64 KiB are queued, writes them and waits for the socket to drain when
   * its buffer is full; false once the client is gone.
   */
  async write(b: Buffer): Promise<boolean> {
    if (this.state === 'closed' || !this.socket.writable) return false;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes < FLUSH_BYTES || this.flush()) return true;
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

  private fatal(code: string, message: string): void {
    this.send(errorResponse(code, message, 'FATAL'));
    this.flush();
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
    if (this.busy) this.runner.interrupt();
    this.queue = this.queue.then(() => {
      this.extended.closePortals();
      this.runner.close();
    });
    this.opts.unregister(this);
    this.socket.destroy();
  }

  /** Makes `zone` the session's time zone ('default': the one it started with); returns it. */
  setTimeZone(zone: PgTimeZone | 'default'): PgTimeZone {
    this.timeZone = zone === 'default' ? this.startZone : zone;
    return this.timeZone;
  }

  /** A cancel request for this connection: stops the statement in progress (57014); ignored when idle. */
  cancel(): void {
    if (!this.busy) return;
    this.cancelled = true;
    this.runner.interrupt();
  }

  private idle(): void {
    this.busy = false;
    this.cancelled = false;
    this.send(readyForQuery(this.transaction.status));
    this.flush();
  }

  private async handle(m: ClientMessage): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'startup') this.startup(m);
    else if (this.state === 'password') this.password(m);
    else return this.ready(m);
    this.flush();
  }

  private startup(m: ClientMessage): void {
    const step = startupStep(m, {
      tls: this.tls,
      canTls: this.opts.startTls !== undefined,
      insecurePlain: this.opts.insecurePlain,
      remote: this.socket.remoteAddress,
    });
    switch (step.kind) {
      case 'no':
        this.socket.write('N');
        return;
      case 'tls':
        this.socket.write('S');
        this.socket.removeAllListeners('data');
        this.socket.removeAllListeners('close');
        this.socket.removeAllListeners('error');
        this.socket = this.opts.startTls!(this.socket);
        this.tls = true;
        this.listen(this.socket);
        return;
      case 'cancel':
        this.opts.cancel(step.pid, step.secret);
        this.close();
        return;
      case 'fatal':
        this.fatal(step.code, step.message);
        return;
      case 'password':
        this.user = step.user;
        this.database = step.database;
        this.scope = step.scope;
        this.timeZone = step.timeZone;
        this.startZone = step.timeZone;
        this.state = 'password';
        this.send(authentication(3));
    }
  }

  private password(m: ClientMessage): void {
    const login = passwordStep(m, this.opts.ctx, {
      user: this.user,
      database: this.database,
      source: this.source,
    });
    if ('code' in login) {
      this.fatal(login.code, login.message);
      return;
    }
    this.token = login.token;
    this.state = 'ready';
    const key = this.opts.register(this);
    this.send(
      authentication(0),
      ...sessionParameters(this.user, this.timeZone),
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
      // In a transaction block, portals live on (JDBC's fetch-size cursor: an Execute, a Sync, and again).
      if (!this.transaction.inBlock) this.extended.closePortals();
      this.idle();
      return;
    }
    if (type === 'H') {
      this.flush();
      return;
    }
    if (this.skipping) return;
    this.busy = true;
    try {
      await this.extended.handle(type, new BodyReader(m.body));
    } catch (e) {
      this.skipping = true;
      this.transaction.fail();
      const err = pgErrorOf(e);
      this.send(errorResponse(err.code, err.message));
    }
  }

  /** The simple query protocol: each statement of the string answered in turn; the first error stops the rest. */
  private async simpleQuery(sql: string): Promise<void> {
    const statements = splitStatements(sql);
    this.busy = true;
    try {
      if (statements.length === 0) this.send(empty('I'));
      for (const s of statements) await this.runner.run(s, [], (a) => this.runner.sendAnswer(a), false, true);
    } catch (e) {
      this.transaction.fail();
      const err = pgErrorOf(e);
      this.send(errorResponse(err.code, err.message));
    }
    this.idle();
  }
}
