/**
 * The agent's connection to the server: an outbound WebSocket to `/v1/agent` with the token
 * as a Bearer header, hello → welcome, then messages both ways. Reconnects with exponential
 * backoff and full jitter (capped), slowly after a rejected token or a refusal (another agent
 * holds this agent's id). Several servers (`--server A,B,C`) are tried in order, one per
 * attempt: a lost or failed connection is made again to the next. Heartbeats: a ping every `pingMs`, skipped when a ping from the
 * server arrived since the last tick (the server pings every second: ours would only repeat
 * what its ping shows); a server silent (no message, ping or pong) for `serverTimeoutMs` is
 * taken for dead and the connection is made again. A server that stops answering stops pinging
 * too, so the agent's own pings resume at the next tick and the bound is unchanged. Silence
 * is counted in ticks of this thread's own timer, so an agent that was itself stopped (SIGSTOP)
 * or stalled does not blame the server for it. Malformed messages are logged and ignored.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { WebSocket } from 'ws';
import {
  type ClientTlsConfig,
  clientTlsOptions,
  describeTlsError,
  requireTlsOffHost,
} from '../common/tls-client.js';
import {
  type HelloMessage,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ServerMessage,
  type WelcomeMessage,
} from '../protocol/messages.js';

/** How to connect. */
export interface ConnectionOptions {
  /**
   * Server base URL (http(s):// or ws(s)://), or several separated by commas (servers sharing a
   * store, tried in order on reconnect); `/v1/agent` is appended unless the path already ends with it.
   */
  readonly server: string;
  /** The agent token; with `tokenFile`, the token read at start (the file is re-read at each connection). */
  readonly token: string;
  /** A file holding the token, re-read before each connection: a rotated token needs no restart. */
  readonly tokenFile?: string;
  /**
   * What the agent trusts and presents over TLS (CA, pins, client certificate; files re-read
   * at each connection), and whether plain ws:// to another machine is allowed.
   */
  readonly tls?: ClientTlsConfig;
  readonly hello: Omit<HelloMessage, 'type' | 'protocol'>;
  /** First retry delay, ms (default 500); doubles up to `maxBackoffMs`. */
  readonly minBackoffMs?: number;
  /** Longest retry delay, ms (default 30000); also the delay after a rejected token. */
  readonly maxBackoffMs?: number;
  /** Heartbeat interval, ms (default 2000). */
  readonly pingMs?: number;
  /** A server silent this long (ms, default 20000) is taken for dead: reconnect. */
  readonly serverTimeoutMs?: number;
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

/** The agent endpoint URLs of a --server value: one URL, or several separated by commas. */
export function agentUrls(server: string): string[] {
  const urls = server
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(agentUrl);
  if (urls.length === 0) throw new Error('no server URL');
  return urls;
}

/** The `error.message` of a JSON error body, if that is what it is. */
function serverMessage(body: string): string | undefined {
  try {
    const m = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof m === 'string' ? m.slice(0, 1000) : undefined;
  } catch {
    return body.trim() ? body.trim().slice(0, 300) : undefined;
  }
}

/** A self-healing connection to the server. */
export class Connection {
  private ws: WebSocket | undefined;
  private welcomed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;
  /** Heartbeat ticks since the server was last heard from. */
  private silentTicks = 0;
  /** A ping from the server arrived since the last tick (then ours is not needed). */
  private serverPinged = false;
  private lastHeard = 0;
  private readonly urls: readonly string[];
  /** The index in `urls` of the server tried now. */
  private at = 0;
  private lastToken: string | undefined;

  /** Checks the URL and the TLS files once (throws a PeriscopeError saying what is wrong). */
  constructor(private readonly opts: ConnectionOptions) {
    this.urls = agentUrls(opts.server);
    for (const u of this.urls) requireTlsOffHost(new URL(u), opts.tls?.insecurePlain, '--server');
    clientTlsOptions(opts.tls ?? {});
  }

