/**
 * The agent's probe thread starts from, and writes to, the binary cache on disk
 * (`--cache-dir`; the real runner, its thread, eBPF and testdata/probe-values): a first runner
 * compiles its probe and stores what it learned of the binary; a second one (an agent
 * restarted) loads the binary from that entry, says so, and its probe still reports events.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { startTarget, type Target } from '../../support/target.js';
import { collectingRunner, entryProbe } from './probe-thread.js';

/** Runs a probe runner with the cache in `cacheDir` until its probe reports `handle 2`'s events. */
async function runOnce(target: Target, path: string, cacheDir: string): Promise<string[]> {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'periscope-runner-'));
  const { runner, events, logs } = collectingRunner({
    runtimeDir,
    backend: 'bpf',
    sendEveryMs: 50,
    binaryCacheDir: cacheDir,
  });
  try {
    runner.start();
    const probe = { ...entryProbe('handle', 'main.handle', ['n']), program: 'api' };
    runner.setOrders({ type: 'probes', specVersion: 1, probes: [{ probe, expiresInMs: 600_000 }] });
    runner.setProcesses([
      {
        key: `test:${target.pid}:1`,
        hostname: 'test',
        pid: target.pid,
        executable: path,
        cmdline: [path],
        labels: {},
        programs: ['api'],
      },
    ]);
    const deadline = performance.now() + 20_000;
    for (;;) {
      events.length = 0;
      const since = performance.now();
      target.child.stdin!.write('handle 2\n');
      await target.waitFor(/^done handle/, 60_000, since);
      const end = performance.now() + 1000;
      while (events.length < 2 && performance.now() < end) await sleep(20);
      if (events.length === 2) return logs;
      if (performance.now() > deadline) assert.fail(`no events (log: ${logs.join(' | ')})`);
    }
  } finally {
    await runner.stop();
    rmSync(runtimeDir, { recursive: true, force: true });
  }
}

test('the probe thread stores what it learned of a binary, and a restarted one starts from it', async () => {
  const bin = await fixtureBinary();
  const target = await startTarget(bin.path);
  const root = mkdtempSync(join(tmpdir(), 'periscope-probe-cache-'));
  const dir = join(root, 'binaries');
  try {
    const first = await runOnce(target, bin.path, dir);
    assert.ok(!first.some((l) => / hit /.test(l)), `no hit on an empty cache: ${first.join(' | ')}`);
    assert.equal(
      readdirSync(dir).filter((n) => n.endsWith('.facts')).length,
      1,
      `stored: ${readdirSync(dir)}`,
    );
    const second = await runOnce(target, bin.path, dir);
    assert.ok(
      second.some((l) => /^binary cache \(probe thread\): hit .*\.facts$/.test(l)),
      `the restarted probe thread started from the entry: ${second.join(' | ')}`,
    );
  } finally {
    await target.kill();
    rmSync(root, { recursive: true, force: true });
  }
});
