/**
 * A minimal PostgreSQL protocol client for benchmarks: startup (trust or cleartext
 * password), then simple queries (and statements with text parameters, sent as node-postgres
 * sends them) whose DataRows are counted, never parsed, so that what is
 * timed is the server and the socket, not a driver's value parsing. Used the same way
 * against Periscope's port and a real PostgreSQL server. For tests, `exchange` sends any
 * messages (`wire` builds them) and returns what came back as a transcript, comparable
 * between the two servers.
 */
import { connect, type Socket } from 'node:net';

/** Where and as whom to connect. */
export interface WireTarget {
  readonly host?: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password?: string;
}

/** What a query returned: DataRow messages and the bytes received for it. */
export interface WireResult {
  readonly rows: number;
  readonly bytes: number;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstring = (t: string): Buffer => Buffer.from(`${t}\0`, 'utf8');
const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** Client messages of the simple and extended protocols (parameters and results in text). */
export const wire = {
  query: (sql: string): Buffer => message('Q', cstring(sql)),
  parse: (name: string, sql: string): Buffer =>
    message('P', Buffer.concat([cstring(name), cstring(sql), int16(0)])),
  bind: (portal: string, statement: string, params: readonly (string | null)[] = []): Buffer =>
    message(
      'B',
      Buffer.concat([
        cstring(portal),
        cstring(statement),
        int16(0),
        int16(params.length),
        ...params.flatMap((v) => {
          if (v === null) return [int32(-1)];
          const b = Buffer.from(v, 'utf8');
          return [int32(b.length), b];
        }),
        int16(0),
      ]),
    ),
  describe: (kind: 'S' | 'P', name: string): Buffer =>
    message('D', Buffer.concat([Buffer.from(kind), cstring(name)])),
  /** Execute with a row limit (0: all). */
  execute: (portal: string, max = 0): Buffer => message('E', Buffer.concat([cstring(portal), int32(max)])),
  close: (kind: 'S' | 'P', name: string): Buffer =>
    message('C', Buffer.concat([Buffer.from(kind), cstring(name)])),
  sync: (): Buffer => message('S', Buffer.alloc(0)),
};

/** What a server message says in a transcript: its kind and, for some, what tells it apart. */
function transcribed(type: number, body: Buffer): string {
  const text = (): string => body.toString('utf8', 0, body.length - 1);
  /** An ErrorResponse's or NoticeResponse's SQLSTATE (its field C). */
  const sqlstate = (): string => {
    for (let at = 0; at < body.length && body[at] !== 0; ) {
      const end = body.indexOf(0, at + 1);
      if (body[at] === 0x43 /* C */) return body.toString('utf8', at + 1, end);
      at = end + 1;
    }
    return '?';
  };
  switch (String.fromCharCode(type)) {
    case '1':
      return 'parse';
    case '2':
      return 'bind';
    case '3':
      return 'close';
    case 't':
      return 'parameters';
    case 'T':
      return 'description';
    case 'n':
      return 'nodata';
    case 's':
      return 'suspended';
    case 'I':
      return 'empty';
    case 'C':
      return `complete:${text()}`;
    case 'E':
      return `error:${sqlstate()}`;
    case 'N':
      return `notice:${sqlstate()}`;
    case 'Z':
      return `ready:${String.fromCharCode(body[0]!)}`;
    default:
      return String.fromCharCode(type);
  }
}

/** A connection that runs one simple query at a time. */
export class WireClient {
  private pending: Buffer = Buffer.alloc(0);
  private rows = 0;
  private bytes = 0;
  private error = '';
  private waiter: ((r: WireResult | Error) => void) | undefined;
  /** What `exchange` received so far, and the ReadyForQuery messages it still waits for. */
  private transcript: string[] | undefined;
  private readyLeft = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly password: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (e) => this.finish(e));
    socket.on('close', () => this.finish(new Error('connection closed')));
  }

  /** Connects and logs in; resolves once the server is ready for queries. */
  static async connect(t: WireTarget): Promise<WireClient> {
    const socket = connect({ host: t.host ?? '127.0.0.1', port: t.port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new WireClient(socket, t.password ?? '');
    const params = Buffer.from(`user\0${t.user}\0database\0${t.database}\0\0`, 'utf8');
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + params.length, 0);
    head.writeInt32BE(196608, 4);
    const ready = c.wait();
    socket.write(Buffer.concat([head, params]));
    const r = await ready;
    if (r instanceof Error) throw r;
    return c;
  }

  private wait(): Promise<WireResult | Error> {
    this.rows = 0;
    this.bytes = 0;
    this.error = '';
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private finish(r: WireResult | Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.(r);
  }

  private read(chunk: Buffer): void {
    this.bytes += chunk.length;
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 5) {
      const type = buf[at]!;
      const len = buf.readInt32BE(at + 1);
      if (buf.length - at < 1 + len) break;
      if (this.transcript) this.transcribe(type, buf.subarray(at + 5, at + 1 + len));
      else if (type === 0x44 /* D */) this.rows++;
      else if (type === 0x45 /* E */)
        this.error = buf.toString('utf8', at + 5, at + 1 + len).replace(/\0/g, ' ');
      else if (type === 0x52 /* R */ && buf.readInt32BE(at + 5) === 3)
        this.socket.write(message('p', Buffer.from(`${this.password}\0`, 'utf8')));
      else if (type === 0x5a /* Z */)
        this.finish(this.error ? new Error(this.error) : { rows: this.rows, bytes: this.bytes });
      at += 1 + len;
    }
    buf = buf.subarray(at);
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  /**
   * Sends messages (`wire`'s) and returns what the server answered until the ReadyForQuery
   * of each Sync and Query among them: `parse`, `bind`, `description`, `suspended`,
   * `complete:<tag>`, `error:<SQLSTATE>`, `notice:<SQLSTATE>`, `ready:<status>`, … and the
   * rows as `row:<first value>`, consecutive integers as one `rows:<first>..<last>`.
   */
  async exchange(...messages: Buffer[]): Promise<string[]> {
    const transcript: string[] = [];
    this.transcript = transcript;
    this.readyLeft = messages.filter((m) => m[0] === 0x51 /* Q */ || m[0] === 0x53 /* S */).length;
    const done = this.wait();
    this.socket.write(Buffer.concat(messages));
    const r = await done;
    this.transcript = undefined;
    if (r instanceof Error) throw r;
    return transcript;
  }

  private transcribe(type: number, body: Buffer): void {
    const t = this.transcript!;
    if (type === 0x44 /* D */) {
      const len = body.readInt32BE(2);
      const v = len < 0 ? 'null' : body.toString('utf8', 6, 6 + len);
      const run = /^rows:(-?\d+)\.\.(-?\d+)$/.exec(t.at(-1) ?? '');
      if (run && /^-?\d+$/.test(v) && Number(run[2]) + 1 === Number(v))
        t[t.length - 1] = `rows:${run[1]}..${v}`;
      else t.push(/^-?\d+$/.test(v) ? `rows:${v}..${v}` : `row:${v}`);
      return;
    }
    t.push(transcribed(type, body));
    if (type === 0x5a /* Z */ && --this.readyLeft === 0) this.finish({ rows: 0, bytes: 0 });
  }

  /** Runs a query (simple protocol) and counts its rows. */
  async query(sql: string): Promise<WireResult> {
    const done = this.wait();
    this.socket.write(wire.query(sql));
    const r = await done;
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * Runs a statement with text parameters through the extended protocol as node-postgres
   * sends it (Parse of the unnamed statement, Bind, Describe of the portal, Execute, Sync, in
   * one write) and counts its rows; without `describePortal`, as pgx sends a statement it
   * described before (no Describe: the Execute streams).
   */
  async queryParams(
    sql: string,
    params: readonly (string | null)[],
    describePortal = true,
  ): Promise<WireResult> {
    const done = this.wait();
    this.socket.write(
      Buffer.concat([
        wire.parse('', sql),
        wire.bind('', '', params),
        ...(describePortal ? [wire.describe('P', '')] : []),
        wire.execute(''),
        wire.sync(),
      ]),
    );
    const r = await done;
    if (r instanceof Error) throw r;
    return r;
  }

  /** Says goodbye and closes. */
  close(): void {
    this.socket.end(message('X', Buffer.alloc(0)));
  }
}
