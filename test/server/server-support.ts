/**
 * Test support for the server: a real server on 127.0.0.1:0 with a temp data directory, a
 * small JSON API caller, and a fake agent that speaks the protocol over a real WebSocket
 * (the real agent is written concurrently). Its `captured` answers carry real snapshots of a
 * fixture process, taken with snapshotProcess. SharedServers: servers in this process sharing a
 * real PostgreSQL, for the tests of a scaled-out store's servers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  type AgentMessage,
  type BinaryCheck,
  type CaptureMessage,
  type CheckSpecMessage,
  type DescribeFunctionMessage,
  PROTOCOL_VERSION,
  type PrepareMessage,
  type ProcessDescription,
  type ProcessError,
  type ServerMessage,
} from '../../src/protocol/messages.js';
import { type RunningServer, type ServerOptions, startServer } from '../../src/server/server.js';
import type { FunctionLines } from '../../src/snapshot/function-lines.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';
import { freshObjectsUrl, startTestPostgres, type TestPostgres } from '../store/shared/shared-support.js';

/** A fresh temp data directory. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'periscope-server-'));
}

/** Starts a server on a free port (short timeouts so fault tests stay fast; agent events not logged). */
export function testServer(
  dataDir = tempDataDir(),
  opts: Partial<ServerOptions> = {},
): Promise<RunningServer> {
  return startServer({
    port: 0,
    dataDir,
    prepareTimeoutMs: 3000,
    captureTimeoutMs: 3000,
    agentLog: () => undefined,
    ...opts,
  });
}

/** An API answer: status, parsed JSON (or text) and headers. */
export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
  readonly headers: Headers;
}

/** Calls the API; `body` strings are sent as they are (to test malformed JSON). */
export async function api<T = Record<string, unknown>>(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  }).catch((e: unknown) => {
    // "fetch failed" alone does not say why: the cause (a reset, a refusal) does.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `${method} ${path.slice(0, 100)}: ${(e as Error).message}: ${cause?.code} ${cause?.message}`,
    );
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed as T, text, headers: res.headers };
}

/** What a fake agent does when asked to capture one process. */
export type CaptureBehaviour =
  | { readonly snapshot: ProcessSnapshot }
  | { readonly error: ProcessError }
  | { readonly hang: true }
  | { readonly disconnect: true };

/** A process description for tests. */
export function describeProcess(
  hostname: string,
  pid: number,
  programs: string[],
  labels: Record<string, string> = {},
) {
  const p: ProcessDescription = {
    key: `${hostname}:${pid}:1000`,
    hostname,
    pid,
    executable: `/usr/bin/${programs[0] ?? 'app'}`,
    cmdline: [`/usr/bin/${programs[0] ?? 'app'}`],
    labels: { hostname, pid: String(pid), exe_name: programs[0] ?? 'app', ...labels },
    goVersion: 'go1.24',
    programs,
  };
  return p;
}

