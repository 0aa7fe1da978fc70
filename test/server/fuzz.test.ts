/**
 * Fuzzing the server's two doors with malformed and oversized input (seeded, so a failure
 * reproduces): every /v1 route with damaged bodies, paths, query strings and headers, raw bytes
 * on the port, and agents sending damaged or oversized protocol messages and damaged
 * snapshots. The server answers each with an error (never a 5xx), keeps serving, and stores
 * nothing partial: a snapshot holds exactly the processes that were whole.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import type { QueryResponse, SnapshotTaken } from '../../src/api/responses.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { prng } from '../../support/prng.js';
import {
  api,
  describeProcess,
  eventually,
  FakeAgent,
  openSocket,
  type RealSnapshot,
  realSnapshot,
  testServer,
} from './server-support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
let server: RunningServer;
let admin: string;
let agentToken: string;
let real: RealSnapshot;

before(async () => {
  real = await realSnapshot();
  server = await testServer(undefined, { maxAgentMessageBytes: 8 << 20 });
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
});

after(async () => {
  await server.close();
  await real.target.kill();
});

/** A damaged request body: broken JSON, wrong types, deep nesting, odd bytes. */
function junkBody(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const values: unknown[] = [
    null,
    -1,
    0,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    'x'.repeat(70_000),
    '\u0000\uffff\ud800',
    [],
    {},
    { __proto__: { role: 'admin' } },
    true,
  ];
  const keys = [
    'sql',
    'select',
    'program',
    'all',
    'labels',
    'yaml',
    'role',
    'name',
    'expiresAt',
    'graceSeconds',
    'snapshot',
    '__proto__',
    'constructor',
  ];
  switch (Math.floor(rnd() * 6)) {
    case 0: {
      const bytes = Buffer.alloc(1 + Math.floor(rnd() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
      return bytes.toString('latin1');
    }
    case 1: {
      const text = JSON.stringify({ sql: 'select 1', select: 'program=x', role: 'user' });
      return text.slice(0, Math.floor(rnd() * text.length));
    }
    case 2:
      return `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    case 3:
      return `{${'"a":{'.repeat(20_000)}${'}'.repeat(20_001)}`;
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + rnd() * 4; i++) o[pick(keys)] = pick(values);
      return JSON.stringify(o);
    }
  }
}

function junkSegment(rnd: () => number): string {
  return [
    '%',
    '%zz',
    '..',
    '-1',
    '0',
    '99999999999999999999',
    'abc',
    '%00',
    encodeURIComponent('😀'),
    'a'.repeat(3000),
  ][Math.floor(rnd() * 10)] as string;
}

test('every route answers damaged requests with a 4xx JSON error and the server keeps serving', async () => {
  const rnd = prng(SEED);
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
  const before = await api<{ snapshots: unknown[] }>(server.url, admin, 'GET', '/v1/snapshots');
  let requests = 0;
  for (let round = 0; round < 4; round++)
    for (const route of server.routes) {
      if (route.path === '/v1/agent') continue;
      const path = route.path.replace(/\{\w+\}/g, () => junkSegment(rnd));
      const query = rnd() < 0.5 ? `?${junkSegment(rnd)}=${junkSegment(rnd)}&limit=${junkSegment(rnd)}` : '';
      const method = rnd() < 0.7 ? route.method : (methods[Math.floor(rnd() * methods.length)] as string);
      const body = method === 'GET' || method === 'DELETE' ? undefined : junkBody(rnd);
      const res = await fetch(`${server.url}${path}${query}`, {
        method,
        headers: {
          authorization: `Bearer ${admin}`,
          'content-type': rnd() < 0.5 ? 'application/json' : 'application/yaml',
        },
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      requests++;
      assert.ok(
        res.status < 500,
        `${method} ${path.slice(0, 80)}${query.slice(0, 80)} → ${res.status} ${text.slice(0, 300)}`,
      );
      if (res.status >= 400 && res.headers.get('content-type')?.includes('json'))
        assert.equal(typeof (JSON.parse(text) as { error: { message: string } }).error.message, 'string');
    }
  assert.ok(requests > 40);
  // Oversized: bodies past the limit, headers past Node's, a huge URL.
  for (const path of ['/v1/query', '/v1/snapshots', '/v1/tokens', '/v1/spec']) {
    const big = await api(
      server.url,
      admin,
      path === '/v1/spec' ? 'PUT' : 'POST',
      path,
      `{"sql":"${'x'.repeat(5 << 20)}"}`,
    );
    assert.equal(big.status, 413, path);
  }
  const hugeHeader = await fetch(`${server.url}/v1/agents`, {
    headers: { authorization: `Bearer ${admin}`, 'x-junk': 'x'.repeat(40_000) },
  });
  assert.equal(hugeHeader.status, 431);
  const hugeUrl = await fetch(`${server.url}/v1/snapshots?label=${'a'.repeat(100_000)}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  assert.ok(hugeUrl.status >= 400 && hugeUrl.status < 500, String(hugeUrl.status));
  // Raw bytes on the port, and a request line that is not HTTP.
  for (const raw of [
    Buffer.from([0, 1, 2, 3, 255, 254]),
    Buffer.from('GET / HTTP/9.9\r\n\r\n'),
    Buffer.from('\r\n\r\n\r\n'),
  ]) {
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(new URL(server.url).port), '127.0.0.1', () => s.end(raw));
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
      });
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    assert.match(answer, /^HTTP\/1\.1 4\d\d|^$/);
  }
  assert.equal((await api(server.url, undefined, 'GET', '/v1/health')).status, 200);
  const afterList = await api<{ snapshots: unknown[] }>(server.url, admin, 'GET', '/v1/snapshots');
  assert.equal(afterList.body.snapshots.length, before.body.snapshots.length, 'no snapshot came out of junk');
  const spec = await api(server.url, admin, 'GET', '/v1/spec');
  assert.equal(spec.status, 404, 'no spec came out of junk');
});

