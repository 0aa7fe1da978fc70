import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { AgentView, ProcessView } from '../../src/api/responses.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import { TokenStore } from '../../src/store/tokens.js';
import {
  api,
  describeProcess,
  eventually,
  FakeAgent,
  openSocket,
  tempDataDir,
  testServer,
} from './server-support.js';

let server: RunningServer;
let dataDir: string;
let admin: string;
let agentToken: string;
let user: string;

before(async () => {
  dataDir = tempDataDir();
  server = await testServer(dataDir);
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
  const created = await api<{ token: string; role: string }>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    name: 'alice',
  });
  assert.equal(created.status, 201);
  user = created.body.token;
});

after(() => server.close());

const DATA_ROUTES: [string, string, unknown?][] = [
  ['GET', '/v1/agents'],
  ['GET', '/v1/processes'],
  ['GET', '/v1/snapshots'],
  ['GET', '/v1/snapshots/1'],
  ['POST', '/v1/snapshots', { all: true }],
  ['POST', '/v1/query', { sql: 'select 1' }],
  ['GET', '/v1/spec'],
  ['PUT', '/v1/spec', { yaml: 'functions: []' }],
  ['GET', '/v1/spec/versions'],
  ['GET', '/v1/tokens'],
];

test('the first start creates one admin and one agent token; health is public', async () => {
  assert.match(admin, /^psk_[0-9a-f]{12}_/);
  assert.match(agentToken, /^psk_[0-9a-f]{12}_/);
  const health = await api(server.url, undefined, 'GET', '/v1/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
});

test('no token or a wrong token: 401 on every data route and on the agent upgrade', async () => {
  const forged = `${admin.slice(0, -4)}AAAA`;
  for (const token of [undefined, 'nonsense', forged]) {
    for (const [method, path, body] of DATA_ROUTES) {
      const r = await api(server.url, token, method, path, body);
      assert.equal(r.status, 401, `${method} ${path} with ${token ?? 'no token'}`);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    assert.equal(await openSocket(server.url, token), 401);
  }
});

test('an agent token cannot read data (403); user and admin tokens cannot connect as agents (403)', async () => {
  for (const [method, path, body] of DATA_ROUTES) {
    const r = await api<{ error: { message: string } }>(server.url, agentToken, method, path, body);
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.match(r.body.error.message, /agent token/);
  }
  assert.equal(await openSocket(server.url, user), 403);
  assert.equal(await openSocket(server.url, admin), 403);
  const ws = await openSocket(server.url, agentToken);
  assert.ok(ws instanceof WebSocket);
  ws.terminate();
});

test('a user token reads data but cannot manage tokens', async () => {
  assert.equal((await api(server.url, user, 'GET', '/v1/agents')).status, 200);
  assert.equal((await api(server.url, user, 'GET', '/v1/tokens')).status, 403);
  assert.equal((await api(server.url, user, 'POST', '/v1/tokens', { role: 'admin' })).status, 403);
});

test('a revoked token stops working at once, also when revoked through the data directory (the CLI)', async () => {
  const viaApi = await api<{ token: string; id: string }>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
  });
  assert.equal((await api(server.url, viaApi.body.token, 'GET', '/v1/agents')).status, 200);
  assert.equal((await api(server.url, admin, 'DELETE', `/v1/tokens/${viaApi.body.id}`)).status, 200);
  assert.equal((await api(server.url, viaApi.body.token, 'GET', '/v1/agents')).status, 401);

  const cli = new TokenStore(dataDir);
  const { token, info } = cli.create('agent', 'from-cli');
  const ws = await openSocket(server.url, token);
  assert.ok(ws instanceof WebSocket, 'a token created by the CLI works without a restart');
  ws.terminate();
  cli.revoke(info.id);
  assert.equal(await openSocket(server.url, token), 401);
  const listed = await api<{ tokens: { id: string; revokedAt?: string; hash?: string }[] }>(
    server.url,
    admin,
    'GET',
    '/v1/tokens',
  );
  const entry = listed.body.tokens.find((t) => t.id === info.id);
  assert.ok(entry?.revokedAt);
  assert.equal(entry?.hash, undefined, 'hashes never leave the server');
  assert.equal((await api(server.url, admin, 'DELETE', '/v1/tokens/000000000000')).status, 404);
  assert.equal((await api(server.url, admin, 'POST', '/v1/tokens', { role: 'root' })).status, 400);
});

test('malformed request bodies get 400; unknown routes 404; wrong methods 405; the server keeps serving', async () => {
  for (const [method, path] of [
    ['POST', '/v1/snapshots'],
    ['POST', '/v1/query'],
    ['POST', '/v1/tokens'],
  ] as const) {
    for (const body of ['{', '[1,2]', '"text"', 'null{']) {
      const r = await api<{ error: { code: string } }>(server.url, admin, method, path, body);
      assert.equal(r.status, 400, `${method} ${path} ${body}`);
    }
  }
  const typeErr = await api(server.url, admin, 'POST', '/v1/query', { sql: 42 });
  assert.equal(typeErr.status, 400);
  const badSql = await api<{ error: { message: string } }>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select frobnicate(',
  });
  assert.equal(badSql.status, 400);
  const write = await api(server.url, admin, 'POST', '/v1/query', { sql: 'drop table goroutines' });
  assert.equal(write.status, 400);
  const fileRead = await api(server.url, admin, 'POST', '/v1/query', {
    sql: `select * from read_text('${dataDir}/tokens.json')`,
  });
  assert.equal(fileRead.status, 400, 'user SQL cannot read the server files');
  assert.equal((await api(server.url, admin, 'GET', '/v1/nothing-here')).status, 404);
  assert.equal((await api(server.url, admin, 'DELETE', '/v1/agents')).status, 405);
  assert.equal((await api(server.url, agentToken, 'GET', '/v1/agent')).status, 426);
  const page = await api(server.url, undefined, 'GET', '/');
  assert.equal(page.status, 200);
  // The web app when it is built (npm run build), else the placeholder page saying how to build it.
  assert.match(page.text, /<title>Periscope<\/title>/);
  assert.equal((await api(server.url, undefined, 'GET', '/v1/health')).status, 200);
});