  /** The agent endpoint tried now. */
  private get url(): string {
    return this.urls[this.at]!;
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
    /** Retry slowly: a rejected token or a refusal does not go away by retrying fast. */
    let slow = false;
    let retryAfterMs = 0;
    let tls: TlsOptions = {};
    if (this.url.startsWith('wss:'))
      try {
        tls = clientTlsOptions(this.opts.tls ?? {});
      } catch (e) {
        // A CA or certificate file that went away since the start: say so, keep trying.
        this.opts.log(`${(e as Error).message}; retrying`);
      }
    const ws = new WebSocket(this.url, {
      ...tls,
      headers: { Authorization: `Bearer ${this.currentToken()}` },
      maxPayload: this.opts.maxPayload ?? 64 << 20,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      const code = res.statusCode ?? 0;
      slow = code === 400 || code === 401 || code === 403;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 8192) chunks.push(c);
      });
      res.on('end', () => {
        const said = serverMessage(Buffer.concat(chunks).toString('utf8'));
        rejected =
          code === 401 || (code === 403 && !/certificate/.test(said ?? ''))
            ? `server ${this.url} rejected the agent token (HTTP ${code}); check --token / PERISCOPE_TOKEN (an agent token made with the server's CLI)${said ? `. The server said: ${said}` : ''}`
            : `server ${this.url} refused the WebSocket upgrade (HTTP ${code}${said ? `: ${said}` : ` ${res.statusMessage ?? ''}`.trimEnd()})`;
        ws.terminate();
      });
      res.on('error', () => ws.terminate());
    });
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, ...this.opts.hello }));
      this.startPing(ws);
    });
    ws.on('message', (data, isBinary) => {
      this.heard();
      if (isBinary) {
        this.opts.log('ignored a binary message from the server');
        return;
      }
      const refusal = this.receive(ws, data.toString());
      if (refusal) {
        slow = true;
        retryAfterMs = refusal.retryAfterMs;
        rejected = `server ${this.url} refused this agent: ${refusal.message}`;
      }
    });
    ws.on('pong', () => this.heard());
    ws.on('ping', () => {
      this.serverPinged = true;
      this.heard();
    });
    ws.on('error', (e) => {
      if (rejected) return;
      if ((e as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        rejected = `server ${this.url} sent a message over this agent's limit of ${this.opts.maxPayload ?? 64 << 20} bytes; the connection was dropped`;
        return;
      }
      const tlsProblem = describeTlsError(e, `server ${this.url}`);
      // A certificate problem does not go away by retrying fast.
      if (tlsProblem) slow = true;
      rejected = tlsProblem ?? `cannot reach server ${this.url}: ${e.message.split('\n')[0]}`;
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
      const delay = Math.max(this.nextDelay(slow), retryAfterMs);
      const failed = this.url;
      this.at = (this.at + 1) % this.urls.length;
      const next = this.urls.length > 1 ? ` with ${this.url}` : '';
      this.opts.log(
        `${rejected ?? `connection to ${failed} closed (${code})`}; retrying${next} in ${(delay / 1000).toFixed(1)} s`,
      );
      this.retry = setTimeout(() => this.connect(), delay);
    });
  }

  /** The token to present now: the token file's content when there is one (else the last one read). */
  private currentToken(): string {
    if (!this.opts.tokenFile) return this.opts.token;
    try {
      const text = readFileSync(this.opts.tokenFile, 'utf8').trim();
      if (text) this.lastToken = text;
    } catch (e) {
      this.opts.log(
        `cannot read the token file ${this.opts.tokenFile} (${(e as Error).message}); using the last token read`,
      );
    }
    return this.lastToken ?? this.opts.token;
  }

  /** Handles one message; returns the server's refusal, if that is what it was. */
  private receive(ws: WebSocket, text: string): { message: string; retryAfterMs: number } | undefined {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(text);
    } catch (e) {
      this.opts.log(`ignored a message from the server: ${(e as Error).message}`);
      return;
    }
    if (!this.welcomed) {
      if (msg.type === 'refused') {
        ws.close(1000, 'refused');
        const retry = Number(msg.retryAfterMs);
        return {
          message: typeof msg.message === 'string' ? msg.message.slice(0, 2000) : 'no reason given',
          retryAfterMs: Number.isFinite(retry) ? Math.min(Math.max(retry, 0), 3_600_000) : 0,
        };
      }
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

  private heard(): void {
    this.silentTicks = 0;
    this.lastHeard = Date.now();
  }

  private startPing(ws: WebSocket): void {
    this.stopPing();
    this.heard();
    this.serverPinged = false;
    const every = this.opts.pingMs ?? 2000;
    // Ticks, not wall time: after this thread was stopped, the first tick runs before the
    // server's queued messages are read, so it can count at most one tick too many.
    const limit = Math.max(2, Math.ceil((this.opts.serverTimeoutMs ?? 20_000) / every));
    this.pinger = setInterval(() => {
      if (++this.silentTicks >= limit) {
        const s = ((Date.now() - this.lastHeard) / 1000).toFixed(1);
        this.opts.log(`no heartbeat from ${this.url} for ${s} s; reconnecting`);
        this.stopPing();
        ws.terminate();
        return;
      }
      const pinged = this.serverPinged;
      this.serverPinged = false;
      if (!pinged && ws.readyState === WebSocket.OPEN) ws.ping();
    }, every);
    this.pinger.unref();
  }

  private stopPing(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = undefined;
  }
}
