/**
 * A slow-request signal on the server's bus, with a real agent monitoring real processes:
 * the investigation snapshots the process the signal names (not its neighbour) while the
 * request is still in flight, and that snapshot's goroutines hold the signalled one, in the
 * handler it is stuck in; its report rows name it. The signal is emitted by hand here, so that
 * a neighbour process is there to be left out; test/traces/trace-investigation.test.ts has the
 * same with the agent's real signal.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import type { InvestigationView } from '../../src/api/investigation-views.js';
import type { ProcessesResponse, QueryResponse, SnapshotTaken } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';
import { api, eventually, testServer } from './server-support.js';

const HOST = 'inv-node';
let server: RunningServer;
let agent: Agent;
let admin: string;
const targets: Target[] = [];

before(async () => {
  const { path } = await buildFixture('httpchain');
  server = await testServer(undefined, { prepareTimeoutMs: 20_000, captureTimeoutMs: 20_000 });
  admin = server.firstTokens?.admin ?? '';
  const id = randomUUID();
  const env = { PERISCOPE_TEST_ID: id };
  // loop: its own handler is the request stuck in flight; c: a neighbour with no request.
  const loop = await startTarget(path, ['-role', 'loop'], env);
  targets.push(loop);
  await loop.waitFor(/^handling \/b/, 10_000);
  targets.push(await startTarget(path, ['-role', 'c'], env));
  agent = new Agent({
    server: server.url,
    token: server.firstTokens?.agent ?? '',
    hostname: HOST,
    agentId: 'inv-agent',
    envAllow: ['PERISCOPE_TEST_ID'],
    localMatch: { 'env.PERISCOPE_TEST_ID': `^${id}$` },
    intervalMs: 500,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    // Not a test of the pause cap: the tests' cap (support/pause-cap.ts), not 100 ms on a busy machine.
    executor: { pauseCapMs: TEST_PAUSE_CAP_MS },
    log: () => undefined,
  });
  agent.start();
  await eventually(
    async () =>
      (await api<ProcessesResponse>(server.url, admin, 'GET', '/v1/processes')).body.processes?.length === 2,
    20_000,
    'both processes monitored',
  );
});

after(async () => {
  agent.stop();
  await server.close();
  for (const t of targets) await t.kill();
});

async function sql(q: string, snapshot: number): Promise<QueryResponse> {
  const r = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', { sql: q, snapshot });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('a slow-request signal snapshots that process while the request is in flight; its goroutine is there', async () => {
  const [loop, neighbour] = targets as [Target, Target];
  // Where the request's goroutine is: what the trace side would send in the signal.
  const first = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', { all: true });
  assert.equal(first.status, 201, first.text);
  assert.ok(
    first.body.processes.every((p) => p.ok),
    JSON.stringify(first.body.processes.map((p) => p.error)),
  );
  const handler = await sql(
    `SELECT goroutine_id FROM frames WHERE function = 'main.handleC' AND process_id = '${HOST}:${loop.pid}'`,
    first.body.snapshotId,
  );
  assert.equal(
    handler.rows.length,
    1,
    JSON.stringify(
      (
        await sql(
          "SELECT process_id, function FROM frames WHERE function LIKE 'main.%'",
          first.body.snapshotId,
        )
      ).rows,
    ),
  );
  const goroutine = Number(handler.rows[0]?.[0]);

  const added = await api<InvestigationView>(server.url, admin, 'POST', '/v1/investigations', {
    name: 'slow-b',
    question: 'what does a slow /b request wait on?',
    triggers: [{ slow: { over: '1s' } }],
    report: [
      {
        name: 'request',
        sql: `SELECT goroutine_id, wait_reason FROM goroutines WHERE goroutine_id = ${goroutine}`,
      },
    ],
  });
  assert.equal(added.status, 201, added.text);
  server.signals.emit({
    kind: 'slow',
    trace: 'http',
    agentId: 'inv-agent',
    process: `${HOST}:${loop.pid}`,
    pid: loop.pid,
    goroutine,
    requestId: 'r-77',
    elapsedMs: 1500,
  });
  await server.investigations.idle();
  const shown = await api<InvestigationView>(server.url, admin, 'GET', '/v1/investigations/slow-b');
  const firing = shown.body.firings?.[0];
  assert.ok(firing?.snapshotId, JSON.stringify(firing));
  assert.equal(firing.error, undefined);
  assert.equal(firing.requestId, 'r-77');
  assert.notEqual(firing.snapshotId, first.body.snapshotId);

  const procs = await sql('SELECT pid FROM processes', firing.snapshotId);
  assert.deepEqual(procs.rows, [[loop.pid]], `only the signalled process, not ${neighbour.pid}`);
  const g = await sql(
    `SELECT g.goroutine_id FROM goroutines g JOIN frames f USING (snapshot_id, process_id, goroutine_id) WHERE f.function = 'main.handleC'`,
    firing.snapshotId,
  );
  assert.deepEqual(g.rows, [[goroutine]], 'the request is still in its handler in the snapshot');
  const report = await sql(
    `SELECT request_id, snapshot_id, row ->> 'goroutine_id' FROM investigation_reports WHERE firing_id = ${firing.id}`,
    firing.snapshotId,
  );
  assert.deepEqual(report.rows, [['r-77', firing.snapshotId, String(goroutine)]]);
});
