/**
 * The WebSocket endpoint agents connect to (`/v1/agent`): authenticates the upgrade with an
 * agent token (401 without a valid one, 403 for user and admin tokens), waits for `hello`,
 * answers `welcome` with the current spec (or `refused` when another agent holds the id),
 * then feeds `processes` to the registry and `prepared`/`captured` to the orchestrator, and
 * keeps heartbeats with each agent (agent-heartbeat.ts). Malformed messages are ignored (and
 * counted); they never close the server or another agent's connection. Logs one line per
 * agent event.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
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
import { Heartbeats } from './agent-heartbeat.js';
import type { ServerContext } from './context.js';
import { toHttpError } from './http-errors.js';
import { authorize, bearer } from './http-router.js';
import type { AgentConnection, AgentHello } from './registry.js';

/** Tunables of the agent endpoint. */
export interface AgentEndpointOptions {
  readonly helloTimeoutMs?: number;
  /** An agent silent this long (ms, default 5000) is unresponsive: its snapshots fail with AGENT_UNRESPONSIVE. */
  readonly agentTimeoutMs?: number;
  /** Heartbeat interval, ms (default: a fifth of the agent timeout, at most 1000). */
  readonly pingIntervalMs?: number;
  /** Largest message accepted (a `captured` carries a whole process snapshot). */
  readonly maxMessageBytes?: number;
  /** One line per agent event (default: stdout with a timestamp). */
  readonly log?: (line: string) => void;
  /** Mutual TLS: refuse an agent whose connection did not present a certificate the server's client CA signed. */
  readonly requireClientCert?: boolean;
}