/** Replaces one node of a JSON tree, picked at random, by a damaging value. */
function mutate(value: unknown, rnd: () => number): unknown {
  const damage = [null, -1, 'x', 1e308, [], {}, true, '\u0000', Number.NaN] as const;
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 7 || v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      nodes.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k });
      if (nodes.length < 20_000) walk(child, depth + 1);
    }
  };
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  walk(copy, 0);
  const n = nodes[Math.floor(rnd() * nodes.length)];
  if (n) (n.parent as Record<string | number, unknown>)[n.key] = damage[Math.floor(rnd() * damage.length)];
  return copy;
}

test('damaged snapshots from an agent fail their process alone; the stored snapshot holds only whole ones', async () => {
  const rnd = prng(SEED + 1);
  const good = describeProcess('fz-host', 1, ['fz-good']);
  const bad = describeProcess('fz-host', 2, ['fz-bad']);
  const agent = new FakeAgent('fz-agent', 'fz-host', [good, bad], () => real.snapshot);
  await agent.connect(server.url, agentToken);
  await eventually(async () => {
    const r = await api<{ processes: unknown[] }>(
      server.url,
      admin,
      'GET',
      '/v1/processes?select=hostname=fz-host',
    );
    return r.body.processes.length === 2;
  });
  const whole = real.snapshot.goroutines.length;
  let failed = 0;
  try {
    for (let i = 0; i < 25; i++) {
      agent.behaviour.set(bad.key, { snapshot: mutate(real.snapshot, rnd) as ProcessSnapshot });
      const r = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', {
        select: 'hostname=fz-host',
      });
      assert.equal(r.status, 201, r.text);
      const byPid = new Map(r.body.processes.map((p) => [p.pid, p]));
      assert.equal(byPid.get(1)?.ok, true, 'the whole process is stored');
      if (!byPid.get(2)?.ok) failed++;
      const rows = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', {
        sql: 'select pid, count(*) from goroutines join processes using (snapshot_id, process_id) group by pid order by pid',
        snapshot: r.body.snapshotId,
      });
      const counts = new Map(rows.body.rows.map(([pid, n]) => [Number(pid), Number(n)]));
      assert.equal(counts.get(1), whole);
      // The damaged process is stored whole or not at all.
      if (!byPid.get(2)?.ok)
        assert.equal(counts.get(2), undefined, `iteration ${i}: a failed process left rows`);
      else assert.equal(counts.get(2), byPid.get(2)?.goroutines, `iteration ${i}`);
    }
  } finally {
    await agent.close();
  }
  assert.ok(failed > 0, 'some damage was caught');
});

test('damaged and oversized agent messages: ignored or closed with a reason; the server keeps serving', async () => {
  const rnd = prng(SEED + 2);
  const ws = await openSocket(server.url, agentToken);
  assert.ok(ws instanceof WebSocket);
  const hello = {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    agentId: 'fz-proto',
    hostname: 'fz-proto',
    version: 't',
  };
  ws.send(JSON.stringify(hello));
  const templates: unknown[] = [
    hello,
    { type: 'processes', processes: [describeProcess('fz-proto', 9, ['p'])] },
    { type: 'prepared', requestId: 'r', results: [{ key: 'k' }] },
    { type: 'captured', requestId: 'r', key: 'k', startedAt: 1, snapshot: real.snapshot },
    { type: 'captured', requestId: 'r', key: 'k', startedAt: 1, snapshotDeflated: 'not base64 !!' },
    { type: 'spec-checked', requestId: 'r', binaries: [] },
  ];
  for (let i = 0; i < 300; i++) {
    const t = templates[Math.floor(rnd() * templates.length)];
    const text =
      rnd() < 0.3 ? JSON.stringify(t).slice(0, Math.floor(rnd() * 200)) : JSON.stringify(mutate(t, rnd));
    ws.send(text);
  }
  ws.send(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  await eventually(async () => {
    const r = await api<{ processes: unknown[] }>(
      server.url,
      admin,
      'GET',
      '/v1/processes?select=hostname=fz-proto',
    );
    return r.status === 200;
  });
  assert.equal(ws.readyState, WebSocket.OPEN, 'damaged messages are ignored, the connection stays');
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.send('x'.repeat(9 << 20));
  assert.equal(await closed, 1009, 'a message over the limit closes the connection (1009: too big)');
  assert.equal((await api(server.url, undefined, 'GET', '/v1/health')).status, 200);
  // A fresh agent connection still works.
  const again = await openSocket(server.url, agentToken);
  assert.ok(again instanceof WebSocket);
  again.terminate();
});
