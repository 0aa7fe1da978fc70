/**
 * Batched process_vm_readv reads against /proc/PID/mem, on random ranges of a paused
 * target's mappings, including ranges that run off the end of a mapping into unmapped memory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Address, addr } from '../../src/common/address.js';
import { type Mapping, readMaps } from '../../src/proc/maps.js';
import { MemoryError, ProcMemFile } from '../../src/proc/memory.js';
import { pauseProcess } from '../../src/proc/pause.js';
import { MAX_IOVECS, type MemRange, VmReader } from '../../src/proc/vm-reader.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { prng } from '../../support/prng.js';
import { startTarget, type Target } from '../../support/target.js';

/** Readable mappings, and for each whether unmapped memory follows it. */
function readable(maps: Mapping[]): { m: Mapping; gapAfter: boolean }[] {
  const sorted = [...maps].sort((a, b) => a.start - b.start);
  return sorted
    .map((m, i) => ({ m, gapAfter: i + 1 === sorted.length || sorted[i + 1]!.start > m.end }))
    .filter(({ m }) => m.perms[0] === 'r' && !/^\[(vvar|vsyscall|vvar_vclock)\]$/.test(m.path));
}

function randomRanges(maps: Mapping[], n: number, seed: number): { ranges: MemRange[]; crossing: number } {
  const rand = prng(seed);
  const regions = readable(maps);
  const ranges: MemRange[] = [];
  let crossing = 0;
  for (let i = 0; i < n; i++) {
    const { m, gapAfter } = regions[Math.floor(rand() * regions.length)]!;
    const size = 1 + Math.floor(rand() ** 3 * 16384);
    if (gapAfter && rand() < 0.1) {
      // Starts inside the mapping and runs past its end into unmapped memory.
      const inside = 1 + Math.floor(rand() * Math.min(size, m.end - m.start));
      ranges.push({ address: addr(m.end - inside), size: inside + 1 + Math.floor(rand() * 4096) });
      crossing++;
      continue;
    }
    const span = m.end - m.start;
    const s = Math.min(size, span);
    ranges.push({ address: addr(m.start + Math.floor(rand() * (span - s + 1))), size: s });
  }
  return { ranges, crossing };
}

function oracle(mem: ProcMemFile, r: MemRange): Uint8Array | undefined {
  try {
    return mem.read(r.address, r.size);
  } catch (e) {
    if (e instanceof MemoryError) return undefined;
    throw e;
  }
}

describe('VmReader', { timeout: 120_000 }, () => {
  let target: Target;
  before(async () => {
    target = await startTarget((await buildFixture('signalnotify')).path);
  });
  after(async () => {
    await target?.kill();
  });

  it('batched reads equal /proc/PID/mem reads, unreadable ranges marked, across many calls', (t) => {
    const reader = new VmReader(target.pid);
    const mem = new ProcMemFile(target.pid);
    const paused = pauseProcess(target.pid); // so that memory does not change between the two reads
    try {
      const { ranges, crossing } = randomRanges(readMaps(target.pid), 3 * MAX_IOVECS + 77, 42);
      ranges.splice(500, 0, { address: addr(0x1000), size: 16 }, { address: addr(0x2000), size: 0 });
      const t0 = process.hrtime.bigint();
      const got = reader.readBatch(ranges);
      const ns = Number(process.hrtime.bigint() - t0);
      let unreadable = 0;
      for (let i = 0; i < ranges.length; i++) {
        const want = oracle(mem, ranges[i]!);
        if (!want) unreadable++;
        assert.deepEqual(
          got[i],
          want,
          `range ${i} at 0x${ranges[i]!.address.toString(16)} +${ranges[i]!.size}`,
        );
      }
      assert.ok(unreadable >= crossing, 'ranges that cross into unmapped memory are unreadable');
      const stats = reader.stats();
      assert.equal(stats.unreadable, unreadable);
      assert.ok(stats.calls >= 4 && stats.calls <= 4 + unreadable, `${stats.calls} calls`);
      t.diagnostic(
        `${ranges.length} ranges (${crossing} crossing into unmapped memory, ${unreadable} unreadable), ` +
          `${(stats.bytesRead / 1e6).toFixed(1)} MB in ${stats.calls} calls, ${(ns / 1e6).toFixed(2)} ms`,
      );
    } finally {
      paused.resume();
      mem.close();
    }
  });

  it('read() throws MemoryError for unmapped memory; the /proc/PID/mem fallback gives the same bytes', () => {
    const reader = new VmReader(target.pid);
    const fallback = new VmReader(target.pid, { forceFallback: true });
    assert.throws(() => reader.read(addr(0x1000), 8), MemoryError);
    assert.throws(() => fallback.read(addr(0x1000), 8), MemoryError);
    const text = readMaps(target.pid).find((m) => m.perms === 'r-xp') as Mapping;
    const ranges = [0, 100, 5000].map((o) => ({ address: (text.start + o) as Address, size: 256 }));
    assert.deepEqual(reader.readBatch(ranges), fallback.readBatch(ranges));
    assert.equal(fallback.stats().fallback, true);
    assert.equal(reader.stats().fallback, false);
    fallback.close();
  });

  it('a reader reserves what it is asked for, whatever earlier readers of the process took', () => {
    const first = new VmReader(target.pid);
    first.takeBuffer(4 << 20);
    first.close();
    const second = new VmReader(target.pid);
    second.takeBuffer(1 << 20);
    assert.equal(second.stats().bufferedReserved, 0, 'nothing reserved unasked: a fresh buffer');
    second.close();
    const asked = new VmReader(target.pid, { reserveBytes: 2 << 20 });
    asked.takeBuffer(1 << 20);
    assert.equal(asked.stats().bufferedReserved, 1 << 20, 'from the reserve asked for');
    asked.close();
  });

  it('says the process exited when it is gone', async () => {
    const short = await startTarget((await buildFixture('signalnotify')).path);
    const reader = new VmReader(short.pid);
    await short.kill();
    assert.throws(() => reader.readBatch([{ address: addr(0x400000), size: 8 }]), /process \d+ exited/);
  });
});
