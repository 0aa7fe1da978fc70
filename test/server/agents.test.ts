/**
 * Agent ids and heartbeats at the server, with hand-driven agents over real WebSockets (ws's
 * automatic pong turned off where an agent must play dead): a second agent process with a
 * taken id is refused with a `refused` message, close code 4005 and a listing; an agent that
 * sends no instance (older agents) is refused the same way; the same instance takes its place
 * back; a holder that stops answering is marked unresponsive, its snapshot processes fail with
 * AGENT_UNRESPONSIVE, and a newcomer with its id then replaces it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { AgentView, SnapshotTaken, SpecCheckReport } from '../../src/api/responses.js';
import { PROTOCOL_VERSION, type ServerMessage } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, describeProcess, eventually, testServer } from './server-support.js';

let server: RunningServer;
let admin: string;
let agentToken: string;
const logs: string[] = [];
const open: WebSocket[] = [];

before(async () => {
  server = await testServer(undefined, {
    agentTimeoutMs: 600,
    pingIntervalMs: 100,
    prepareTimeoutMs: 20_000,
    agentLog: (line) => logs.push(line),
  });
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
});

after(async () => {
  for (const ws of open) ws.terminate();
  await server.close();
});

/** An agent driven by hand: its messages, its close, and whether ws answers pings. */
interface RawAgent {
  readonly ws: WebSocket;
  readonly received: ServerMessage[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function rawAgent(id: string, instance: string | undefined, autoPong = true): Promise<RawAgent> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/agent`, {
    headers: { authorization: `Bearer ${agentToken}` },
    autoPong,
  });
  open.push(ws);
  const received: ServerMessage[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const first = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      received.push(JSON.parse(data.toString()) as ServerMessage);
      resolve();
    }),
  );
  ws.send(
    JSON.stringify({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentId: id,
      hostname: 'dup-host',
      version: 'test',
      ...(instance !== undefined ? { instance } : {}),
    }),
  );
  await Promise.race([first, closed]);
  return { ws, received, closed };
}

async function agents(id: string): Promise<AgentView[]> {
  const r = await api<{ agents: AgentView[] }>(server.url, admin, 'GET', '/v1/agents');
  return r.body.agents.filter((a) => a.id === id);
}

test('a second instance with a taken id is refused, listed as refused, and the first keeps its place', async () => {
  const first = await rawAgent('dup', 'aaaa');
  assert.equal(first.received[0]?.type, 'welcome');
  const second = await rawAgent('dup', 'bbbb');
  const refused = second.received[0];
  assert.equal(refused?.type, 'refused');
  assert.ok(refused?.type === 'refused');
  assert.equal(refused.reason, 'duplicate-id');
  assert.ok(refused.retryAfterMs >= 10_000);
  assert.match(
    refused.message,
    /^agent id "dup" is in use by another agent \(hostname dup-host from \S+, connected since .*\); .*--id NAME/,
  );
  assert.deepEqual(await second.closed, { code: 4005, reason: 'agent id in use by another agent' });
  // Older agents send no instance: they cannot prove they are the holder, and are refused too.
  const legacy = await rawAgent('dup', undefined);
  assert.equal(legacy.received[0]?.type, 'refused');
  assert.equal((await legacy.closed).code, 4005);

  const listed = await agents('dup');
  assert.deepEqual(
    listed.map((a) => [a.state, a.instance ?? null, a.attempts ?? null]),
    [
      ['connected', 'aaaa', null],
      ['refused', 'bbbb', 1],
      ['refused', null, 1],
    ],
  );
  assert.equal(first.ws.readyState, WebSocket.OPEN, 'the first is not disturbed');
  assert.ok(
    logs.some((l) => /^refused agent dup from \S+ \(hostname dup-host\): agent id "dup" is in use/.test(l)),
  );

  // The same instance reconnecting (its old connection not yet noticed as gone) takes its place.
  const back = await rawAgent('dup', 'aaaa');
  assert.equal(back.received[0]?.type, 'welcome');
  assert.equal((await first.closed).code, 4000);
  assert.deepEqual(
    (await agents('dup')).filter((a) => a.state !== 'refused').map((a) => [a.state, a.instance]),
    [['connected', 'aaaa']],
  );
  back.ws.close();
  await back.closed;
});

test('a holder that stops answering: unresponsive, AGENT_UNRESPONSIVE in snapshots, then replaced by a newcomer', async () => {
  const holder = await rawAgent('mute', 'cccc', false);
  holder.ws.send(
    JSON.stringify({ type: 'processes', processes: [describeProcess('mute-host', 7, ['mute'])] }),
  );
  await eventually(async () => (await agents('mute'))[0]?.processes === 1, 20_000, 'processes listed');
  await eventually(async () => (await agents('mute'))[0]?.state === 'unresponsive', 20_000, 'unresponsive');
  const [view] = await agents('mute');
  assert.equal(view?.connected, true);
  assert.ok(view?.unresponsiveSince);
  assert.ok(logs.some((l) => /^agent mute is unresponsive: nothing heard since /.test(l)));

  const res = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', { program: 'mute' });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(
    res.body.processes.map((p) => [p.pid, p.error?.kind]),
    [[7, 'AGENT_UNRESPONSIVE']],
  );
  assert.equal(holder.received.filter((m) => m.type === 'prepare').length, 0, 'not even asked');

  const newcomer = await rawAgent('mute', 'dddd');
  assert.equal(newcomer.received[0]?.type, 'welcome');
  assert.equal((await holder.closed).code, 4000);
  assert.deepEqual(
    (await agents('mute')).map((a) => [a.state, a.instance]),
    [['connected', 'dddd']],
  );
  newcomer.ws.close();
  await newcomer.closed;
});

test('an agent that answers again is connected again, on the same connection', async () => {
  const agent = await rawAgent('wakes', 'eeee', false);
  await eventually(async () => (await agents('wakes'))[0]?.state === 'unresponsive', 20_000, 'unresponsive');
  agent.ws.pong(); // anything from the agent is a sign of life
  await eventually(async () => (await agents('wakes'))[0]?.state === 'connected', 20_000, 'connected again');
  assert.ok(logs.some((l) => /^agent wakes answers again after \d+\.\d s of silence$/.test(l)));
  agent.ws.terminate();
});

test('a spec check does not wait for an agent the heartbeats know to be unresponsive: "not checked", at once', async () => {
  const mute = await rawAgent('mute-check', 'ffff', false);
  mute.ws.send(
    JSON.stringify({
      type: 'processes',
      processes: [
        {
          ...describeProcess('mute-check-host', 9, ['mute']),
          buildId: 'b-mute',
          executable: '/usr/bin/mute',
        },
      ],
    }),
  );
  await eventually(async () => (await agents('mute-check'))[0]?.processes === 1, 20_000, 'processes listed');
  await eventually(
    async () => (await agents('mute-check'))[0]?.state === 'unresponsive',
    20_000,
    'unresponsive',
  );
  const t0 = Date.now();
  const checked = await api<{ check: SpecCheckReport; message?: string }>(
    server.url,
    admin,
    'POST',
    '/v1/spec/check',
    {
      yaml: 'functions:\n  - function: main.handle\n    table: handled\n    capture:\n      n: n\n',
      source: 'app.yaml',
    },
  );
  const waited = Date.now() - t0;
  assert.equal(checked.status, 200, checked.text);
  const mine = checked.body.check.binaries.find((b) => b.buildId === 'b-mute');
  assert.equal(mine?.status, 'not-checked', JSON.stringify(checked.body.check));
  assert.match(mine?.reason ?? '', /^agent unresponsive: mute-check has not answered heartbeats since /);
  assert.equal(mute.received.filter((m) => m.type === 'check-spec').length, 0, 'not even asked');
  // The server waits up to its prepare timeout (20 s here) for agents it asks.
  assert.ok(waited < 20_000, `answered after ${waited} ms, not after the whole wait`);
  mute.ws.terminate();
});

test('a spec check stops waiting for an agent that becomes unresponsive while it waits', async () => {
  const mute = await rawAgent('mute-later', 'gggg', false);
  mute.ws.send(
    JSON.stringify({
      type: 'processes',
      processes: [
        {
          ...describeProcess('mute-later-host', 9, ['mute']),
          buildId: 'b-later',
          executable: '/usr/bin/mute',
        },
      ],
    }),
  );
  await eventually(async () => (await agents('mute-later'))[0]?.processes === 1, 20_000, 'processes listed');
  assert.equal((await agents('mute-later'))[0]?.state, 'connected');
  const t0 = Date.now();
  const checked = await api<{ check: SpecCheckReport }>(server.url, admin, 'POST', '/v1/spec/check', {
    yaml: 'functions:\n  - function: main.handle\n    table: handled\n    capture:\n      n: n\n',
  });
  const waited = Date.now() - t0;
  assert.equal(checked.status, 200, checked.text);
  assert.equal(mute.received.filter((m) => m.type === 'check-spec').length, 1, 'it was asked');
  const mine = checked.body.check.binaries.find((b) => b.buildId === 'b-later');
  assert.equal(mine?.status, 'not-checked');
  assert.match(mine?.reason ?? '', /^agent unresponsive: mute-later has not answered heartbeats/);
  assert.ok(waited < 20_000, `answered after ${waited} ms, not after the whole wait`);
  mute.ws.terminate();
});
