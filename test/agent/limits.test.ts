/**
 * Limits: a process over its capture budget is reported as TIMEOUT, never blocks the next
 * process, and is left running (the capture thread that held it is terminated and the
 * kernel releases its tracees); prepared state expires.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';

function traced(pid: number): { state: string; tracer: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  return {
    state: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!,
    tracer: Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1]),
  };
}

test('a process over its capture budget: TIMEOUT, the next process is still captured, the slow one runs on', async () => {
  const [big, small] = await Promise.all([buildFixture('pausebench'), buildFixture('exprs')]);
  const server = await FakeServer.start(TOKEN);
  server.spec = { version: 1, text: '' };
  const a = startAgent(server.url, TOKEN, { executor: { captureBudgetMs: 400, preparedTtlMs: 60_000 } });
  const targets: Target[] = [];
  try {
    targets.push(await startTarget(big.path, ['-n', '100000'], a.env, /^ready \d+/));
    targets.push(await startTarget(small.path, [], a.env));
    const [slow, fast] = targets;
    const slowPid = slow!.child.pid ? await childPid(slow!.child.pid) : 0;
    const m = await server.waitFor(
      'processes',
      (x) => x.processes.some((p) => p.pid === slowPid) && x.processes.some((p) => p.pid === fast!.pid),
      30_000,
    );
    const key = (pid: number) => m.processes.find((p) => p.pid === pid)!.key;
    const keys = [key(slowPid), key(fast!.pid)];
    server.send({ type: 'prepare', requestId: 't1', keys, specVersion: 1 });
    const prepared = await server.waitFor('prepared', (x) => x.requestId === 't1', 30_000);
    assert.ok(
      prepared.results.every((r) => !r.error),
      JSON.stringify(prepared.results),
    );
    server.send({ type: 'capture', requestId: 't1', keys });
    const first = await server.waitFor('captured', (x) => x.key === keys[0], 20_000);
    assert.equal(first.error?.kind, 'TIMEOUT');
    const second = await server.waitFor('captured', (x) => x.key === keys[1], 20_000);
    assert.equal(second.error, undefined, second.error?.message);
    await a.waitLog(/capture thread: capture took over 400 ms; restarting the thread/);
    // The slow process was not left stopped or traced: the kernel detaches it when the
    // terminated thread has exited, which a busy machine may take a while to get to.
    let st = traced(slowPid);
    for (
      const end = Date.now() + 20_000;
      (st.tracer !== 0 || ['t', 'T'].includes(st.state)) && Date.now() < end;
    ) {
      await new Promise((r) => setTimeout(r, 50));
      st = traced(slowPid);
    }
    assert.equal(st.tracer, 0);
    assert.ok(!['t', 'T'].includes(st.state), `state ${st.state}`);
  } finally {
    for (const t of targets) await t.kill();
    a.stop();
    await server.close();
  }
});

test('prepared state expires when no capture comes', async () => {
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN, { executor: { preparedTtlMs: 300 } });
  let t: Target | undefined;
  try {
    t = await startTarget(bin.path, [], a.env);
    const pid = t.pid;
    const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === pid), 30_000);
    const key = m.processes[0]!.key;
    server.send({ type: 'prepare', requestId: 'x1', keys: [key], specVersion: 1 });
    await server.waitFor('prepared', (x) => x.requestId === 'x1', 20_000);
    await a.waitLog(/request x1: no capture within 300 ms; dropped/, 30_000);
    server.send({ type: 'capture', requestId: 'x1', keys: [key] });
    const c = await server.waitFor('captured', (x) => x.requestId === 'x1', 30_000);
    assert.equal(c.error?.kind, 'INTERNAL');
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});

/** The fixture's pid under its `sh` (pausebench prints its port, not its pid, on the ready line). */
async function childPid(shPid: number): Promise<number> {
  const kids = readFileSync(`/proc/${shPid}/task/${shPid}/children`, 'utf8').trim().split(/\s+/);
  return Number(kids[0]);
}
