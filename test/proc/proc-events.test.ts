/**
 * The kernel's process events through the proc connector, with real processes: an exec and
 * the exit of the process are reported with its pid, a burst of short-lived processes comes
 * in few batches (each process's last event only), thread exits are not reported, and where
 * the connector cannot be used (a user namespace: the kernel ignores subscriptions from
 * outside the initial one) the reader says so and ends.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type ProcEventBatch, ProcEvents } from '../../src/proc/proc-events.js';
import { ROOT } from '../support/go-fixtures.js';

/** A reader whose batches are recorded; resolves once it is subscribed. */
async function listen(): Promise<{ events: ProcEvents; batches: ProcEventBatch[] }> {
  const batches: ProcEventBatch[] = [];
  let events: ProcEvents | undefined;
  await new Promise<void>((resolve, reject) => {
    events = ProcEvents.start({
      ready: resolve,
      batch: (b) => batches.push(b),
      failed: (reason) => reject(new Error(reason)),
    });
  });
  return { events: events!, batches };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an exec and an exit are reported with the pid', async () => {
  const { events, batches } = await listen();
  try {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid!;
    await until('the exec of sleep', () => batches.some((b) => b.execs.includes(pid)));
    assert.ok(!batches.some((b) => b.exits.includes(pid)), 'no exit yet');
    child.kill('SIGKILL');
    await until('the exit of sleep', () => batches.some((b) => b.exits.includes(pid)));
  } finally {
    events.close();
  }
});

test('a burst of processes comes in few batches, thread exits are left out', async () => {
  const { events, batches } = await listen();
  const children: ChildProcess[] = [];
  try {
    // 50 short processes, one after another, from one shell; each prints its pid.
    const { stdout } = await promisify(execFile)('sh', [
      '-c',
      'for i in $(seq 50); do sh -c "echo \\$\\$"; done',
    ]);
    const pids = stdout.trim().split('\n').map(Number);
    assert.equal(pids.length, 50);
    await until('every exit', () => pids.every((p) => batches.some((b) => b.exits.includes(p))));
    const withOurs = batches.filter((b) => pids.some((p) => b.execs.includes(p) || b.exits.includes(p)));
    // They ran within a few tens of ms; batches come at most every 250 ms.
    assert.ok(withOurs.length <= 10, `${withOurs.length} batches for a burst of 50 processes`);
    // A process's exec followed by its exit in the same batch is only an exit.
    for (const b of batches) for (const p of b.exits) assert.ok(!b.execs.includes(p), `pid ${p} both`);
    // Thread exits: a Node child whose two worker threads end, while it lives on.
    const code =
      "const { Worker } = require('node:worker_threads'); let n = 0;" +
      "for (let i = 0; i < 2; i++) new Worker('0', { eval: true }).on('exit', () => { if (++n === 2) console.log('threads ended'); });" +
      'setInterval(() => {}, 1000);';
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const pid = child.pid!;
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => /threads ended/.test(String(d)) && resolve()),
    );
    await new Promise((r) => setTimeout(r, 700)); // more than two batches' time
    assert.ok(!batches.some((b) => b.exits.includes(pid)), 'a thread exit is not the exit of its process');
    child.kill('SIGKILL');
    await until('the exit of the node child', () => batches.some((b) => b.exits.includes(pid)));
  } finally {
    for (const c of children) c.kill('SIGKILL');
    events.close();
  }
});

test('outside the initial user namespace the reader fails with why, and ends', async () => {
  // The same module in a child made root of a new user namespace (unshare -U -r): the
  // kernel ignores its subscription (cn_proc answers only the initial namespaces).
  const script = join(ROOT, 'dist', 'test', 'proc', 'proc-events-child.js');
  const started = performance.now();
  const { stdout } = await promisify(execFile)('unshare', ['-U', '-r', process.execPath, script], {
    timeout: 20_000,
  });
  const lines = stdout.trim().split('\n');
  assert.match(
    lines[0] ?? '',
    /^failed: no answer to the subscription within 2000 ms \(the agent must run in the initial PID and user namespaces\)$/,
  );
  assert.equal(lines[1], 'exited', 'the process ended: the reader thread holds nothing');
  assert.ok(performance.now() - started < 15_000);
});
