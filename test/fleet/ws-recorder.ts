/**
 * Test support: a WebSocket relay between an agent and the server that keeps every message
 * the agent sends, as the server receives it (unmasked, and with `snapshotDeflated` inflated),
 * so a test can search what crossed the wire.
 */
import { createServer, type Server } from 'node:http';
import { inflateSync } from 'node:zlib';
import { WebSocket, WebSocketServer } from 'ws';

/** A relay on 127.0.0.1 to a server's `/v1/agent`. */
export class WsRecorder {
  /** Each message an agent sent, as text; a `captured` message's deflated snapshot is appended inflated. */
  readonly messages: string[] = [];
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets: WebSocket[] = [];
  private port = 0;

  private constructor(upstream: string) {
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.http.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (agent) => {
        const auth = req.headers.authorization;
        const server = new WebSocket(`${upstream.replace(/^http/, 'ws')}${req.url ?? '/v1/agent'}`, {
          headers: auth ? { authorization: auth } : {},
        });
        this.sockets.push(agent, server);
        const queued: string[] = [];
        agent.on('message', (data) => {
          const text = data.toString();
          this.record(text);
          if (server.readyState === WebSocket.OPEN) server.send(text);
          else queued.push(text);
        });
        server.on('open', () => {
          for (const t of queued.splice(0)) server.send(t);
        });
        server.on('message', (data) => agent.send(data.toString()));
        server.on('close', () => agent.close());
        agent.on('close', () => server.close());
        server.on('error', () => agent.terminate());
        agent.on('error', () => server.terminate());
      });
    });
  }

  private record(text: string): void {
    let extra = '';
    try {
      const msg = JSON.parse(text) as { snapshotDeflated?: unknown };
      if (typeof msg.snapshotDeflated === 'string')
        extra = `\n${inflateSync(Buffer.from(msg.snapshotDeflated, 'base64')).toString('utf8')}`;
    } catch {
      // Not JSON: recorded as it is.
    }
    this.messages.push(text + extra);
  }

  /** Starts a relay to the server at `upstream` (http://HOST:PORT) on a free port. */
  static async start(upstream: string): Promise<WsRecorder> {
    const r = new WsRecorder(upstream);
    await new Promise<void>((resolve) => r.http.listen(0, '127.0.0.1', resolve));
    r.port = (r.http.address() as { port: number }).port;
    return r;
  }

  /** The URL an agent is given (`--server`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Closes the relay and its connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