/** The result of opening a WebSocket: the socket, or the HTTP status of the refused upgrade. */
export function openSocket(url: string, token: string | undefined): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/agent`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** A fake agent over a real WebSocket. */
export class FakeAgent {
  readonly received: ServerMessage[] = [];
  /** Per process key: what to do on capture (default: the agent's default snapshot). */
  readonly behaviour = new Map<string, CaptureBehaviour>();
  /** Per process key: an error to answer `prepare` with. */
  readonly prepareErrors = new Map<string, ProcessError>();
  /** What to answer `check-spec` with (default: no binaries checked); undefined: no answer at all. */
  specCheck: ((spec: string) => BinaryCheck[]) | undefined = () => [];
  /** The capabilities its hello lists (undefined: none listed, as agents before the list). */
  capabilities: readonly string[] | undefined;
  /** Awaited before answering `prepare` (it may send `prepare-progress` meanwhile; never resolving: no answer). */
  beforePrepared: ((msg: PrepareMessage) => Promise<void>) | undefined;
  /** What to answer `describe-function` with; undefined: no answer at all. */
  describe: ((msg: DescribeFunctionMessage) => FunctionLines) | undefined;
  /** Awaited before answering `check-spec` or `describe-function` (it may send `prepare-progress` meanwhile). */
  beforeAnswer: ((msg: CheckSpecMessage | DescribeFunctionMessage) => Promise<void>) | undefined;
  private ws: WebSocket | undefined;
  private welcomeWaiters: ((m: ServerMessage) => void)[] = [];

  constructor(
    readonly id: string,
    readonly hostname: string,
    readonly processes: ProcessDescription[],
    readonly defaultSnapshot: () => ProcessSnapshot,
  ) {}

  /** Connects, says hello, waits for welcome, and reports its processes. */
  async connect(url: string, token: string): Promise<ServerMessage> {
    const ws = await openSocket(url, token);
    if (typeof ws === 'number') throw new Error(`agent upgrade refused with ${ws}`);
    this.ws = ws;
    ws.on('message', (data) => this.onMessage(JSON.parse(data.toString()) as ServerMessage));
    const welcome = new Promise<ServerMessage>((resolve) => this.welcomeWaiters.push(resolve));
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentId: this.id,
      hostname: this.hostname,
      version: 'test',
      ...(this.capabilities ? { capabilities: this.capabilities } : {}),
    });
    const w = await welcome;
    this.send({ type: 'processes', processes: this.processes });
    // The server handles an agent's messages one after another, the list of processes only once
    // its hello is done (the probe orders are its last message), and it has read the list once
    // it answers a ping sent after it: then a request made now sees them (tests snapshot at once).
    await this.roundTrip();
    while (!this.received.some((m) => m.type === 'probes')) await new Promise((r) => setTimeout(r, 5));
    return w;
  }

  /** Resolves once the server answers a ping sent now: it has read every message sent before. */
  roundTrip(): Promise<void> {
    const ws = this.ws;
    if (!ws) return Promise.reject(new Error(`agent ${this.id} is not connected`));
    return new Promise<void>((resolve) => {
      ws.once('pong', () => resolve());
      ws.ping();
    });
  }

  /** Sends a message (or raw text). */
  send(msg: AgentMessage | string): void {
    this.ws?.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Closes the connection abruptly. */
  drop(): void {
    this.ws?.terminate();
  }

  /** Closes the connection cleanly and waits for it to end. */
  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
  }

  private onMessage(msg: ServerMessage): void {
    this.received.push(msg);
    if (msg.type === 'welcome') for (const w of this.welcomeWaiters.splice(0)) w(msg);
    if (msg.type === 'prepare') this.prepare(msg);
    if (msg.type === 'capture') this.capture(msg);
    if (msg.type === 'check-spec' || msg.type === 'describe-function') void this.answer(msg);
  }

  private async answer(msg: CheckSpecMessage | DescribeFunctionMessage): Promise<void> {
    await this.beforeAnswer?.(msg);
    if (msg.type === 'check-spec' && this.specCheck)
      this.send({ type: 'spec-checked', requestId: msg.requestId, binaries: this.specCheck(msg.spec) });
    if (msg.type === 'describe-function' && this.describe)
      this.send({ type: 'function-described', requestId: msg.requestId, lines: this.describe(msg) });
  }

  private async prepare(msg: PrepareMessage): Promise<void> {
    await this.beforePrepared?.(msg);
    const results = msg.keys.map((key) => {
      const error = this.prepareErrors.get(key);
      return error ? { key, error } : { key };
    });
    this.send({ type: 'prepared', requestId: msg.requestId, results });
  }

  private capture(msg: CaptureMessage): void {
    for (const key of msg.keys) {
      const b = this.behaviour.get(key) ?? { snapshot: this.defaultSnapshot() };
      if ('hang' in b) continue;
      if ('disconnect' in b) {
        this.drop();
        return;
      }
      const pid = this.processes.find((p) => p.key === key)?.pid ?? 0;
      this.send({
        type: 'captured',
        requestId: msg.requestId,
        key,
        startedAt: Date.now(),
        ...('snapshot' in b ? { snapshot: { ...b.snapshot, pid } } : { error: b.error }),
      });
    }
  }
}

/** A running fixture and one real snapshot of it (taken once per test file). */
export interface RealSnapshot {
  readonly target: Target;
  readonly snapshot: ProcessSnapshot;
}

/**
 * Starts the `goroutines` fixture and snapshots it for real. A snapshot that fails kills the
 * fixture: the caller never gets it to kill, and a fixture left running kept the test file's
 * process alive after its tests, so the whole run hung instead of failing.
 */
export async function realSnapshot(): Promise<RealSnapshot> {
  const { path } = await buildFixture('goroutines');
  const target = await startTarget(path);
  try {
    return { target, snapshot: snapshotProcess(target.pid, { pauseCapMs: TEST_PAUSE_CAP_MS }) };
  } catch (e) {
    await target.kill();
    throw e;
  }
}

/** Waits until `cond` holds (polling), or fails after `ms`. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  ms = 3000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A spec of program `orders` with probe `cache_get` on main.get (investigations with probe triggers). */
export const CACHE_GET_SPEC = `programs:
  - name: orders
    match: { exe_name: '^orders$' }
