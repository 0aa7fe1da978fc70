/**
 * The setup the request-trace tests share: a real server in this process (so a test hears its
 * request signals and waits on its investigations), a real `periscope agent`, and
 * testdata/traced-service (requests fail for user "mallory", are slow for user "slow"),
 * matched by the spec's program `svc`, plus the helpers to query it and send it requests.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestSignal } from '../src/server/request-signals.js';
import type { RunningServer, ServerOptions } from '../src/server/server.js';
import { startServer } from '../src/server/server.js';
import {
  cliJson,
  fleetTag,
  type Proc,
  sleep,
  startAgentProc,
  startTagged,
  tempDir,
  waitForFleet,
} from './fleet.js';
import { buildFixture } from './go-fixtures.js';
import type { Target } from './target.js';

/** A query result row, by column. */
export type Row = Record<string, unknown>;

/** A running server + agent + traced-service, and the helpers to drive it. */
export interface TracedFleet {
  readonly host: string;
  readonly tag: string;
  readonly dataDir: string;
  /** The server running now (a new one after restartServer()). */
  readonly server: RunningServer;
  readonly agent: Proc;
  readonly target: Target;
  /** traced-service's HTTP port. */
  readonly port: number;
  readonly userToken: string;
  /** Every request signal the server emitted, with when it was heard. */
  readonly signals: (RequestSignal & { at: number })[];
  /** The environment a CLI command of the test runs with. */
  env(): Record<string, string>;
  /** `periscope query --format json SQL`. */
  query(sql: string, more?: readonly string[]): Promise<Row[]>;
  /** Polls `sql` until `ok(rows)` or `ms` pass; returns the last rows. */
  until(sql: string, ok: (rows: Row[]) => boolean, ms?: number): Promise<Row[]>;
  /** GET /work?user=USER&sleep=MS on traced-service. */
  request(user: string, sleepMs?: number): Promise<{ status: number; body: string; at: number }>;
  /** Closes the server and starts a new one on the same port and data directory; resolves once the agent is back with its processes. */
  restartServer(): Promise<void>;
  /** Stops everything it started (and `others`) and removes its data directory. */
  close(others?: readonly Target[]): Promise<void>;
}

/** The spec's `programs:` head that matches traced-service of this fleet as program `svc`. */
export function svcProgram(f: Pick<TracedFleet, 'tag' | 'host'>): string {
  return `programs:\n  - name: svc\n    match: { env.FLEET_AGENT: "^${f.tag}:${f.host}$", executable: "traced-service$" }\n`;
}

/** Starts the server (with `more` of its options), the agent and traced-service (and `extra` fixtures tagged for the agent). */
export async function startTracedFleet(
  host: string,
  extra: readonly { fixture: string; args: readonly string[] }[] = [],
  more: Partial<ServerOptions> = {},
): Promise<{ fleet: TracedFleet; extras: Target[] }> {
  const tag = fleetTag();
  const dataDir = tempDir('periscope-traces-');
  const start = (port: number) =>
    startServer({ port, dataDir, agentLog: () => undefined, log: () => undefined, ...more });
  let server = await start(0);
  const signals: TracedFleet['signals'] = [];
  const listen = (s: RunningServer) =>
    s.context.requestSignals.subscribe((x) => signals.push({ ...x, at: performance.now() }));
  listen(server);
  const userToken = server.firstTokens!.admin;
  const agent = startAgentProc(server.url, server.firstTokens!.agent, host, tag, [
    '--runtime-dir',
    join(dataDir, 'run'),
  ]);
  const { path } = await buildFixture('traced-service');
  const target = await startTagged(path, [], tag, host);
  const port = Number(/port (\d+)/.exec(target.lines.find((l) => l.text.startsWith('ready'))!.text)![1]);
  const extras: Target[] = [];
  for (const e of extra)
    extras.push(await startTagged((await buildFixture(e.fixture)).path, [...e.args], tag, host));
  const everyPid = () => ({ [host]: [target.pid, ...extras.map((t) => t.pid)] });
  await waitForFleet(server.url, userToken, everyPid());
  const env = () => ({ PERISCOPE_TOKEN: userToken, PERISCOPE_SERVER: server.url });
  const query = (sql: string, more: readonly string[] = []) =>
    cliJson<Row[]>(['query', '--format', 'json', ...more, sql], env());
  const fleet: TracedFleet = {
    host,
    tag,
    dataDir,
    get server() {
      return server;
    },
    agent,
    target,
    port,
    userToken,
    signals,
    env,
    query,
    async until(sql, ok, ms = 20_000) {
      const end = Date.now() + ms;
      let rows = await query(sql);
      while (!ok(rows) && Date.now() < end) {
        await sleep(300);
        rows = await query(sql);
      }
      return rows;
    },
    async request(user, sleepMs = 0) {
      const r = await fetch(`http://127.0.0.1:${port}/work?user=${user}&sleep=${sleepMs}`);
      return { status: r.status, body: await r.text(), at: performance.now() };
    },
    async restartServer() {
      const port = server.port;
      await server.close();
      server = await start(port);
      listen(server);
      await waitForFleet(server.url, userToken, everyPid());
    },
    async close(others = []) {
      if (process.env.TRACE_DEBUG) console.error(agent.lines.map((l) => l.text).join('\n'));
      await agent.stop();
      await target.kill();
      for (const t of [...extras, ...others]) await t.kill();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  assert.ok(port > 0, 'traced-service said its port');
  return { fleet, extras };
}
