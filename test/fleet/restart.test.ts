/**
 * Fleet faults around the connection, with the real binaries: agents with a wrong token (and
 * with a user token) are refused, say so in one clear line and keep retrying, while the CLI
 * gets a clear 401; a server restart (SIGTERM, then a new `periscope server` on the same port
 * and data directory) while agents are connected: they reconnect by themselves, the spec,
 * tokens and old snapshots (with their links and metadata) are all still there, and a new
 * snapshot works.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  agentIdOf,
  cli,
  cliJson,
  createToken,
  type FleetSnapshot,
  fleetTag,
  type ListedAgent,
  type Proc,
  type ServerProc,
  sleep,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import type { Target } from '../../support/target.js';
import { buildGrpcPair, GRPC_VARIANTS } from '../links/variants.js';

type Row = Record<string, unknown>;

const SPEC = `
derived:
  - name: fleet_waiting
    sql: SELECT snapshot_id, process_id, count(*) AS waiting FROM goroutines WHERE status = 'waiting' GROUP BY ALL
`;

const WRONG = 'psk_000000000000_notarealtokennotarealtoken';
const REJECTED =
  /rejected the agent token \(HTTP (\d+)\); check --token \/ PERISCOPE_TOKEN.*; retrying in (\d+\.\d) s$/;

const tag = fleetTag();
let dataDir = '';
let server: ServerProc | undefined;
let userToken = '';
let agentToken = '';
const agents = new Map<string, Proc>();
const refused = new Map<string, Proc>();
const targets: Target[] = [];
let grpcServer: Target;
let grpcClient: Target;
let refusedSince = 0;

const env = () => ({ PERISCOPE_TOKEN: userToken });

async function snapshotAll(label: string): Promise<FleetSnapshot & { specVersion: number | null }> {
  return cliJson(['snapshot', '--server', server!.url, '--all', '--label', label, '--json'], env());
}

async function queryAll(sql: string): Promise<Row[]> {
  return cliJson<Row[]>(['query', '--server', server!.url, '--all', '--format', 'json', sql], env());
}

async function connectedAgents(): Promise<string[]> {
  const r = await cli(['agents', '--server', server!.url, '--json'], env());
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout) as ListedAgent[])
    .filter((x) => x.connected && x.processes > 0)
    .map((x) => x.hostname)
    .sort();
}

before(async () => {
  dataDir = tempDir('periscope-fleet-restart-');
  const grpc = await buildGrpcPair(GRPC_VARIANTS.at(-1)!, 'local');
  userToken = await createToken(dataDir, 'user', 'restart-user');
  agentToken = await createToken(dataDir, 'agent', 'restart-agents');
  server = await startServerProc(dataDir);
  for (const h of ['host-x', 'host-y']) agents.set(h, startAgentProc(server.url, agentToken, h, tag));
  refusedSince = performance.now();
  refused.set('wrong', startAgentProc(server.url, WRONG, 'host-wrong', tag));
  refused.set('user', startAgentProc(server.url, userToken, 'host-user', tag));
  grpcServer = await startTagged(grpc.path, ['server'], tag, 'host-y');
  targets.push(grpcServer);
  const addr = /listening (\S+)/.exec(grpcServer.lines[0]!.text)![1]!;
  grpcClient = await startTagged(grpc.path, ['client', addr, 'both'], tag, 'host-x');
  targets.push(grpcClient);
  await waitForFleet(server.url, userToken, { 'host-x': [grpcClient.pid], 'host-y': [grpcServer.pid] });
});

after(async () => {
  for (const p of [...agents.values(), ...refused.values()]) await p.stop();
  for (const t of targets.reverse()) await t.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a wrong token: the agent logs one clear line and stays up to retry; the CLI gets a clear 401', async () => {
  for (const [which, status] of [
    ['wrong', '401'],
    ['user', '403'],
  ] as const) {
    const line = await refused.get(which)!.waitFor(REJECTED, 10_000);
    const [, code, delay] = REJECTED.exec(line.text)!;
    assert.equal(code, status, line.text);
    assert.ok(
      Number(delay) >= 15 && Number(delay) <= 30,
      `retries slowly after a rejected token: ${line.text}`,
    );
    assert.equal(refused.get(which)!.exited(), false, 'the agent keeps running');
  }
  const listed = await cliJson<ListedAgent[]>(['agents', '--server', server!.url, '--json'], env());
  assert.deepEqual(
    listed.map((x) => x.id).sort(),
    ['host-x', 'host-y'].map(agentIdOf),
    'agents with a refused token are never listed',
  );

  for (const args of [
    ['snapshot', '--server', server!.url, '--all', '--label', 'test=wrong-token'],
    ['query', '--server', server!.url, 'SELECT 1'],
    ['agents', '--server', server!.url],
  ]) {
    const r = await cli([...args, '--token', WRONG]);
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /the server refused the token \(401\): .*Give a valid one with --token or \$PERISCOPE_TOKEN/,
      args[0],
    );
  }
  const none = await cli(['snapshot', '--server', server!.url, '--all']);
  assert.match(none.stderr, /401/);
  const snaps = await queryAll('SELECT count(*) AS n FROM snapshots');
  assert.deepEqual(snaps, [{ n: 0 }], 'a refused request takes no snapshot');
});

test('a server restart while agents are connected: they reconnect by themselves; old snapshots, spec and tokens survive; a new snapshot works', async (t) => {
  // A spec version, so the restart has more than snapshots to keep.
  const put = await fetch(`${server!.url}/v1/spec`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/yaml' },
    body: SPEC,
  });
  assert.equal(put.status < 300, true, await put.text());
  for (const p of agents.values()) await p.waitFor(/spec version 1: /, 10_000);

  const before = await snapshotAll('test=restart-before');
  assert.equal(before.specVersion, 1);
  assert.deepEqual(before.processes.map((p) => [p.hostname, p.ok]).sort(), [
    ['host-x', true],
    ['host-y', true],
  ]);

  const port = server!.port;
  const stoppedAt = performance.now();
  assert.equal(await server!.proc.stop('SIGTERM'), 0, `the server stops cleanly: ${server!.proc.tail()}`);
  for (const p of agents.values()) await p.waitFor(/disconnected from /, 10_000, stoppedAt);
  const down = await cli(['agents', '--server', server!.url], env());
  assert.match(down.stderr, /connection refused/);

  server = await startServerProc(dataDir, `127.0.0.1:${port}`);
  const restartedAt = performance.now();
  assert.ok(!server.proc.lines.some((l) => /First start/.test(l.text)), 'no new first tokens');
  const end = Date.now() + 45_000;
  while ((await connectedAgents()).join() !== 'host-x,host-y') {
    assert.ok(Date.now() < end, 'agents reconnected within 45 s');
    await sleep(200);
  }
  t.diagnostic(
    `agents back ${Math.round(performance.now() - restartedAt)} ms after the new server listened, ` +
      `${Math.round(performance.now() - stoppedAt)} ms after SIGTERM`,
  );
  for (const p of agents.values()) {
    assert.ok(p.matching(/connected to ws:/).length >= 2, p.tail());
    assert.equal(p.exited(), false);
  }

  const afterSnap = await snapshotAll('test=restart-after');
  assert.equal(afterSnap.snapshotId, before.snapshotId + 1);
  assert.equal(afterSnap.specVersion, 1);
  assert.deepEqual(afterSnap.processes.map((p) => [p.hostname, p.pid, p.ok]).sort(), [
    ['host-x', grpcClient.pid, true],
    ['host-y', grpcServer.pid, true],
  ]);

  // Both snapshots, their links and the spec's derived table, from the restarted server.
  assert.deepEqual(
    await queryAll(
      `SELECT s.snapshot_id, s.labels->>'test' AS test, s.spec_version, s.process_count,
        (SELECT count(*) FROM links l WHERE l.snapshot_id = s.snapshot_id AND l.link LIKE 'grpc%') AS grpc_links
       FROM snapshots s ORDER BY 1`,
    ),
    [
      {
        snapshot_id: before.snapshotId,
        test: 'restart-before',
        spec_version: 1,
        process_count: 2,
        grpc_links: 2,
      },
      {
        snapshot_id: afterSnap.snapshotId,
        test: 'restart-after',
        spec_version: 1,
        process_count: 2,
        grpc_links: 2,
      },
    ],
  );
  const waiting = await queryAll(
    'SELECT snapshot_id, count(*) AS n FROM fleet_waiting GROUP BY 1 ORDER BY 1',
  );
  assert.deepEqual(waiting, [
    { snapshot_id: before.snapshotId, n: 2 },
    { snapshot_id: afterSnap.snapshotId, n: 2 },
  ]);
  // The server-side metadata of the old snapshot (skew, per-process agents) survived too.
  const detail = (await (
    await fetch(`${server.url}/v1/snapshots/${before.snapshotId}`, {
      headers: { authorization: `Bearer ${userToken}` },
    })
  ).json()) as { captureSkewMs?: number; processes: { agentId?: string }[] };
  assert.equal(detail.captureSkewMs, before.captureSkewMs);
  assert.deepEqual(detail.processes.map((p) => p.agentId).sort(), ['host-x', 'host-y'].map(agentIdOf));
});

test('refused agents keep retrying (the restarted server refuses them too)', async () => {
  // A rejected token is retried every 15-30 s: wait for the second attempt.
  for (const p of refused.values()) {
    const first = p.matching(REJECTED, refusedSince)[0]!;
    await p.waitFor(REJECTED, Math.max(1000, 32_000 - (performance.now() - first.t)), first.t + 1);
    assert.ok(p.matching(REJECTED).length >= 2, p.tail());
    assert.equal(p.exited(), false);
    assert.equal(p.matching(/connected to ws:/).length, 0, 'a refused agent never connects');
  }
});