test('malformed agent messages are ignored; the connection and the server keep working', async () => {
  const ws = await openSocket(server.url, agentToken);
  assert.ok(ws instanceof WebSocket);
  const got: string[] = [];
  ws.on('message', (d) => got.push(JSON.parse(d.toString()).type));
  for (const junk of ['{', '42', '{"type":"nope"}', '{"no":"type"}', JSON.stringify({ type: 'processes' })])
    ws.send(junk);
  ws.send(Buffer.from([1, 2, 3]), { binary: true });
  ws.send(
    JSON.stringify({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentId: 'junk-agent',
      hostname: 'junk',
      version: 't',
    }),
  );
  await eventually(() => got.includes('welcome'), 3000, 'welcome after junk');
  for (const junk of [
    { type: 'processes', processes: 'not a list' },
    { type: 'processes', processes: [{ key: 5 }, null, describeProcess('junk', 7, ['j'])] },
    { type: 'prepared', requestId: 'no-such-request', results: 'x' },
    { type: 'captured', requestId: {}, key: [], startedAt: 'soon' },
    { type: 'hello', protocol: 1, agentId: 'other', hostname: 'h', version: 'v' },
  ])
    ws.send(JSON.stringify(junk));
  await eventually(async () => {
    const r = await api<{ processes: ProcessView[] }>(
      server.url,
      admin,
      'GET',
      '/v1/processes?select=hostname=junk',
    );
    return r.body.processes.length === 1;
  });
  assert.ok(server.agents.malformed >= 6);
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.terminate();
});

test('an agent speaking another protocol version is closed with a reason', async () => {
  const ws = await openSocket(server.url, agentToken);
  assert.ok(ws instanceof WebSocket);
  const closed = new Promise<[number, string]>((resolve) =>
    ws.on('close', (code, r) => resolve([code, r.toString()])),
  );
  ws.send(JSON.stringify({ type: 'hello', protocol: 99, agentId: 'future', hostname: 'h', version: '9' }));
  const [code, reason] = await closed;
  assert.equal(code, 4001);
  assert.match(reason, /protocol 99/);
});

test('after a restart with the same data directory, tokens and snapshots survive and agents reconnect', async () => {
  const dir = tempDataDir();
  const first = await testServer(dir);
  const adminTok = first.firstTokens?.admin ?? '';
  const agentTok = first.firstTokens?.agent ?? '';
  const a = new FakeAgent('restart-a', 'restart-host', [describeProcess('restart-host', 9, ['svc'])], () => ({
    pid: 9,
    executable: '/usr/bin/svc',
    buildId: undefined,
    goVersion: 'go1.24',
    takenAt: new Date().toISOString(),
    mode: 'paused',
    pauseNs: 1000,
    phasesNs: { stop: 1, copy: 1, values: 0, resume: 1 },
    bytesRead: 0,
    decodeNs: 1,
    threads: 1,
    goroutines: [],
    allglen: 0,
    truncated: false,
    specFunctionsAbsent: [],
  }));
  await a.connect(first.url, agentTok);
  await eventually(
    async () =>
      (await api<{ processes: ProcessView[] }>(first.url, adminTok, 'GET', '/v1/processes')).body.processes
        .length === 1,
  );
  const snap = await api<{ snapshotId: number }>(first.url, adminTok, 'POST', '/v1/snapshots', {
    all: true,
    labels: { phase: 'before-restart' },
  });
  assert.equal(snap.status, 201, snap.text);
  await first.close();

  const second = await testServer(dir);
  try {
    assert.equal(second.firstTokens, undefined, 'no new first tokens');
    const list = await api<{ snapshots: { snapshotId: number }[] }>(
      second.url,
      adminTok,
      'GET',
      '/v1/snapshots?label=phase=before-restart',
    );
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.snapshots.map((s) => s.snapshotId),
      [snap.body.snapshotId],
    );
    const one = await api<{ captureSkewMs: number; processes: unknown[] }>(
      second.url,
      adminTok,
      'GET',
      `/v1/snapshots/${snap.body.snapshotId}`,
    );
    assert.equal(one.body.processes.length, 1);
    assert.equal(typeof one.body.captureSkewMs, 'number');
    await a.connect(second.url, agentTok);
    await eventually(async () => {
      const agents = (await api<{ agents: AgentView[] }>(second.url, adminTok, 'GET', '/v1/agents')).body
        .agents;
      return agents.some((x) => x.id === 'restart-a' && x.connected && x.processes === 1);
    });
    await a.close();
  } finally {
    await second.close();
  }
});
