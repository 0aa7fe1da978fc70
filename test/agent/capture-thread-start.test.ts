/**
 * A call's budget counts from the capture thread's hello, not from the call: a new thread that
 * is slow to start (a new isolate loading the capture modules, seconds on a busy machine; here
 * the whole agent process under a 3% CPU quota, support/cpu-quota.ts) does not time out the
 * call it was started for, which would restart it only to start as slowly again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CpuQuota, cpuQuotaUnavailable } from '../../support/cpu-quota.js';
import { ROOT } from '../../support/go-fixtures.js';

const BUDGET_MS = 2000;

test("a call's budget starts when the capture thread has started, however long its start took", async (t) => {
  const why = cpuQuotaUnavailable();
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const child = spawn(
    process.execPath,
    [join(ROOT, 'dist', 'test', 'agent', 'capture-thread-start-child.js'), String(BUDGET_MS)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const out = createInterface({ input: child.stdout! });
  const lines = out[Symbol.asyncIterator]();
  let quota: CpuQuota | undefined;
  try {
    assert.equal((await lines.next()).value, 'ready');
    quota = new CpuQuota(child.pid!, 3);
    child.stdin!.write('go\n');
    const answer = (await lines.next()).value as string | undefined;
    assert.ok(answer, 'the child answered');
    const r = JSON.parse(answer) as {
      reply: { ok: boolean; message?: string };
      lines: { ms: number; line: string }[];
    };
    const started = r.lines.find((l) => /^capture thread started \(thread id \d+\)$/.test(l.line));
    t.diagnostic(`the thread started after ${started?.ms} ms; ${JSON.stringify(r.lines)}`);
    assert.ok(started, `the thread said it started: ${JSON.stringify(r.lines)}`);
    assert.ok(
      started.ms > BUDGET_MS,
      `its start outlasted the budget of ${BUDGET_MS} ms, else this tests nothing: ${started.ms} ms`,
    );
    assert.equal(r.reply.ok, true, `the call was answered: ${JSON.stringify(r)}`);
  } finally {
    quota?.release();
    child.kill('SIGKILL');
  }
});
