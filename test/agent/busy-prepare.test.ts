/**
 * A prepare over its budget on a capture thread that keeps getting CPU, only little of it
 * (the thread alone put under a 3% CPU quota, support/cpu-quota.ts, as on a very busy
 * machine), goes on and succeeds instead of being cut short (which would throw away the
 * half-loaded binary, to start over at the next snapshot); without that allowance
 * (`prepareWhileBusyMs: 0`) the same prepare fails with TIMEOUT, as before. Prepare progress
 * is reported only to a server that asks for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PreparedMessage } from '../../src/protocol/messages.js';
import { CpuQuota, cpuQuotaUnavailable } from '../../support/cpu-quota.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';
const BUDGET_MS = 1000;

/** Prepares one fixture with its capture thread starved; the `prepared` answer and the progress reports seen. */
async function starvedPrepare(whileBusyMs: number | undefined, progressMs: number | undefined) {
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN, {
    executor: {
      prepareBudgetMs: BUDGET_MS,
      ...(whileBusyMs !== undefined ? { prepareWhileBusyMs: whileBusyMs } : {}),
    },
  });
  let t: Target | undefined;
  let quota: CpuQuota | undefined;
  try {
    t = await startTarget(bin.path, [], a.env);
    const pid = t.pid;
    const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === pid), 10_000);
    const key = m.processes.find((p) => p.pid === pid)!.key;
    const since = performance.now();
    server.send({
      type: 'prepare',
      requestId: 'b1',
      keys: [key],
      specVersion: 1,
      ...(progressMs !== undefined ? { progressMs } : {}),
    });
    const started = await a.waitLog(/capture thread started \(thread id (\d+)\)/, 30_000, since);
    quota = new CpuQuota(process.pid, 3, [Number(/thread id (\d+)/.exec(started)![1])]);
    const prepared: PreparedMessage = await server.waitFor('prepared', (x) => x.requestId === 'b1', 120_000);
    const throttled = quota.throttledPeriods();
    quota.release();
    const reports = server.messages('prepare-progress');
    return { prepared, throttled, reports, logs: a.logs.map((l) => l.line) };
  } finally {
    quota?.release();
    await t?.kill();
    a.stop();
    await server.close();
  }
}

test('a prepare past its budget goes on while its thread gets CPU, and reports progress when asked', async (t) => {
  const why = cpuQuotaUnavailable();
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const r = await starvedPrepare(undefined, 200);
  t.diagnostic(`throttled in ${r.throttled} periods; ${r.reports.length} progress reports`);
  assert.ok(r.throttled > 0, 'the quota slowed the thread');
  assert.deepEqual(
    r.prepared.results.map((x) => x.error),
    [undefined],
    JSON.stringify(r.logs.slice(-6)),
  );
  const took = r.logs
    .map((l) => /request b1: prepared 1 of 1 processes in (\d+) ms/.exec(l)?.[1])
    .find(Boolean);
  t.diagnostic(`prepare took ${took} ms (budget ${BUDGET_MS} ms)`);
  assert.ok(
    Number(took) > BUDGET_MS,
    `the prepare outlasted its budget, else this tests nothing: ${JSON.stringify(r.logs.slice(-4))}`,
  );
  assert.ok(r.reports.length >= 2, `progress reported: ${r.reports.length}`);
  const cpu = r.reports.map((x) => x.cpuMs);
  assert.ok(cpu.at(-1)! > cpu[0]!, `the CPU time reported moved: ${cpu.join(' ')}`);
  assert.ok(
    cpu.every((c, i) => i === 0 || c >= cpu[i - 1]!),
    `never backwards: ${cpu.join(' ')}`,
  );
});

test('without the allowance the same prepare fails with TIMEOUT; no progress reports to a server that did not ask', async () => {
  const why = cpuQuotaUnavailable();
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const r = await starvedPrepare(0, undefined);
  assert.equal(r.prepared.results[0]?.error?.kind, 'TIMEOUT', JSON.stringify(r.prepared.results));
  assert.deepEqual(r.reports, []);
});
