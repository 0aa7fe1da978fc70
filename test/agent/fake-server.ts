/**
 * Test support: a small real server for agent tests (ws's WebSocketServer on 127.0.0.1) that
 * speaks the agent protocol: checks the Bearer token, answers hello with welcome and a spec,
 * records every message, and lets a test send anything (including garbage).
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { type AgentMessage, PROTOCOL_VERSION, parseAgentMessage } from '../../src/protocol/messages.js';

/** A message an agent sent, with its arrival time. */
export interface Received {
  readonly t: number;
  readonly msg: AgentMessage;
}

/** A fake Periscope server. */
export class FakeServer {
  readonly received: Received[] = [];
  /** Upgrade attempts, accepted or not (time, token). */
  readonly attempts: { t: number; token: string }[] = [];
  spec = { version: 1, text: '' };
  private wss!: WebSocketServer;
  private socket: WebSocket | undefined;
  private waiters = new Set<() => void>();

  private constructor(private readonly token: string) {}

  /** Starts a server on 127.0.0.1 (port 0 picks a free one). */
  static async start(token: string, port = 0): Promise<FakeServer> {
    const s = new FakeServer(token);
    await s.listen(port);
    return s;
  }

  private listen(port: number): Promise<void> {
    this.wss = new WebSocketServer({
      host: '127.0.0.1',
      port,
      path: '/v1/agent',
      maxPayload: 256 << 20,
      verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number) => void) => {
        const auth = info.req.headers.authorization ?? '';
        this.attempts.push({ t: performance.now(), token: auth.replace(/^Bearer /, '') });
        cb(auth === `Bearer ${this.token}`, 401);
      },
    });
    this.wss.on('connection', (ws) => {
      this.socket = ws;
      ws.on('message', (data) => {
        const msg = parseAgentMessage(data.toString());
        this.received.push({ t: performance.now(), msg });
        if (msg.type === 'hello')
          ws.send(
            JSON.stringify({
              type: 'welcome',
              protocol: PROTOCOL_VERSION,
              specVersion: this.spec.version,
              spec: this.spec.text,
            }),
          );
        for (const w of this.waiters) w();
      });
    });
    return new Promise((resolve) => this.wss.on('listening', () => resolve()));
  }

  /** The port the server listens on. */
  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  /** The URL to give the agent. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Sends raw text (or a binary frame) to the connected agent. */
  sendRaw(data: string | Buffer): void {
    this.socket?.send(data);
  }

  /** Sends a message object to the connected agent. */
  send(msg: object): void {
    this.sendRaw(JSON.stringify(msg));
  }

  /** Messages of one type received so far (optionally since a time). */
  messages<T extends AgentMessage['type']>(type: T, since = 0): Extract<AgentMessage, { type: T }>[] {
    return this.received
      .filter((r) => r.t >= since && r.msg.type === type)
      .map((r) => r.msg as Extract<AgentMessage, { type: T }>);
  }

  /** Resolves with the first message (arrived at or after `since`) that satisfies `pred`; rejects after `ms`. */
  waitFor<T extends AgentMessage['type']>(
    type: T,
    pred: (m: Extract<AgentMessage, { type: T }>) => boolean = () => true,
    ms = 10_000,
    since = 0,
  ): Promise<Extract<AgentMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = this.messages(type, since).find(pred);
        if (hit) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.received.map((r) => r.msg.type).join(',');
        reject(new Error(`no matching "${type}" message within ${ms} ms (received: ${seen})`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  /** Stops the server, dropping every connection. */
  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
