import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AgentView, ProcessView, SnapshotTaken } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import type { QueryResult, SnapshotInfo } from '../../src/store/store.js';
import {
  api,
  describeProcess,
  eventually,
  FakeAgent,
  type RealSnapshot,
  realSnapshot,
  testServer,
} from './server-support.js';

let server: RunningServer;
let admin: string;
let agentToken: string;
let real: RealSnapshot;
let twoAgentsSnapshot = 0;

before(async () => {
  real = await realSnapshot();
  server = await testServer();
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
});

after(async () => {
  await server.close();
  await real.target.kill();
});

function agent(id: string, host: string, procs: [number, string[], Record<string, string>?][]): FakeAgent {
  return new FakeAgent(
    id,
    host,
    procs.map(([pid, programs, labels]) => describeProcess(host, pid, programs, labels)),
    () => real.snapshot,
  );
}

test('the registry shows connected agents and their processes; processes filter by selector', async () => {
  const a = agent('reg-a', 'reg-host-a', [
    [11, ['orders'], { 'env.ENV': 'prod' }],
    [12, ['billing'], {}],
  ]);
  const b = agent('reg-b', 'reg-host-b', [[21, ['orders'], { 'env.ENV': 'staging' }]]);
  const welcome = await a.connect(server.url, agentToken);
  assert.equal(welcome.type, 'welcome');
  await b.connect(server.url, agentToken);
  const procs = async (sel: string) =>
    (
      await api<{ processes: ProcessView[] }>(
        server.url,
        admin,
        'GET',
        `/v1/processes?select=${encodeURIComponent(sel)}`,
      )
    ).body.processes;
  await eventually(async () => (await procs('hostname~reg-host-.*')).length === 3, 3000, 'three processes');
  assert.deepEqual(
    (await procs('program=orders')).map((p) => [p.agentId, p.pid]),
    [
      ['reg-a', 11],
      ['reg-b', 21],
    ],
  );
  assert.deepEqual(
    (await procs('program=orders,env.ENV!=prod')).map((p) => p.pid),
    [21],
  );
  const bad = await api(server.url, admin, 'GET', '/v1/processes?select=program~(');
  assert.equal(bad.status, 400);

  // a new `processes` message replaces the list
  a.send({ type: 'processes', processes: [describeProcess('reg-host-a', 13, ['orders'])] });
  await eventually(
    async () => (await procs('hostname=reg-host-a')).map((p) => p.pid).join() === '13',
    3000,
    'replaced list',
  );

  // disconnecting keeps the agent, marked, and drops its processes from what is monitored
  await b.close();
  await eventually(async () => {
    const agents = (await api<{ agents: AgentView[] }>(server.url, admin, 'GET', '/v1/agents')).body.agents;
    const rb = agents.find((x) => x.id === 'reg-b');
    return rb?.connected === false && typeof rb.disconnectedAt === 'string';
  });
  assert.equal((await procs('hostname=reg-host-b')).length, 0);
  const ra = (await api<{ agents: AgentView[] }>(server.url, admin, 'GET', '/v1/agents')).body.agents.find(
    (x) => x.id === 'reg-a',
  );
  assert.equal(ra?.connected, true);
  assert.equal(ra?.hostname, 'reg-host-a');
  assert.equal(ra?.processes, 1);
  await a.close();
});

