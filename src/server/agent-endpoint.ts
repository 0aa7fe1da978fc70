/**
 * The WebSocket endpoint agents connect to (`/v1/agent`): authenticates the upgrade with an
 * agent token (401 without a valid one, 403 for user and admin tokens), waits for `hello`,
 * answers `welcome` with the current spec, then feeds `processes` to the registry and
 * `prepared`/`captured` to the orchestrator. Malformed messages are ignored (and counted);
 * they never close the server or another agent's connection.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  type AgentMessage,
  type HelloMessage,
  PROTOCOL_VERSION,
  type ProcessDescription,
  parseAgentMessage,
  type ServerMessage,
} from '../protocol/messages.js';
import type { TokenInfo } from '../store/token-types.js';
import type { ServerContext } from './context.js';
import { toHttpError } from './http-errors.js';
import { authorize } from './http-router.js';
import type { AgentConnection } from './registry.js';

/** Tunables of the agent endpoint. */
export interface AgentEndpointOptions {
  readonly helloTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  /** Largest message accepted (a `captured` carries a whole process snapshot). */
  readonly maxMessageBytes?: number;
}

function reject(socket: Duplex, status: number, reason: string, message: string): void {
  const body = JSON.stringify({ error: { code: reason, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}Connection: close\r\n\r\n${body}`,
  );
}

const str = (v: unknown, max = 500): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** Keeps only process descriptions of the expected shape. */
export function validProcesses(list: unknown): ProcessDescription[] {
  if (!Array.isArray(list)) return [];
  return list.filter((p): p is ProcessDescription => {
    const o = p as Partial<ProcessDescription> | null;
    return (
      typeof o === 'object' &&
      o !== null &&
      str(o.key) &&
      typeof o.hostname === 'string' &&
      typeof o.pid === 'number' &&
      typeof o.executable === 'string' &&
      Array.isArray(o.programs) &&
      o.programs.every((x) => typeof x === 'string') &&
      typeof o.labels === 'object' &&
      o.labels !== null &&
      Array.isArray(o.cmdline ?? [])
    );
  });
}

/** The agents' WebSocket endpoint. */
export class AgentEndpoint {
  private readonly wss: WebSocketServer;
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly pinger: NodeJS.Timeout;
  /** Messages ignored because they were malformed (for tests and the health page). */
  malformed = 0;

  constructor(
    private readonly ctx: ServerContext,
    private readonly opts: AgentEndpointOptions = {},
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? 1 << 30 });
    this.pinger = setInterval(() => this.ping(), opts.pingIntervalMs ?? 20_000);
    this.pinger.unref();
  }

  /** Handles an HTTP upgrade request (any path; only /v1/agent is accepted). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/v1/agent') {
      reject(socket, 404, 'Not Found', 'the agent endpoint is /v1/agent');
      return;
    }
    let token: TokenInfo | undefined;
    try {
      token = authorize(this.ctx.tokens, req, 'agent');
    } catch (e) {
      const err = toHttpError(e);
      reject(socket, err.status, err.status === 401 ? 'Unauthorized' : 'Forbidden', err.message);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, token));
  }

  /** Closes every agent connection. */
  close(): void {
    clearInterval(this.pinger);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private accept(ws: WebSocket, req: IncomingMessage, token: TokenInfo | undefined): void {
    const conn: AgentConnection = {
      send: (msg: ServerMessage) => {
        if (ws.readyState !== ws.OPEN) return false;
        ws.send(JSON.stringify(msg));
        return true;
      },
      close: (code, reason) => ws.close(code, reason),
    };
    let agentId: string | undefined;
    let chain: Promise<void> = Promise.resolve();
    this.alive.set(ws, true);
    const helloTimer = setTimeout(() => {
      if (!agentId) ws.close(4002, 'no hello received; the first message must be "hello"');
    }, this.opts.helloTimeoutMs ?? 10_000);
    ws.on('pong', () => {
      this.alive.set(ws, true);
      if (agentId) this.ctx.registry.touch(agentId, conn);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (agentId) this.ctx.registry.disconnect(agentId, conn);
    });
    ws.on('message', (data, isBinary) => {
      let msg: AgentMessage;
      try {
        if (isBinary) throw new Error('binary frame');
        msg = parseAgentMessage(data.toString());
      } catch {
        this.malformed++;
        return;
      }
      chain = chain
        .then(async () => {
          if (!agentId) {
            if (msg.type !== 'hello') return void this.malformed++;
            agentId = await this.hello(msg, conn, req, token);
            if (agentId) clearTimeout(helloTimer);
            return;
          }
          this.dispatch(agentId, conn, msg);
        })
        .catch((e: unknown) => {
          this.malformed++;
          console.error(`periscope server: agent ${agentId ?? '?'}: ${(e as Error).message}`);
        });
    });
  }

  private async hello(
    msg: HelloMessage,
    conn: AgentConnection,
    req: IncomingMessage,
    token: TokenInfo | undefined,
  ): Promise<string | undefined> {
    if (!str(msg.agentId, 200) || typeof msg.hostname !== 'string' || typeof msg.version !== 'string') {
      this.malformed++;
      conn.close(4003, 'hello needs "agentId", "hostname" and "version" strings');
      return undefined;
    }
    if (msg.protocol !== PROTOCOL_VERSION) {
      conn.close(
        4001,
        `protocol ${String(msg.protocol)} is not supported; this server speaks ${PROTOCOL_VERSION}`,
      );
      return undefined;
    }
    const spec = await this.ctx.store.currentSpec();
    this.ctx.registry.connect(msg, conn, {
      ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}),
      ...(token ? { tokenName: token.name } : {}),
    });
    conn.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      specVersion: spec?.version ?? 0,
      spec: spec?.yaml ?? '',
    });
    return msg.agentId;
  }

  private dispatch(agentId: string, conn: AgentConnection, msg: AgentMessage): void {
    if (!this.ctx.registry.isCurrent(agentId, conn)) return;
    this.ctx.registry.touch(agentId, conn);
    switch (msg.type) {
      case 'processes':
        this.ctx.registry.setProcesses(agentId, conn, validProcesses(msg.processes));
        return;
      case 'prepared':
        this.ctx.orchestrator.prepared(agentId, msg);
        return;
      case 'captured':
        this.ctx.orchestrator.captured(agentId, msg);
        return;
      case 'spec-checked':
        this.ctx.specChecks.answered(agentId, msg);
        return;
      case 'hello':
        this.malformed++;
        return;
    }
  }

  private ping(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }
}