/** How long a refused agent is asked to wait before it tries again, ms. */
export const REFUSED_RETRY_MS = 15_000;
/** An agent unresponsive this long (or 12 timeouts, whichever is longer) is disconnected. */
const CLOSE_UNRESPONSIVE_MS = 60_000;

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
  private readonly heartbeats: Heartbeats;
  private readonly log: (line: string) => void;
  /** Messages ignored because they were malformed (for tests and the health page). */
  malformed = 0;

  constructor(
    private readonly ctx: ServerContext,
    private readonly opts: AgentEndpointOptions = {},
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? 1 << 30 });
    const timeoutMs = opts.agentTimeoutMs ?? 5000;
    this.heartbeats = new Heartbeats({
      intervalMs: opts.pingIntervalMs ?? Math.min(1000, Math.max(50, timeoutMs / 5)),
      timeoutMs,
      closeAfterMs: Math.max(CLOSE_UNRESPONSIVE_MS, 12 * timeoutMs),
    });
    this.log = opts.log ?? ((line) => console.log(`${new Date().toISOString()} ${line}`));
  }

  /** Handles an HTTP upgrade request (any path; only /v1/agent is accepted). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/v1/agent') {
      reject(socket, 404, 'Not Found', 'the agent endpoint is /v1/agent');
      return;
    }
    if (this.opts.requireClientCert) {
      const tlsSocket = req.socket as Partial<TLSSocket>;
      if (tlsSocket.authorized !== true) {
        const why = tlsSocket.getPeerCertificate?.()?.subject
          ? `its certificate was not accepted (${String(tlsSocket.authorizationError ?? 'not signed by the client CA')})`
          : 'it presented no certificate';
        this.log(`refused an agent from ${req.socket.remoteAddress ?? '?'}: mutual TLS, ${why}`);
        reject(
          socket,
          403,
          'Forbidden',
          `this server requires agents to present a client certificate signed by its --tls-client-ca, and ${why}; give the agent --client-cert FILE and --client-key FILE`,
        );
        return;
      }
    }
    let token: TokenInfo | undefined;
    try {
      token = authorize(this.ctx.tokens, req, 'agent');
    } catch (e) {
      const err = toHttpError(e);
      reject(socket, err.status, err.status === 401 ? 'Unauthorized' : 'Forbidden', err.message);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket, token));
  }

  /** Closes every agent connection. */
  close(): void {
    this.heartbeats.close();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private accept(ws: WebSocket, req: IncomingMessage, socket: Duplex, token: TokenInfo | undefined): void {
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
    const helloTimer = setTimeout(() => {
      if (!agentId) ws.close(4002, 'no hello received; the first message must be "hello"');
    }, this.opts.helloTimeoutMs ?? 10_000);
    this.heartbeats.track(ws, socket, {
      unresponsive: (lastHeard) => {
        if (!agentId || !this.ctx.registry.isCurrent(agentId, conn)) return;
        this.log(
          `agent ${agentId} is unresponsive: nothing heard since ${lastHeard.toISOString()} ` +
            `(${seconds(Date.now() - lastHeard.getTime())} s); its processes fail with AGENT_UNRESPONSIVE until it answers`,
        );
        this.ctx.registry.unresponsive(agentId, conn, lastHeard);
      },
      answered: (silentMs) => {
        if (!agentId || !this.ctx.registry.isCurrent(agentId, conn)) return;
        this.log(`agent ${agentId} answers again after ${seconds(silentMs)} s of silence`);
        this.ctx.registry.responsive(agentId, conn);
      },
    });
    const presented = bearer(req);
    ws.on('pong', () => {
      // A token revoked, expired or rotated away while connected ends the connection.
      if (!this.ctx.tokens.verify(presented)) {
        const why = this.ctx.tokens.refusal(presented) ?? 'the agent token is no longer valid';
        this.log(`disconnected agent ${agentId ?? '?'}: ${why}`);
        ws.close(4006, `${why}; the agent needs its new token`.slice(0, 120));
        return;
      }
      if (agentId) this.ctx.registry.touch(agentId, conn);
    });
    // A protocol error (a message over the limit: 1009) is closed by ws itself with its code,
    // before this runs; anything else (a reset socket) ends the connection here.
    ws.on('error', () => {
      if (ws.readyState !== ws.CLOSING) ws.terminate();
    });
    ws.on('close', (code) => {
      clearTimeout(helloTimer);
      if (agentId && this.ctx.registry.isCurrent(agentId, conn)) {
        this.log(`agent ${agentId} disconnected (${code})`);
        this.ctx.registry.disconnect(agentId, conn);
      }
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
    if (
      !str(msg.agentId, 200) ||
      typeof msg.hostname !== 'string' ||
      typeof msg.version !== 'string' ||
      (msg.instance !== undefined && !str(msg.instance, 100)) ||
      (msg.capabilities !== undefined &&
        (!Array.isArray(msg.capabilities) ||
          msg.capabilities.length > MAX_CAPABILITIES ||
          !msg.capabilities.every((c) => str(c, 100))))
    ) {
      this.malformed++;
      // A close reason holds at most 123 bytes.
      conn.close(
        4003,
        `hello needs "agentId", "hostname" and "version" strings ("instance", if any, a string; "capabilities" at most ${MAX_CAPABILITIES} strings)`,
      );
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
    const hello: AgentHello = {
      agentId: msg.agentId,
      hostname: msg.hostname.slice(0, 500),
      version: msg.version.slice(0, 100),
      ...(msg.instance !== undefined ? { instance: msg.instance } : {}),
      ...(msg.capabilities !== undefined ? { capabilities: [...msg.capabilities] } : {}),
    };
    const from = req.socket.remoteAddress;
    const admission = this.ctx.registry.connect(hello, conn, {
      ...(from ? { remoteAddress: from } : {}),
      ...(token ? { tokenName: token.name } : {}),
    });
    if (!admission.admitted) {
      this.log(
        `refused agent ${hello.agentId} from ${from ?? '?'} (hostname ${hello.hostname}): ${admission.message}`,
      );
      conn.send({
        type: 'refused',
        reason: 'duplicate-id',
        message: admission.message,
        retryAfterMs: REFUSED_RETRY_MS,
      });
      conn.close(4005, 'agent id in use by another agent');
      return undefined;
    }
    this.log(
      `agent ${hello.agentId} connected from ${from ?? '?'} (hostname ${hello.hostname}, version ${hello.version})`,
    );
    conn.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      specVersion: spec?.version ?? 0,
      spec: spec?.yaml ?? '',
    });
    conn.send(await this.ctx.probeOrders.message());
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
      case 'prepare-progress':
        // Of a snapshot's prepare, a spec check or a function description (each ignores the others' ids).
        this.ctx.orchestrator.prepareProgress(agentId, msg);
        this.ctx.specChecks.progress(agentId, msg);
        this.ctx.functions.progress(agentId, msg);
        return;
      case 'captured':
        this.ctx.orchestrator.captured(agentId, msg);
        return;
      case 'spec-checked':
        this.ctx.specChecks.answered(agentId, msg);
        return;
      case 'function-described':
        this.ctx.functions.answered(agentId, msg);
        return;
      case 'probe-batch':
        void this.ctx.probes.batch(agentId, msg);
        return;
      case 'probe-status':
        this.ctx.probes.status(agentId, msg);
        return;
      case 'trace-batch':
        void this.ctx.traces.batch(agentId, msg);
        return;
      case 'trace-slow':
        this.ctx.traces.slow(agentId, msg);
        return;
      case 'hello':
        this.malformed++;
        return;
    }
  }
}

/** Most capabilities a hello may list (this version lists AGENT_CAPABILITIES). */
const MAX_CAPABILITIES = 64;

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
