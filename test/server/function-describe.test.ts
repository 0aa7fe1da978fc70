/**
 * GET /v1/spec/function asks an agent that can describe functions (its hello lists the
 * `describe-function` capability): one that cannot is not asked, and when no agent that has
 * the binary can, the answer says so at once, naming the agent, its version and what to do,
 * instead of a timeout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { AgentsResponse, FunctionResponse } from '../../src/api/responses.js';
import { PROTOCOL_VERSION, type ProcessDescription } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { api, describeProcess, FakeAgent, openSocket, testServer } from './server-support.js';

let server: RunningServer;
const agents: FakeAgent[] = [];

/** A process of the binary `buildId`. */
function processOf(host: string, pid: number, buildId: string): ProcessDescription {
  return { ...describeProcess(host, pid, ['orders']), buildId };
}

async function connect(id: string, procs: ProcessDescription[], capabilities?: string[]): Promise<FakeAgent> {
  const a = new FakeAgent(id, `${id}-host`, procs, () => ({}) as ProcessSnapshot);
  a.capabilities = capabilities;
  // An agent without the capability ignores the question, as agents before describe-function did.
  if (capabilities?.includes('describe-function'))
    a.describe = (m) => ({ function: m.function, file: '/src/orders/main.go', lines: [], unavailable: [] });
  await a.connect(server.url, server.firstTokens?.agent ?? '');
  agents.push(a);
  return a;
}

before(async () => {
  // Without the capability check, the question waits this long for a 504.
  server = await testServer(undefined, { prepareTimeoutMs: 10_000 });
});

after(async () => {
  for (const a of agents) await a.close();
  await server.close();
});

const ask = (buildId: string) =>
  api<FunctionResponse>(
    server.url,
    server.firstTokens?.admin ?? '',
    'GET',
    `/v1/spec/function?buildId=${buildId}&function=main.handle`,
  );

test('an agent that lists no describe-function capability is refused at once with what to do', async () => {
  await connect('old-agent', [processOf('old-agent-host', 11, 'b-old')]);
  const r = await ask('b-old');
  assert.equal(r.status, 409, r.text);
  assert.match(
    r.text,
    /agent old-agent runs Periscope test, which cannot describe functions \(its hello lists no describe-function capability\); upgrade it/,
  );
});

test('of two agents that run the binary, the one that can describe functions is asked', async () => {
  await connect('old-too', [processOf('old-too-host', 21, 'b-both')]);
  await connect('z-new-agent', [processOf('z-new-agent-host', 22, 'b-both')], ['describe-function']);
  const r = await ask('b-both');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.agentId, 'z-new-agent');
  assert.equal(r.body.function, 'main.handle');
  // GET /v1/agents says which agent can and which cannot.
  const list = await api<AgentsResponse>(server.url, server.firstTokens?.admin ?? '', 'GET', '/v1/agents');
  const caps = Object.fromEntries(list.body.agents.map((a) => [a.id, a.capabilities]));
  assert.deepEqual(caps['z-new-agent'], ['describe-function']);
  assert.equal(caps['old-too'], undefined);
});

test('a hello whose capabilities are not a list of strings is refused with what is wrong', async () => {
  for (const capabilities of ['describe-function', [1], Array.from({ length: 65 }, () => 'x')]) {
    const ws = await openSocket(server.url, server.firstTokens?.agent ?? '');
    assert.ok(ws instanceof WebSocket);
    const closed = new Promise<[number, string]>((resolve) =>
      ws.on('close', (code, reason) => resolve([code, reason.toString()])),
    );
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        agentId: 'bad-caps',
        hostname: 'h',
        version: 't',
        capabilities,
      }),
    );
    const [code, reason] = await closed;
    assert.equal(code, 4003);
    assert.match(reason, /"capabilities" at most 64 strings/);
  }
});
