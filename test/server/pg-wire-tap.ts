/**
 * Test support: a TCP proxy in front of the PostgreSQL port that reads what passes through as
 * protocol messages and keeps, per direction, the type of each (the client's after its
 * untyped startup packet), and the status byte of each ReadyForQuery: what a real client sent
 * and was sent, seen on the wire. Clients must connect without TLS.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Splits a byte stream into messages: 1 type byte, then an int32 length counting itself. */
class Framer {
  private buffer = Buffer.alloc(0);

  constructor(
    private untyped: boolean,
    private readonly onMessage: (type: string, body: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const head = this.untyped ? 0 : 1;
      if (this.buffer.length < head + 4) return;
      const len = this.buffer.readInt32BE(head);
      if (this.buffer.length < head + len) return;
      const type = this.untyped ? '' : String.fromCharCode(this.buffer[0]!);
      this.onMessage(type, this.buffer.subarray(head + 4, head + len));
      this.buffer = this.buffer.subarray(head + len);
      this.untyped = false;
    }
  }
}

/** A proxy on 127.0.0.1 to one PostgreSQL port, recording the messages of every connection. */
export class PgWireTap {
  /** Message types the clients sent (after startup), in order. */
  readonly sent: string[] = [];
  /** Message types the server sent, in order. */
  readonly received: string[] = [];
  /** The status of each ReadyForQuery ('I', 'T', 'E'). */
  readonly statuses: string[] = [];
  private readonly sockets: Socket[] = [];
  private readonly server: Server;
  port = 0;

  private constructor(target: number) {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: target });
      this.sockets.push(client, upstream);
      const fromClient = new Framer(true, (t) => {
        if (t) this.sent.push(t);
      });
      const fromServer = new Framer(false, (t, body) => {
        this.received.push(t);
        if (t === 'Z') this.statuses.push(String.fromCharCode(body[0]!));
      });
      client.on('data', (c: Buffer) => {
        fromClient.push(c);
        upstream.write(c);
      });
      upstream.on('data', (c: Buffer) => {
        fromServer.push(c);
        client.write(c);
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.end());
      upstream.on('close', () => client.end());
    });
  }

  /** Starts a tap to 127.0.0.1:target on a free port. */
  static async start(target: number): Promise<PgWireTap> {
    const tap = new PgWireTap(target);
    await new Promise<void>((resolve) => tap.server.listen(0, '127.0.0.1', resolve));
    tap.port = (tap.server.address() as { port: number }).port;
    return tap;
  }

  /** How many messages of `type` the server sent. */
  count(type: string): number {
    return this.received.filter((t) => t === type).length;
  }

  /** Forgets what was recorded. */
  clear(): void {
    this.sent.length = 0;
    this.received.length = 0;
    this.statuses.length = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
