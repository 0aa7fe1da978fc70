/**
 * How long the server waits for a prepare (snapshot-run.ts), with a real server and agents
 * that speak the protocol over a real WebSocket: an agent that reports progress (its CPU time
 * moving) is waited for past --prepare-timeout; one whose reports stop moving is given up
 * after --prepare-timeout; a prepare that keeps moving is given up at --prepare-max-wait; an
 * agent of a version before progress reports (it answers nothing meanwhile) gets
 * --prepare-timeout in all, as before. Each error says which bound it hit and which flag to
 * raise. Malformed reports change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SnapshotTaken } from '../../src/api/responses.js';
import type { PrepareMessage } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import {
  api,
  describeProcess,
  FakeAgent,
  type RealSnapshot,
  realSnapshot,
  testServer,
} from './server-support.js';

const PREPARE_TIMEOUT_MS = 600;
const MAX_WAIT_MS = 2500;
let server: RunningServer;
let admin: string;
let agentToken: string;
let real: RealSnapshot;
const agents: FakeAgent[] = [];

before(async () => {
  real = await realSnapshot();
  server = await testServer(undefined, { prepareTimeoutMs: PREPARE_TIMEOUT_MS, prepareMaxMs: MAX_WAIT_MS });
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
});

after(async () => {
  for (const a of agents) await a.close();
  await server.close();
  await real.target.kill();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An agent whose prepare, before it answers, runs `during` (which may report progress). */
async function agentPreparing(
  host: string,
  during: (msg: PrepareMessage, a: FakeAgent) => Promise<void>,
): Promise<FakeAgent> {
  const a = new FakeAgent(host, host, [describeProcess(host, 7, ['app'])], () => real.snapshot);
  a.beforePrepared = (msg) => during(msg, a);
  await a.connect(server.url, agentToken);
  agents.push(a);
  return a;
}

/** Reports `cpuMs(i)` every 150 ms for `ms`. */
async function report(a: FakeAgent, msg: PrepareMessage, ms: number, cpuMs: (i: number) => unknown) {
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < ms; i++) {
    a.send(
      JSON.stringify({
        type: 'prepare-progress',
        requestId: msg.requestId,
        cpuMs: cpuMs(i),
        pending: 1,
        elapsedMs: 0,
      }),
    );
    await sleep(150);
  }
}

async function snapshotOf(host: string): Promise<{ taken: SnapshotTaken; ms: number }> {
  const t0 = performance.now();
  const r = await api<SnapshotTaken>(server.url, admin, 'POST', '/v1/snapshots', {
    select: `hostname=${host}`,
  });
  assert.equal(r.status, 201, r.text);
  return { taken: r.body, ms: performance.now() - t0 };
}

test('the server asks for progress reports, and waits past --prepare-timeout while the CPU time moves', async () => {
  let asked: unknown;
  await agentPreparing('pp-moving', async (msg, a) => {
    asked = msg.progressMs;
    await report(a, msg, 3 * PREPARE_TIMEOUT_MS, (i) => 10 * i);
  });
  const { taken, ms } = await snapshotOf('pp-moving');
  assert.equal(asked, 150, 'progress every quarter of the prepare timeout');
  assert.deepEqual(
    taken.processes.map((p) => [p.ok, p.error?.message]),
    [[true, undefined]],
  );
  assert.ok(ms > 3 * PREPARE_TIMEOUT_MS, `waited for the prepare (${Math.round(ms)} ms)`);
});

test('reports whose CPU time stops moving: given up after --prepare-timeout, saying so', async () => {
  await agentPreparing('pp-stuck', (msg, a) => report(a, msg, 10_000, () => 42));
  const { taken } = await snapshotOf('pp-stuck');
  const e = taken.processes[0]?.error;
  assert.equal(e?.kind, 'TIMEOUT');
  assert.match(e!.message, /made no progress \(no CPU\) for \d+\.\d s/);
  assert.match(e!.message, /--prepare-timeout \(now 600 ms\)/);
});

test('a prepare that keeps moving is given up at --prepare-max-wait, saying so', async () => {
  await agentPreparing('pp-long', (msg, a) => report(a, msg, 10_000, (i) => i));
  const { taken, ms } = await snapshotOf('pp-long');
  const e = taken.processes[0]?.error;
  assert.equal(e?.kind, 'TIMEOUT');
  assert.match(e!.message, /still preparing after \d+\.\d s \(--prepare-max-wait, now 2500 ms\)/);
  assert.match(e!.message, /snapshot again/);
  assert.ok(ms >= MAX_WAIT_MS, `held to the hard bound (${Math.round(ms)} ms)`);
});

test('an agent that reports nothing (before progress reports) gets --prepare-timeout in all; malformed reports change nothing', async () => {
  await agentPreparing('pp-old', async (msg, a) => {
    // Garbage, and reports for another request: none of it is progress.
    a.send(JSON.stringify({ type: 'prepare-progress', requestId: msg.requestId, cpuMs: 'lots' }));
    a.send(JSON.stringify({ type: 'prepare-progress', requestId: msg.requestId }));
    a.send(JSON.stringify({ type: 'prepare-progress', requestId: 'another', cpuMs: 5 }));
    a.send(JSON.stringify({ type: 'prepare-progress', requestId: msg.requestId, cpuMs: Number.NaN }));
    await new Promise(() => undefined);
  });
  const { taken } = await snapshotOf('pp-old');
  const e = taken.processes[0]?.error;
  assert.equal(e?.kind, 'TIMEOUT');
  assert.match(e!.message, /no answer to prepare within \d+\.\d s and no report of progress/);
  assert.match(e!.message, /--prepare-timeout/);
});
