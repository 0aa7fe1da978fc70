/**
 * The agent's probe thread starts from, and writes to, the binary cache on disk
 * (`--cache-dir`; the real runner, its thread, eBPF and testdata/probe-values): a first runner
 * compiles its probe and stores what it learned of the binary; a second one (an agent
 * restarted) loads the binary from that entry, says so, and its probe still reports events.
 * The probe thread and the capture side (the same prepare the capture thread runs) writing
 * one entry in turn each keep what the other stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ElfFile } from '../../src/elf/elf-file.js';
import { BinaryCache } from '../../src/snapshot/binary-cache.js';
import { BinaryDiskCache, type StoredFacts } from '../../src/snapshot/binary-disk-cache.js';
import { factsKey } from '../../src/snapshot/stored-facts.js';
import { prepareProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpecOfText } from '../../src/spec/effective-spec.js';
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

/** Resolves when the file at `path` is another file than `ino` (written anew: a rename over it). */
async function rewritten(path: string, ino: number | undefined, what: string): Promise<number> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    try {
      const now = statSync(path).ino;
      if (now !== ino) return now;
    } catch {
      // Not written yet.
    }
    if (performance.now() > deadline) assert.fail(`${what}: ${path} was not written`);
    await sleep(20);
  }
}

test('the probe thread and the capture side writing one entry in turn each keep what the other stored', async () => {
  const bin = await fixtureBinary();
  const target = await startTarget(bin.path);
  const root = mkdtempSync(join(tmpdir(), 'periscope-probe-cache-'));
  const dir = join(root, 'binaries');
  const runtimeDir = mkdtempSync(join(tmpdir(), 'periscope-runner-'));
  const { runner, logs } = collectingRunner({
    runtimeDir,
    backend: 'bpf',
    sendEveryMs: 50,
    binaryCacheDir: dir,
  });
  const elf = ElfFile.open(bin.path);
  const key = factsKey(elf)!;
  elf.close();
  const disk = new BinaryDiskCache({ dir });
  const path = disk.entryPath(key);
  const stored = (): StoredFacts => disk.load(key) ?? assert.fail(`no entry at ${path}`);
  const described = {
    key: `test:${target.pid}:1`,
    hostname: 'test',
    pid: target.pid,
    executable: bin.path,
    cmdline: [bin.path],
    labels: {},
    programs: ['api'],
  };
  const probes = (p: ReturnType<typeof entryProbe>) => ({
    type: 'probes' as const,
    specVersion: 1,
    probes: [{ probe: { ...p, program: 'api' }, expiresInMs: 600_000 }],
  });
  try {
    // The capture side loads the binary first (the cache is empty: both start from the file).
    const capture = new BinaryCache();
    capture.useDisk(new BinaryDiskCache({ dir }));
    capture.forProcess(target.pid);

    // The probe thread loads it too and stores what compiling a type assertion learned.
    runner.start();
    runner.setOrders(probes(entryProbe('square', 'main.handle', ['shape.(main.Square).Side'])));
    runner.setProcesses([described]);
    let ino = await rewritten(path, undefined, 'the probe thread');
    assert.ok(stored().typePackages, 'the probe thread stored the type packages');
    assert.equal(stored().frameHosts?.length ?? 0, 0, 'no frame hosts yet');

    // The capture side prepares a spec (learning its frame hosts) and stores after it.
    const spec = effectiveSpecOfText(
      'version: 1\nfunctions:\n  - function: main.handle\n    table: handled\n    capture:\n      n: n\n',
      'spec.yaml',
    );
    prepareProcess(target.pid, spec, capture);
    ino = await rewritten(path, ino, 'the capture side');
    const afterCapture = stored();
    assert.ok((afterCapture.frameHosts?.length ?? 0) > 0, 'the capture side stored its frame hosts');
    assert.ok(afterCapture.typePackages, "the capture side's write kept the probe thread's type packages");

    // The probe thread learns something new (an inlined function's lines) and stores again.
    runner.setOrders(probes(entryProbe('double', 'main.double', ['x'])));
    await rewritten(path, ino, 'the probe thread, again');
    const afterProbe = stored();
    assert.ok(afterProbe.lines, 'the probe thread stored the line index');
    assert.deepEqual(
      afterProbe.frameHosts?.map(([k]) => k),
      afterCapture.frameHosts?.map(([k]) => k),
      "the probe thread's write kept the capture side's frame hosts",
    );
    assert.ok(afterProbe.typePackages);
  } catch (e) {
    throw new Error(`${(e as Error).message} (log: ${logs.join(' | ')})`, { cause: e });
  } finally {
    await runner.stop();
    await target.kill();
    rmSync(runtimeDir, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});
