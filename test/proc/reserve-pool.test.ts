/**
 * Reserves kept across captures (proc/vm-reader.ts poolReserves, the agent's capture thread):
 * a reserve is reused only once released, and it is wiped before it is handed out again, so
 * that no byte read in one pause can show through in the next; reads into a reused reserve
 * equal reads into fresh memory. On a real, paused target.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readMaps } from '../../src/proc/maps.js';
import { pauseProcess } from '../../src/proc/pause.js';
import {
  MAX_POOLED_BYTES,
  pooledReserveBytes,
  poolReserves,
  releaseReserves,
  VmReader,
} from '../../src/proc/vm-reader.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { ascendingRanges, JOIN_GAP, readAll } from './copy-helper-reads.js';

const MiB = 1 << 20;

describe('reserve pool', { timeout: 60_000 }, () => {
  let target: Target;
  before(async () => {
    target = await startTarget((await buildFixture('signalnotify')).path);
    poolReserves(); // this test process's main thread, from here on
  });
  after(async () => {
    await target?.kill();
  });

  it('reuses a reserve only once released, wiped; keeps at most MAX_POOLED_BYTES', () => {
    const first = new VmReader(target.pid);
    first.reserve(2 * MiB);
    const dirty = first.takeBuffer(2 * MiB);
    dirty.fill(0xab); // what a pause would have copied there
    // Still lent: a second reserve is fresh memory, never the one in use.
    const second = new VmReader(target.pid);
    second.reserve(2 * MiB);
    const other = second.takeBuffer(2 * MiB);
    assert.notEqual(other.buffer, dirty.buffer, 'a lent reserve is not handed out again');
    other.fill(0xcd);

    releaseReserves();
    assert.equal(pooledReserveBytes(), dirty.length + other.length);
    const third = new VmReader(target.pid);
    third.reserve(MiB); // smaller: either kept one fits
    const again = third.takeBuffer(2 * MiB);
    assert.ok(again.buffer === dirty.buffer || again.buffer === other.buffer, 'a released reserve is reused');
    assert.equal(third.stats().bufferedReserved, 2 * MiB, 'from the reserve, no fresh memory');
    assert.ok(
      again.every((b) => b === 0),
      'wiped before reuse: nothing of the last capture is left',
    );
    assert.equal(pooledReserveBytes(), 2 * MiB, 'one kept reserve left');

    // Past the limit, released reserves are dropped rather than kept.
    const big = new VmReader(target.pid);
    big.reserve(MAX_POOLED_BYTES);
    releaseReserves();
    assert.ok(pooledReserveBytes() <= MAX_POOLED_BYTES, `${pooledReserveBytes()} bytes kept`);
  });

  it('reads into a reused reserve equal reads into fresh memory, unreadable ranges and all', () => {
    const ranges = ascendingRanges(readMaps(target.pid), 5000, 11);
    const total = ranges.sizes.reduce((a, b) => a + b, 0) + 8;
    // Leave a dirty reserve of that size in the pool.
    const dirtying = new VmReader(target.pid);
    dirtying.reserve(total);
    dirtying.takeBuffer(total).fill(0x5a);
    releaseReserves();
    const paused = pauseProcess(target.pid);
    try {
      const fresh = readAll(new VmReader(target.pid, { threads: 1 }), ranges);
      assert.ok(fresh.bad > 0, 'some ranges are unreadable');
      const reader = new VmReader(target.pid, { threads: 1 });
      reader.reserve(total);
      const dest = reader.takeBuffer(total);
      assert.equal(reader.stats().bufferedReserved, total, 'the reused reserve');
      const ok = new Uint8Array(ranges.addresses.length);
      const bad = reader.readInto(
        ranges.addresses,
        ranges.sizes,
        ranges.addresses.length,
        dest,
        8,
        ok,
        JOIN_GAP,
      );
      assert.equal(bad, fresh.bad);
      assert.deepEqual(ok, fresh.ok);
      let off = 8;
      for (let i = 0; i < ok.length; i++) {
        const size = ranges.sizes[i]!;
        if (ok[i])
          assert.ok(
            dest.subarray(off, off + size).equals(fresh.dest.subarray(off, off + size)),
            `range ${i}`,
          );
        else
          assert.ok(
            !dest.subarray(off, off + size).includes(Buffer.alloc(8, 0x5a)),
            `unreadable range ${i} shows no byte of the last capture`,
          );
        off += size;
      }
    } finally {
      paused.resume();
    }
  });
});
