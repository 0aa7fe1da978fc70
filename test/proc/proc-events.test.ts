/**
 * The kernel's process events through the proc connector (ProcEventReader), with real
 * processes: an exec and the exit of the process are reported with its pid; a burst of
 * short-lived processes read at once gives one batch in which each process's last event
 * only appears; thread exits are not process exits; a write to the wake-up eventfd ends a
 * wait at once; events the kernel dropped are reported as an overrun; where the connector cannot be used (a user namespace: the kernel ignores
 * subscriptions from outside the initial one), opening says why.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type ProcEventBatch, ProcEventReader, wakeEventFd } from '../../src/proc/proc-event-reader.js';
import { ROOT } from '../../support/go-fixtures.js';

/** A reader and its wake-up eventfd; close both with `done`. */
function open(): { reader: ProcEventReader; wake: number; done: () => void } {
  const wake = wakeEventFd();
  const reader = ProcEventReader.open(wake)!;
  return {
    reader,
    wake,
    done: () => {
      reader.close();
      closeSync(wake);
    },
  };
}

/** Reads batches (blocking this thread) until `ok` holds for what was read, or `ms` pass. */
function readUntil(
  reader: ProcEventReader,
  ok: (all: ProcEventBatch[]) => boolean,
  ms = 5000,
): ProcEventBatch[] {
  const all: ProcEventBatch[] = [];
  const end = performance.now() + ms;
  while (!ok(all)) {
    const left = end - performance.now();
    if (left <= 0) throw new Error(`not within ${ms} ms: ${JSON.stringify(all).slice(0, 400)}`);
    const b = reader.next(left);
    if (b === 'stopped') throw new Error('stopped');
    if (b) all.push(b);
  }
  return all;
}

const execd = (pid: number) => (all: ProcEventBatch[]) => all.some((b) => b.execs.includes(pid));
const exited = (pid: number) => (all: ProcEventBatch[]) => all.some((b) => b.exits.includes(pid));

test('an exec and an exit are reported with the pid', () => {
  const { reader, done } = open();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pid = child.pid!;
    const first = readUntil(reader, execd(pid));
    assert.ok(!exited(pid)(first), 'no exit yet');
    process.kill(pid, 'SIGKILL');
    readUntil(reader, exited(pid));
  } finally {
    child.kill('SIGKILL');
    done();
  }
});

test("a burst read at once is one batch with each process's last event", () => {
  const { reader, done } = open();
  try {
    // 50 short processes, one after another; each prints its pid. All exited before we read.
    const r = spawnSync('sh', ['-c', 'for i in $(seq 50); do sh -c "echo \\$\\$"; done'], {
      encoding: 'utf8',
    });
    const pids = r.stdout.trim().split('\n').map(Number);
    assert.equal(pids.length, 50);
    const b = reader.next(5000);
    assert.ok(b && b !== 'stopped');
    assert.deepEqual(
      pids.filter((p) => !b.exits.includes(p)),
      [],
      'every exit in the one batch',
    );
    assert.deepEqual(
      pids.filter((p) => b.execs.includes(p)),
      [],
      'exec then exit: only the exit',
    );
  } finally {
    done();
  }
});

test('a thread exit is not the exit of its process', async () => {
  const { reader, done } = open();
  let child: ChildProcess | undefined;
  try {
    const code =
      "const { Worker } = require('node:worker_threads'); let n = 0;" +
      "for (let i = 0; i < 2; i++) new Worker('0', { eval: true }).on('exit', () => { if (++n === 2) console.log('threads ended'); });" +
      'setInterval(() => {}, 1000);';
    child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = child.pid!;
    await new Promise<void>((resolve) =>
      child!.stdout!.on('data', (d: Buffer) => /threads ended/.test(String(d)) && resolve()),
    );
    const after = performance.now() + 300;
    const seen: ProcEventBatch[] = [];
    for (let b = reader.next(300); performance.now() < after; b = reader.next(after - performance.now())) {
      if (b && b !== 'stopped') seen.push(b);
    }
    assert.ok(!exited(pid)(seen), 'its two threads exited, the process did not');
    child.kill('SIGKILL');
    readUntil(reader, exited(pid));
  } finally {
    child?.kill('SIGKILL');
    done();
  }
});

test('a write to the wake-up eventfd ends a wait at once', () => {
  const { reader, wake, done } = open();
  try {
    const one = Buffer.alloc(8);
    one.writeUInt32LE(1, 0);
    writeSync(wake, one);
    const t0 = performance.now();
    assert.equal(reader.next(10_000), 'stopped');
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    done();
  }
});

test('outside the initial user namespace, opening says why', async () => {
  // The same module in a child made root of a new user namespace (unshare -U -r): the
  // kernel ignores its subscription (cn_proc answers only the initial namespaces), or, on
  // other kernels (this 6.18 among them), refuses the bind.
  const script = join(ROOT, 'dist', 'test', 'proc', 'proc-events-child.js');
  const { stdout } = await promisify(execFile)('unshare', ['-U', '-r', process.execPath, script], {
    timeout: 20_000,
  });
  assert.ok(
    [
      'unavailable: no answer to the subscription within 2000 ms (the agent must run in the initial PID and user namespaces)',
      'unavailable: bind(CN_IDX_PROC) failed with errno 1 (EPERM: the agent lacks CAP_NET_ADMIN in the initial user namespace, which the connector needs before Linux 6.6 and in a user namespace)',
    ].includes(stdout.trim()),
    stdout,
  );
});

test('events the kernel dropped (a full receive buffer) are reported as an overrun', () => {
  // The smallest buffer the kernel allows (a few events), then 100 processes unread.
  const wake = wakeEventFd();
  const reader = ProcEventReader.open(wake, 1)!;
  try {
    spawnSync('sh', ['-c', 'for i in $(seq 100); do /bin/true; done']);
    const b = reader.next(5000);
    assert.ok(b && b !== 'stopped');
    assert.equal(b.overrun, true, `${b.execs.length} execs and ${b.exits.length} exits read, no overrun`);
  } finally {
    reader.close();
    closeSync(wake);
  }
});
