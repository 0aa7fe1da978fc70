/**
 * Several writers of one binary cache directory (snapshot/binary-disk-cache.ts): threads and
 * processes storing one entry at once each keep what the others stored, and a reader at the
 * same time never sees half an entry; a writer waits for the directory's lock a bounded time,
 * then skips (BinaryCache.persist tries again), and a holder killed mid-write frees it; a
 * merged entry stays within one writer's bounds; two Periscope versions keep an entry each.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MAX_REMEMBERED_SYMBOLS } from '../../src/elf/elf-file.js';
import { MAX_FRAME_HOST_SETS } from '../../src/goruntime/goroutines/index.js';
import { BinaryCache } from '../../src/snapshot/binary-cache.js';
import { BinaryDiskCache, type StoredFacts } from '../../src/snapshot/binary-disk-cache.js';
import { MAX_INLINED_ONLY } from '../../src/snapshot/capture-plan.js';
import type { FactsKey } from '../../src/snapshot/facts-file.js';
import { checkStoredFacts, factsKey, mergeStoredFacts } from '../../src/snapshot/stored-facts.js';
import { answerName, HOST_RANGES, WRITERS_KEY, type WriterJob } from '../../support/disk-cache-writer.js';
import { buildFixture } from '../../support/go-fixtures.js';

const WRITER = fileURLToPath(new URL('../../support/disk-cache-writer.js', import.meta.url));
const WRITERS = 4;
const ROUNDS = 30;

const newDir = () => join(mkdtempSync(join(tmpdir(), 'periscope-disk-writers-')), 'binaries');

/** Runs writer `job` as a process: `done` resolves to what it printed, `output` is what it has so far. */
function writerProcess(job: WriterJob): { child: ChildProcess; done: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, [WRITER, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const done = new Promise<string>((resolve, reject) =>
    child.on('exit', (code, signal) =>
      code === 0 || signal === 'SIGKILL' ? resolve(out) : reject(new Error(`writer exited ${code}: ${out}`)),
    ),
  );
  return { child, done, output: () => out };
}

/** Runs writer `job` on a thread of this process; resolves to its lines. */
function writerThread(job: WriterJob): Promise<string> {
  const w = new Worker(WRITER, { workerData: job });
  return new Promise((resolve, reject) => {
    w.once('message', (lines: string[]) => resolve(lines.join('\n')));
    w.once('error', reject);
  });
}

for (const kind of ['processes', 'threads'] as const) {
  test(`writers in several ${kind} at once: the entry ends with what each stored, no reader sees half of one`, async () => {
    const dir = newDir();
    try {
      const readerLog: string[] = [];
      const reader = new BinaryDiskCache({ dir, log: (l) => readerLog.push(l) });
      const jobs = Array.from({ length: WRITERS }, (_, writer) => ({
        mode: 'write' as const,
        dir,
        writer,
        rounds: ROUNDS,
        // Far more writes back to back than any agent makes: on a loaded machine one writer
        // can wait past the default bound (tested below); here every write must be made.
        lockWaitMs: 60_000,
      }));
      let finished = false;
      const all = Promise.all(
        jobs.map((j) => (kind === 'processes' ? writerProcess(j).done : writerThread(j))),
      ).finally(() => {
        finished = true;
      });
      // Read while they write (this thread is free: the writers are other threads or processes).
      let hits = 0;
      while (!finished) {
        if (reader.load(WRITERS_KEY, checkStoredFacts)) hits++;
        await sleep(1);
      }
      const said = await all;
      for (const [i, s] of said.entries()) assert.equal(s, '', `writer ${i} stored every round`);
      assert.deepEqual(
        readerLog.filter((l) => !/^(hit|miss) /.test(l)),
        [],
        'the reader only ever hit or missed',
      );
      assert.ok(hits > 0, 'the reader read entries while they were written');

      const entry = reader.load(WRITERS_KEY, checkStoredFacts) ?? assert.fail('no entry');
      assert.deepEqual(entry.frameHosts?.map(([k]) => k).sort(), ['w0', 'w1', 'w2', 'w3']);
      for (const [k, r] of entry.frameHosts ?? []) {
        assert.equal(r.starts.length, HOST_RANGES, k);
        assert.equal(r.starts[0], Number(k.slice(1)), `${k}: its own ranges`);
      }
      const answers = new Set(entry.inlinedOnly?.map(([n]) => n));
      for (let w = 0; w < WRITERS; w++)
        for (let r = 0; r < ROUNDS; r++) assert.ok(answers.has(answerName(w, r)), `kept ${answerName(w, r)}`);
      assert.deepEqual(
        readdirSync(dir).sort(),
        ['.lock', reader.entryPath(WRITERS_KEY).slice(dir.length + 1)],
        'no file left behind',
      );
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });
}

test('a writer waits for the lock a bounded time and skips; persist tries again; a killed holder frees it', async () => {
  const dir = newDir();
  const { path } = await buildFixture('hello');
  let holder: ReturnType<typeof writerProcess> | undefined;
  try {
    const log: string[] = [];
    const disk = new BinaryDiskCache({ dir, lockWaitMs: 300, log: (l) => log.push(l) });
    const other: FactsKey = { buildId: 'other', size: 2, mtimeMs: 2, periscope: 'test' };
    assert.ok(disk.store(other, { waitReasons: ['other'] }), 'stored before the lock is taken');

    // Another process takes the lock (as a writer does) and is killed holding it.
    holder = writerProcess({ mode: 'hold', dir, writer: 0, rounds: 0 });
    const h = holder;
    const deadline = performance.now() + 30_000;
    while (!h.output().includes('locked')) {
      if (performance.now() > deadline || h.child.exitCode !== null)
        assert.fail(`the holder did not lock: ${h.output()}`);
      await sleep(20);
    }

    // A reader does not wait for writers.
    assert.deepEqual(disk.load(other)?.waitReasons, ['other']);

    const cache = new BinaryCache();
    cache.useDisk(disk);
    const bin = cache.open(path);
    const t0 = performance.now();
    cache.persist(bin);
    const waited = performance.now() - t0;
    assert.ok(waited >= 290, `waited for the lock: ${waited} ms`);
    assert.ok(
      log.some((l) => /^not stored .*\.facts: another writer held .*\/\.lock for 300 ms/.test(l)),
      log.join('\n'),
    );
    const facts = disk.entryPath(factsKey(bin.elf)!);
    assert.ok(!existsSync(facts), 'nothing stored while the lock is held');

    h.child.kill('SIGKILL');
    await h.done;
    log.length = 0;
    cache.persist(bin);
    assert.ok(existsSync(facts), `stored at the next persist: ${log.join('\n')}`);
    assert.ok(
      existsSync(facts.replace(/\.facts$/, '.sections')),
      `its sections too: ${readdirSync(dir).join(' ')}`,
    );
    // Had the lock still been held, this write would have given up after 300 ms, and said so.
    assert.ok(
      !log.some((l) => l.startsWith('not stored')),
      `the killed holder's lock is free: ${log.join('\n')}`,
    );
  } finally {
    if (holder && holder.child.exitCode === null && holder.child.signalCode === null)
      holder.child.kill('SIGKILL');
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('a merged entry stays within the bounds one writer keeps; the writer comes first', () => {
  const ranges = (n: number) => ({ starts: new Float64Array([n]), ends: new Float64Array([n]) });
  const sets = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => [`${prefix}${i}`, ranges(i)] as [string, ReturnType<typeof ranges>]);
  const answers = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i % 2 === 0] as [string, boolean]);
  const symbols = (prefix: string, n: number) =>
    new Map(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, null] as [string, null]));
  const mine: StoredFacts = {
    frameHosts: sets('m', 5),
    inlinedOnly: answers('m', MAX_INLINED_ONLY - 10),
    symbols: symbols('m', MAX_REMEMBERED_SYMBOLS - 10),
    waitReasons: ['mine'],
  };
  const onDisk: StoredFacts = {
    frameHosts: [...sets('d', 5), ['m0', ranges(99)]],
    inlinedOnly: [...answers('d', 100), ['m1', true]],
    symbols: symbols('d', 100),
    waitReasons: ['disk'],
    typePackages: ['main'],
  };
  const m = mergeStoredFacts(mine, onDisk);
  assert.equal(m.frameHosts?.length, MAX_FRAME_HOST_SETS);
  assert.deepEqual(
    m.frameHosts?.map(([k]) => k),
    ['d2', 'd3', 'd4', 'm0', 'm1', 'm2', 'm3', 'm4'],
    "the writer's sets last (the newest), then the disk's newest",
  );
  assert.equal(m.frameHosts?.find(([k]) => k === 'm0')?.[1].starts[0], 0, "the writer's own ranges");
  assert.equal(m.inlinedOnly?.length, MAX_INLINED_ONLY);
  assert.equal(new Map(m.inlinedOnly).get('m1'), false, "the writer's answer");
  assert.equal(m.symbols?.size, MAX_REMEMBERED_SYMBOLS);
  assert.deepEqual(m.waitReasons, ['mine']);
  assert.deepEqual(m.typePackages, ['main'], 'a part only the disk has is kept');
});

test('two Periscope versions keep an entry each for the same binary', () => {
  const dir = newDir();
  try {
    const disk = new BinaryDiskCache({ dir });
    const key = (periscope: string): FactsKey => ({ buildId: 'b', size: 1, mtimeMs: 1, periscope });
    assert.notEqual(disk.entryPath(key('1.0.0')), disk.entryPath(key('1.1.0')));
    assert.ok(disk.store(key('1.0.0'), { waitReasons: ['old'] }));
    assert.ok(disk.store(key('1.1.0'), { waitReasons: ['new'] }));
    assert.deepEqual(disk.load(key('1.0.0'))?.waitReasons, ['old']);
    assert.deepEqual(disk.load(key('1.1.0'))?.waitReasons, ['new']);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
