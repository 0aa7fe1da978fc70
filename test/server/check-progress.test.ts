/**
 * Spec checks and function descriptions wait for an agent as a snapshot's prepare does
 * (agent-progress.ts; prepare-progress.test.ts for the prepare), with a real server and agents
 * that speak the protocol over a real WebSocket: the server asks for progress reports; an
 * agent whose CPU time moves is waited for past --prepare-timeout (a busy machine loading a
 * large binary for the first check); one whose reports stop moving is given up after
 * --prepare-timeout, one that keeps moving at --prepare-max-wait, each saying which bound it
 * hit and which flag to raise.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { FunctionResponse, SpecCheckResponse } from '../../src/api/responses.js';
import type { CheckSpecMessage, DescribeFunctionMessage } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { api, describeProcess, FakeAgent, testServer } from './server-support.js';

const PREPARE_TIMEOUT_MS = 600;
const MAX_WAIT_MS = 2500;
let server: RunningServer;
let admin: string;
const agents: FakeAgent[] = [];

before(async () => {
  server = await testServer(undefined, { prepareTimeoutMs: PREPARE_TIMEOUT_MS, prepareMaxMs: MAX_WAIT_MS });
  admin = server.firstTokens?.admin ?? '';
});

// Every check asks every connected agent: each test's agents go with it.
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
});

after(() => server.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SPEC = 'functions:\n  - function: main.handle\n    table: handled\n    capture:\n      n: n\n';

/** An agent running binary `buildId` that, before it answers a check or a description, runs `during`. */
async function agentAnswering(
  host: string,
  buildId: string,
  during: (msg: CheckSpecMessage | DescribeFunctionMessage, a: FakeAgent) => Promise<void>,
): Promise<FakeAgent> {
  const p = { ...describeProcess(host, 7, ['app']), buildId, executable: '/usr/bin/app' };
  const a = new FakeAgent(host, host, [p], () => ({}) as ProcessSnapshot);
  a.capabilities = ['describe-function'];
  a.specCheck = () => [
    {
      buildId,
      executable: '/usr/bin/app',
      goVersion: 'go1.26.0',
      processes: [p.key],
      problems: [],
      functionsAbsent: [],
    },
  ];
  a.describe = (m) => ({ function: m.function, file: '/src/app/main.go', lines: [], unavailable: [] });
  a.beforeAnswer = (msg) => during(msg, a);
  await a.connect(server.url, server.firstTokens?.agent ?? '');
  agents.push(a);
  return a;
}

/** Reports `cpuMs(i)` every 150 ms for `ms`. */
async function report(a: FakeAgent, requestId: string, ms: number, cpuMs: (i: number) => unknown) {
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < ms; i++) {
    a.send(
      JSON.stringify({ type: 'prepare-progress', requestId, cpuMs: cpuMs(i), pending: 1, elapsedMs: 0 }),
    );
    await sleep(150);
  }
}

/** POST /v1/spec/check, and how long it took. */
async function check(): Promise<{ r: SpecCheckResponse; ms: number }> {
  const t0 = performance.now();
  const res = await api<SpecCheckResponse>(server.url, admin, 'POST', '/v1/spec/check', {
    yaml: SPEC,
    source: 'app.yaml',
  });
  assert.equal(res.status, 200, res.text);
  return { r: res.body, ms: performance.now() - t0 };
}

/** The report of binary `buildId` in a check. */
const binary = (r: SpecCheckResponse, buildId: string) => r.check.binaries.find((b) => b.buildId === buildId);

test('a spec check: the server asks for progress, and waits past --prepare-timeout while the CPU time moves', async () => {
  let asked: unknown;
  await agentAnswering('cp-moving', 'b-moving', async (msg, a) => {
    asked = msg.progressMs;
    await report(a, msg.requestId, 3 * PREPARE_TIMEOUT_MS, (i) => 10 * i);
  });
  const { r, ms } = await check();
  assert.equal(asked, 150, 'progress every quarter of the prepare timeout');
  const b = binary(r, 'b-moving');
  assert.equal(b?.status, 'fits', JSON.stringify(b));
  assert.equal(b?.checkedBy, 'cp-moving');
  assert.ok(ms > 3 * PREPARE_TIMEOUT_MS, `waited for the check (${Math.round(ms)} ms)`);
});

