/**
 * The agent's connection to the server: an outbound WebSocket to `/v1/agent` with the token
 * as a Bearer header, hello → welcome, then messages both ways. Reconnects with exponential
 * backoff and full jitter (capped), slowly after a rejected token, and detects a dead peer
 * with pings. Malformed messages from the server are logged and ignored.
 */
import { WebSocket } from 'ws';
import {
  type HelloMessage,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ServerMessage,
  type WelcomeMessage,
} from '../protocol/messages.js';

/** How to connect. */
export interface ConnectionOptions {
  /** Server base URL (http(s):// or ws(s)://); `/v1/agent` is appended unless the path already ends with it. */
  readonly server: string;
  readonly token: string;
  readonly hello: Omit<HelloMessage, 'type' | 'protocol'>;
  /** First retry delay, ms (default 500); doubles up to `maxBackoffMs`. */
  readonly minBackoffMs?: number;
  /** Longest retry delay, ms (default 30000); also the delay after a rejected token. */
  readonly maxBackoffMs?: number;
  /** Ping interval, ms (default 15000); no pong by the next ping closes the connection. */
  readonly pingMs?: number;
  /** Largest message accepted from the server, bytes (default 64 MiB). */
  readonly maxPayload?: number;
  readonly log: (line: string) => void;
  /** The server accepted us (after every (re)connection). */
  readonly onWelcome: (welcome: WelcomeMessage) => void;
  /** A message after welcome. */
  readonly onMessage: (msg: ServerMessage) => void;
  /** The connection was lost (after a welcome). */
  readonly onDisconnect: () => void;
}

/** Turns the --server value into the agent endpoint's WebSocket URL. */
export function agentUrl(server: string): string {
  const u = new URL(server);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`unsupported scheme ${u.protocol}`);
  if (!u.pathname.endsWith('/v1/agent')) u.pathname = `${u.pathname.replace(/\/$/, '')}/v1/agent`;
  return u.toString();
}

/** A self-healing connection to the server. */
export class Connection {
  private ws: WebSocket | undefined;
  private welcomed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly url: string;

  constructor(private readonly opts: ConnectionOptions) {
    this.url = agentUrl(opts.server);
  }

  /** Starts connecting (and reconnecting until close()). */
  start(): void {
    this.connect();
  }

  /** Whether the server has welcomed us on the current connection. */
  get connected(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends a message (JSON text); false when not connected (the message is dropped). */
  send(text: string): boolean {
    if (!this.connected) return false;
    this.ws!.send(text);
    return true;
  }

  /** Bytes queued on the socket and not yet sent (0 when not connected). */
  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** Closes the connection for good. */
  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.stopPing();
    this.ws?.close(1000, 'agent stopping');
    const ws = this.ws;
    setTimeout(() => ws?.terminate(), 1000).unref();
  }

  private connect(): void {
    if (this.closed) return;
    let rejected: string | undefined;
    const ws = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.opts.token}` },
      maxPayload: this.opts.maxPayload ?? 64 << 20,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      const code = res.statusCode ?? 0;
      rejected =
        code === 401 || code === 403
          ? `server ${this.url} rejected the agent token (HTTP ${code}); check --token / PERISCOPE_TOKEN (an agent token made with the server's CLI)`
          : `server ${this.url} refused the WebSocket upgrade (HTTP ${code} ${res.statusMessage ?? ''})`.trim();
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, ...this.opts.hello }));
      this.startPing(ws);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.opts.log('ignored a binary message from the server');
        return;
      }
      this.receive(ws, data.toString());
    });
    ws.on('pong', () => {
      (ws as WebSocket & { alive?: boolean }).alive = true;
    });
    ws.on('error', (e) => {
      if (!rejected) rejected = `cannot reach server ${this.url}: ${e.message.split('\n')[0]}`;
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.stopPing();
      const wasWelcomed = this.welcomed;
      this.welcomed = false;
      if (wasWelcomed) {
        this.opts.log(
          `disconnected from ${this.url} (${code}${reason.length ? ` ${reason.toString()}` : ''})`,
        );
        this.opts.onDisconnect();
      }
      if (this.closed) return;
      const slow = rejected?.includes('token') === true;
      const delay = this.nextDelay(slow);
      this.opts.log(
        `${rejected ?? `connection to ${this.url} closed (${code})`}; retrying in ${(delay / 1000).toFixed(1)} s`,
      );
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  private receive(ws: WebSocket, text: string): void {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(text);
    } catch (e) {
      this.opts.log(`ignored a message from the server: ${(e as Error).message}`);
      return;
    }
    if (!this.welcomed) {
      if (msg.type !== 'welcome') {
        this.opts.log(`ignored a "${msg.type}" message before the server's welcome`);
        return;
      }
      if (msg.protocol !== PROTOCOL_VERSION) {
        this.opts.log(
          `server speaks protocol ${msg.protocol}, this agent ${PROTOCOL_VERSION}; upgrade one of them`,
        );
        ws.close(1002, 'protocol version mismatch');
        return;
      }
      this.welcomed = true;
      this.attempt = 0;
      this.opts.log(`connected to ${this.url}`);
      this.safely(() => this.opts.onWelcome(msg as WelcomeMessage));
      return;
    }
    this.safely(() => this.opts.onMessage(msg));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.opts.log(`ignored a message the agent could not handle: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  private nextDelay(slow: boolean): number {
    const max = this.opts.maxBackoffMs ?? 30_000;
    if (slow) return max / 2 + Math.random() * (max / 2);
    const min = this.opts.minBackoffMs ?? 500;
    const ceiling = Math.min(max, min * 2 ** this.attempt++);
    return min / 2 + Math.random() * (ceiling - min / 2);
  }

  private startPing(ws: WebSocket): void {
    this.stopPing();
    const alive = ws as WebSocket & { alive?: boolean };
    alive.alive = true;
    this.pinger = setInterval(() => {
      if (!alive.alive) {
        this.opts.log(`no answer from ${this.url} to a ping; reconnecting`);
        ws.terminate();
        return;
      }
      alive.alive = false;
      ws.ping();
    }, this.opts.pingMs ?? 15_000);
    this.pinger.unref();
  }

  private stopPing(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = undefined;
  }
}