test('a snapshot across two agents stores real data, with a per-process error for the one that failed', async () => {
  const a = agent('snap-a', 'snap-host-a', [
    [101, ['checkout']],
    [102, ['checkout']],
  ]);
  const b = agent('snap-b', 'snap-host-b', [
    [201, ['checkout']],
    [202, ['checkout']],
  ]);
  b.behaviour.set('snap-host-b:202:1000', {
    error: { kind: 'PROCESS_MISSING', message: 'process 202 exited' },
  });
  a.prepareErrors.set('snap-host-a:102:1000', { kind: 'BINARY_STRIPPED', message: 'no DWARF' });
  await a.connect(server.url, agentToken);
  await b.connect(server.url, agentToken);
  await eventually(
    async () =>
      (
        await api<{ processes: ProcessView[] }>(
          server.url,
          admin,
          'GET',
          '/v1/processes?select=program=checkout',
        )
      ).body.processes.length === 4,
  );
  const res = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', {
    select: 'program=checkout',
    labels: { test: 'two-agents', incident: '42' },
  });
  assert.equal(res.status, 201, res.text);
  const r = res.body;
  assert.ok(r.snapshotId > 0);
  const byPid = new Map(r.processes.map((p) => [p.pid, p]));
  assert.equal(byPid.get(101)?.ok, true);
  assert.equal(byPid.get(201)?.ok, true);
  assert.equal(byPid.get(102)?.error?.kind, 'BINARY_STRIPPED');
  assert.equal(byPid.get(202)?.error?.kind, 'PROCESS_MISSING');
  assert.equal(byPid.get(101)?.goroutines, real.snapshot.goroutines.length);
  assert.ok(r.captureSkewMs >= 0 && r.captureSkewMs < 2000, `skew ${r.captureSkewMs}`);
  // both agents got prepare, then capture, with the same request id
  for (const ag of [a, b]) {
    const types = ag.received
      .filter((m) => 'requestId' in m && m.requestId === r.requestId)
      .map((m) => m.type);
    assert.deepEqual(types.slice(0, 2), ['prepare', 'capture']);
  }

  // stored: GET one, and SQL over the real goroutines
  const one = await api<{
    processes: { pid: number; ok: boolean; error?: { kind: string } }[];
    labels: object;
  }>(server.url, admin, 'GET', `/v1/snapshots/${r.snapshotId}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body.labels, { test: 'two-agents', incident: '42' });
  assert.equal(one.body.processes.length, 4);
  const q = await api<QueryResult>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select process_id, count(*) as n from goroutines group by process_id order by process_id',
    snapshot: r.snapshotId,
  });
  assert.equal(q.status, 200, q.text);
  assert.deepEqual(
    q.body.rows.map((row) => [row[0], Number(row[1])]),
    [
      ['snap-host-a:101', real.snapshot.goroutines.length],
      ['snap-host-b:201', real.snapshot.goroutines.length],
    ],
  );
  twoAgentsSnapshot = r.snapshotId;
  const csv = await api(server.url, admin, 'POST', '/v1/query', {
    sql: 'select pid from processes order by pid',
    snapshot: r.snapshotId,
    format: 'csv',
  });
  assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
  assert.equal(csv.text, 'pid\r\n101\r\n102\r\n201\r\n202\r\n');

  // labels are searchable
  const found = await api<{ snapshots: SnapshotInfo[] }>(
    server.url,
    admin,
    'GET',
    '/v1/snapshots?label=incident=42',
  );
  assert.deepEqual(
    found.body.snapshots.map((s) => s.snapshotId),
    [r.snapshotId],
  );
  const regex = await api<{ snapshots: SnapshotInfo[] }>(
    server.url,
    admin,
    'GET',
    '/v1/snapshots?label=test~two-.*',
  );
  assert.ok(regex.body.snapshots.some((s) => s.snapshotId === r.snapshotId));
  const none = await api<{ snapshots: SnapshotInfo[] }>(
    server.url,
    admin,
    'GET',
    '/v1/snapshots?label=incident=43',
  );
  assert.equal(none.body.snapshots.length, 0);
  await a.close();
  await b.close();
});

test('per-process errors are in the processes table', async () => {
  const r = { snapshotId: twoAgentsSnapshot };
  const errs = await api<QueryResult>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select pid, error from processes where error is not null order by pid',
    snapshot: r.snapshotId,
  });
  assert.deepEqual(
    errs.body.rows.map((row) => [Number(row[0]), String(row[1]).split(':')[0]]),
    [
      [102, 'BINARY_STRIPPED'],
      [202, 'PROCESS_MISSING'],
    ],
  );
});

test('an agent that disconnects mid-snapshot gives AGENT_DISCONNECTED; one that hangs gives TIMEOUT; the snapshot completes', async () => {
  const a = agent('mid-a', 'mid-host-a', [[301, ['payments']]]);
  const b = agent('mid-b', 'mid-host-b', [
    [401, ['payments']],
    [402, ['payments']],
  ]);
  const c = agent('mid-c', 'mid-host-c', [[501, ['payments']]]);
  b.behaviour.set('mid-host-b:401:1000', { disconnect: true });
  c.behaviour.set('mid-host-c:501:1000', { hang: true });
  for (const x of [a, b, c]) await x.connect(server.url, agentToken);
  await eventually(
    async () =>
      (
        await api<{ processes: ProcessView[] }>(
          server.url,
          admin,
          'GET',
          '/v1/processes?select=program=payments',
        )
      ).body.processes.length === 4,
  );
  const t0 = Date.now();
  const res = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', {
    program: 'payments',
    labels: { test: 'faults' },
  });
  assert.equal(res.status, 201, res.text);
  const kinds = Object.fromEntries(res.body.processes.map((p) => [p.pid, p.error?.kind ?? 'ok']));
  assert.deepEqual(kinds, {
    301: 'ok',
    401: 'AGENT_DISCONNECTED',
    402: 'AGENT_DISCONNECTED',
    501: 'TIMEOUT',
  });
  assert.ok(Date.now() - t0 < 6000, 'bounded by the capture timeout');
  // the hanging agent was told to forget the request
  assert.ok(c.received.some((m) => m.type === 'abort' && m.requestId === res.body.requestId));
  const list = await api<{ snapshots: SnapshotInfo[] }>(
    server.url,
    admin,
    'GET',
    '/v1/snapshots?label=test=faults',
  );
  assert.equal(list.body.snapshots[0]?.snapshotId, res.body.snapshotId);
  await a.close();
  await c.close();
});

test('concurrent snapshot requests do not interfere', async () => {
  const a = agent('conc-a', 'conc-host-a', [
    [601, ['alpha']],
    [602, ['beta']],
  ]);
  await a.connect(server.url, agentToken);
  await eventually(
    async () =>
      (
        await api<{ processes: ProcessView[] }>(
          server.url,
          admin,
          'GET',
          '/v1/processes?select=hostname=conc-host-a',
        )
      ).body.processes.length === 2,
  );
  const [x, y] = await Promise.all([
    api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', {
      select: 'program=alpha',
      labels: { run: 'x' },
    }),
    api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', {
      select: 'program=beta',
      labels: { run: 'y' },
    }),
  ]);
  assert.equal(x.status, 201, x.text);
  assert.equal(y.status, 201, y.text);
  assert.notEqual(x.body.requestId, y.body.requestId);
  assert.notEqual(x.body.snapshotId, y.body.snapshotId);
  assert.deepEqual(
    x.body.processes.map((p) => [p.pid, p.ok]),
    [[601, true]],
  );
  assert.deepEqual(
    y.body.processes.map((p) => [p.pid, p.ok]),
    [[602, true]],
  );
  await a.close();
});

test('snapshot requests that select nothing or are malformed get clear 4xx answers', async () => {
  const none = await api(server.url, admin, 'POST', '/v1/snapshots', { select: 'program=nothing-runs-this' });
  assert.equal(none.status, 422);
  assert.match(JSON.stringify(none.body), /no process/);
  const noSel = await api(server.url, admin, 'POST', '/v1/snapshots', { labels: { a: 'b' } });
  assert.equal(noSel.status, 400);
  const badLabels = await api(server.url, admin, 'POST', '/v1/snapshots', { all: true, labels: ['x'] });
  assert.equal(badLabels.status, 400);
  const missing = await api(server.url, admin, 'GET', '/v1/snapshots/999999');
  assert.equal(missing.status, 404);
  const badId = await api(server.url, admin, 'GET', '/v1/snapshots/abc');
  assert.equal(badId.status, 400);
});