probes:
  - name: cache_get
    program: orders
    function: main.get
    capture: { key: key }
`;

/**
 * Servers in this process sharing one real PostgreSQL and one file:// object directory, the
 * FakeAgents connected to them, and (when started with `real`) a real snapshot those agents
 * answer with. Made at the top of a test file: `before(() => s.start())`,
 * `after(() => s.close())`; close stops whatever was started, so a failed start leaks nothing.
 */
export class SharedServers {
  private started: { pg?: TestPostgres; real?: RealSnapshot; objects?: string } = {};
  private readonly servers: RunningServer[] = [];
  private readonly agents: FakeAgent[] = [];

  /** Starts PostgreSQL (and the goroutines fixture with its real snapshot when `real`). */
  async start(opts: { readonly real?: boolean } = {}): Promise<void> {
    this.started.objects = freshObjectsUrl();
    const [pg, real] = await Promise.allSettled([
      startTestPostgres().then((p) => (this.started.pg = p)),
      opts.real ? realSnapshot().then((r) => (this.started.real = r)) : undefined,
    ]);
    for (const r of [pg, real]) if (r.status === 'rejected') throw r.reason;
  }

  /** The PostgreSQL. */
  get pg(): TestPostgres {
    if (!this.started.pg) throw new Error('SharedServers: PostgreSQL is not started');
    return this.started.pg;
  }

  /** The fixture and its real snapshot (start with `real`). */
  get real(): RealSnapshot {
    if (!this.started.real) throw new Error('SharedServers: started without a real snapshot');
    return this.started.real;
  }

  /** A server on the shared store (`shared` adds to its options); closed by `close`. */
  async server(
    opts: Partial<ServerOptions> = {},
    shared: Partial<NonNullable<ServerOptions['shared']>> = {},
  ): Promise<RunningServer> {
    const s = await testServer(tempDataDir(), {
      ...opts,
      shared: { store: this.pg.url, objects: this.started.objects!, ...shared },
    });
    this.servers.push(s);
    return s;
  }

  /** A FakeAgent that answers with the real snapshot (not connected yet); closed by `close`. */
  agent(id: string, hostname: string, processes: ProcessDescription[]): FakeAgent {
    const a = new FakeAgent(id, hostname, processes, () => this.real.snapshot);
    this.agents.push(a);
    return a;
  }

  /** Closes the agents, then the servers, stops PostgreSQL and kills the fixture. */
  async close(): Promise<void> {
    for (const a of this.agents) await a.close();
    for (const s of this.servers) await s.close();
    this.started.pg?.stop();
    await this.started.real?.target.kill();
  }
}
