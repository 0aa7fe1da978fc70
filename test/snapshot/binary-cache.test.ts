/**
 * The binary cache: processes running one file share one binary (read once, each process with
 * its own path and load bias), a binary's copy under another inode is found by build ID, and
 * the cache holds at most its limits, dropping the binary used least recently. binaryAt: a
 * stored snapshot's binary found again where its process ran from, only when the file there
 * still has the build ID the snapshot recorded (a rebuilt binary at the same path is another
 * binary).
 */
import assert from 'node:assert/strict';
import { copyFileSync, linkSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it, test } from 'node:test';
import { openElf } from '../../src/elf/elf-file.js';
import {
  AGENT_RUNTIME_BYTES,
  BinaryCache,
  binaryAt,
  cachedBinary,
  DEFAULT_MAX_MEMORY_BYTES,
  estimatedMemory,
} from '../../src/snapshot/binary-cache.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';

describe('binary cache', { timeout: 120_000 }, () => {
  const targets: Target[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const t of targets) await t.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('processes running one file share one binary, each with its own path and bias', async () => {
    const bin = await buildFixture('signalnotify', { flags: ['-buildmode=pie'] });
    // A hard link (same inode: the same file under another name) and a copy (another inode,
    // the same build ID). Next to the binary: a hard link cannot cross file systems.
    const dir = mkdtempSync(join(dirname(bin.path), 'cache-'));
    dirs.push(dir);
    const linked = join(dir, 'linked');
    const copied = join(dir, 'copied');
    linkSync(bin.path, linked);
    copyFileSync(bin.path, copied);
    const [a, b, c] = [await startTarget(bin.path), await startTarget(linked), await startTarget(copied)];
    targets.push(a, b, c);
    const cache = new BinaryCache();
    const pa = cache.forProcess(a.pid);
    const pb = cache.forProcess(b.pid);
    const pc = cache.forProcess(c.pid);
    assert.equal(cache.size, 1);
    assert.equal(pb.bin, pa.bin, 'the same file: one binary');
    assert.equal(pb.image.elf, pa.image.elf, 'read once');
    assert.equal(pc.bin, pa.bin, 'a copy: found by build ID');
    assert.equal(pc.image.elf, pa.bin.elf, 'its image is the binary held');
    assert.deepEqual(
      [pa.image.path, pb.image.path, pc.image.path],
      [bin.path, linked, copied].map((p) => realpathSync(p)), // the kernel names files by their real path
      'each process keeps its own path',
    );
    for (const [p, t] of [
      [pa, a],
      [pb, b],
      [pc, c],
    ] as const) {
      const text = p.image.mappings.find((m) => m.perms.includes('x'))!;
      const entry = p.image.bias.toRuntime(p.bin.elf.entry);
      assert.ok(entry >= text.start && entry < text.end, `process ${t.pid}: its own load bias`);
    }
  });

  it('holds at most its limits, dropping the binary used least recently', async () => {
    const paths = await Promise.all(
      [[], ['-buildmode=pie'], ['-ldflags=-X main.unused=1']].map(
        async (flags) => (await buildFixture('signalnotify', { flags })).path,
      ),
    );
    const elves = await Promise.all(paths.map((p) => openElf(p)));
    assert.equal(new Set(elves.map((e) => e.buildId())).size, 3, 'three binaries');
    const cache = new BinaryCache({ maxBinaries: 2 });
    const [b0, b1] = [cache.binaryFor(elves[0]!), cache.binaryFor(elves[1]!)];
    assert.equal(cache.binaryFor(elves[0]!), b0, 'held: the same object');
    cache.binaryFor(elves[2]!); // drops elves[1], used least recently
    assert.equal(cache.size, 2);
    assert.equal(cache.binaryFor(elves[0]!), b0, 'used recently: kept');
    assert.notEqual(cache.binaryFor(elves[1]!), b1, 'dropped: loaded again');

    // Bounded by the memory the binaries take (1.5x their files), not by the files' bytes.
    const bytes = elves.reduce((n, e) => n + e.fileSize, 0);
    const files = new BinaryCache({ maxMemoryBytes: bytes });
    for (const e of elves) files.binaryFor(e);
    assert.ok(files.size < 3, `the files fit the bound but their memory does not (${files.size} held)`);
    const all = new BinaryCache({
      maxMemoryBytes: elves.reduce((n, e) => n + estimatedMemory(e.fileSize), 0),
    });
    for (const e of elves) all.binaryFor(e);
    assert.equal(all.size, 3, 'their estimated memory fits');
    const tiny = new BinaryCache({ maxMemoryBytes: 1 });
    assert.equal(tiny.binaryFor(elves[0]!), tiny.binaryFor(elves[0]!), 'the binary used last stays');
    assert.equal(tiny.size, 1);
  });
});

test('binaryAt loads the file only when its build ID is the one asked for', async () => {
  const { path } = await buildFixture('hello');
  const copy = join(mkdtempSync(join(tmpdir(), 'periscope-bin-')), 'hello');
  copyFileSync(path, copy);
  const id = (await openElf(copy)).buildId()!;
  assert.ok(id, 'the fixture has a build ID');
  assert.equal(cachedBinary(id), undefined);
  assert.equal(binaryAt(copy, `${id}00`), undefined, 'another build ID: not that binary');
  assert.equal(binaryAt(join(copy, '..', 'nope'), id), undefined, 'gone');
  assert.equal(binaryAt('/dev/zero', id), undefined, 'not a regular file');
  const bin = binaryAt(copy, id);
  assert.equal(bin?.buildId, id);
  assert.equal(cachedBinary(id), bin, 'kept by build ID');
  assert.equal(binaryAt(copy, id), bin, 'loaded once');
});

test("the default bound fits two of the largest binaries seen, and with the agent's own needs the unit's MemoryMax", () => {
  const unit = readFileSync(new URL('../../../deploy/periscope-agent.service', import.meta.url), 'utf8');
  const m = /^MemoryMax=(\d+)M$/m.exec(unit);
  assert.ok(m, 'the unit sets MemoryMax in M');
  const memoryMax = Number(m[1]) * 2 ** 20;
  const largest = 233e6; // the 233 MB service binary of issue 11
  assert.ok(2 * estimatedMemory(largest) <= DEFAULT_MAX_MEMORY_BYTES, 'two of them fit the default');
  assert.ok(
    DEFAULT_MAX_MEMORY_BYTES + AGENT_RUNTIME_BYTES <= memoryMax,
    'the default and the agent fit the unit',
  );
  assert.equal(new BinaryCache().maxMemoryBytes, DEFAULT_MAX_MEMORY_BYTES, 'the default is the one checked');
});