test('a spec check whose reports stop moving is given up after --prepare-timeout, saying so', async () => {
  await agentAnswering('cp-stuck', 'b-stuck', (msg, a) => report(a, msg.requestId, 10_000, () => 42));
  const { r, ms } = await check();
  const b = binary(r, 'b-stuck');
  assert.equal(b?.status, 'not-checked', JSON.stringify(b));
  assert.match(
    b?.reason ?? '',
    /^agent cp-stuck: the agent's spec check made no progress \(no CPU\) for \d+\.\d s/,
  );
  assert.match(b?.reason ?? '', /--prepare-timeout \(now 600 ms\)/);
  assert.ok(ms < MAX_WAIT_MS, `not held to the hard bound (${Math.round(ms)} ms)`);
});

test('a spec check that keeps moving is given up at --prepare-max-wait, saying so', async () => {
  await agentAnswering('cp-long', 'b-long', (msg, a) => report(a, msg.requestId, 10_000, (i) => i));
  const { r, ms } = await check();
  const b = binary(r, 'b-long');
  assert.equal(b?.status, 'not-checked', JSON.stringify(b));
  assert.match(
    b?.reason ?? '',
    /the agent was still checking the spec after \d+\.\d s \(--prepare-max-wait, now 2500 ms\)/,
  );
  assert.ok(ms >= MAX_WAIT_MS, `held to the hard bound (${Math.round(ms)} ms)`);
});

/** GET /v1/spec/function of main.handle in `buildId`, and how long it took. */
async function describe(buildId: string) {
  const t0 = performance.now();
  const r = await api<FunctionResponse>(
    server.url,
    admin,
    'GET',
    `/v1/spec/function?buildId=${buildId}&function=main.handle`,
  );
  return { r, ms: performance.now() - t0 };
}

test('a function description is waited for past --prepare-timeout while the CPU time moves; one that keeps moving is given up at --prepare-max-wait', async () => {
  let asked: unknown;
  await agentAnswering('dp-moving', 'b-dmoving', async (msg, a) => {
    if (msg.type !== 'describe-function') return;
    asked = msg.progressMs;
    await report(a, msg.requestId, 3 * PREPARE_TIMEOUT_MS, (i) => 10 * i);
  });
  const moving = await describe('b-dmoving');
  assert.equal(moving.r.status, 200, moving.r.text);
  assert.equal(moving.r.body.agentId, 'dp-moving');
  assert.equal(asked, 150);
  assert.ok(moving.ms > 3 * PREPARE_TIMEOUT_MS, `waited for the description (${Math.round(moving.ms)} ms)`);

  await agentAnswering('dp-long', 'b-dlong', async (msg, a) => {
    if (msg.type === 'describe-function') await report(a, msg.requestId, 10_000, (i) => i);
  });
  const long = await describe('b-dlong');
  assert.equal(long.r.status, 504, long.r.text);
  assert.match(
    long.r.text,
    /agent dp-long did not describe main\.handle: the agent was still describing the function after \d+\.\d s \(--prepare-max-wait, now 2500 ms\).*ask again/,
  );
  assert.ok(long.ms >= MAX_WAIT_MS, `held to the hard bound (${Math.round(long.ms)} ms)`);
});

test('a function description without reports (an agent before them) gets --prepare-timeout, saying so', async () => {
  await agentAnswering('dp-old', 'b-dold', async (msg) => {
    if (msg.type === 'describe-function') await new Promise(() => undefined);
  });
  const { r, ms } = await describe('b-dold');
  assert.equal(r.status, 504, r.text);
  assert.match(r.text, /no answer to function description within \d+\.\d s and no report of progress/);
  assert.ok(ms < MAX_WAIT_MS, `given up at the prepare timeout (${Math.round(ms)} ms)`);
});
