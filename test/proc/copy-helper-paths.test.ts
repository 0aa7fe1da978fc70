/**
 * The copy helper's less travelled paths, with real threads and a real Go target:
 * - switched off (PERISCOPE_COPY_THREADS=1, or a reader with threads: 1), large reads stay on
 *   one thread and read what a split read reads;
 * - a helper that does not come back in time: a tracer process (support/thread-stall.ts) holds the
 *   helper thread at the entry of its first process_vm_readv of a job, so it has taken a
 *   block and copied nothing; the poster cancels, then uses the helper's block when it comes
 *   back in time, or disables it and discards the copy with an error when it does not (the
 *   helper would write into it whenever its read ends);
 * - a target that dies while the helper's read is held: the helper meets the error, and the
 *   poster, reading the helper's unfinished block itself, reports it as one thread does.
 * Module state is per thread: the helper of this file's thread is started by the first test
 * and disabled by the last, which must stay last.
 */
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import {
  armCopyHelper,
  copyHelperReady,
  copySplitStats,
  copyThreadsDisabled,
  startCopyHelper,
} from '../../src/proc/copy-helper.js';
import { readMaps } from '../../src/proc/maps.js';
import { pauseProcess } from '../../src/proc/pause.js';
import { HELPER_MIN_BYTES, VmReader } from '../../src/proc/vm-reader.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { prng } from '../../support/prng.js';
import { startTarget, type Target } from '../../support/target.js';
import {
  ascendingRanges,
  assertSame,
  JOIN_GAP,
  type Ranges,
  type Read,
  readAll,
} from './copy-helper-reads.js';

const STALL = join(import.meta.dirname, '..', '..', 'support', 'thread-stall.js');

/** How long the poster waits for a helper that took a job before it cancels, then before it disables it. */
const CANCEL_MS = 100;
const DISABLE_MS = CANCEL_MS + 1000;

/**
 * Pauses for the tests that hold the helper: this thread runs SCHED_FIFO in a pause by
 * default, and on two cores it then starves the tracer, which the traced helper waits for at
 * every system call (it then took no block in most reads).
 */
const HELD_PAUSE = { maxHoldMs: 10_000, realtime: false } as const;

/**
 * The reads the helper is held in: 64k small ranges (about 4 MB), which take tens of
 * milliseconds even on two threads. A traced helper wakes slowly (each of its system calls
 * stops it until the tracer lets it go on: 3–12 ms from a post to its first read, measured),
 * and it must take a block before the poster has claimed them all.
 */
const HELD_RANGES = 65536;
const HELD_MAX_SIZE = 256;

/** This process's thread ids. */
function tasks(): Set<number> {
  return new Set(readdirSync('/proc/self/task').map(Number));
}

let helperTid = 0;

/** Starts this thread's copy helper (once) and returns its thread id: the one thread its start added. */
function startHelper(): number {
  if (helperTid) return helperTid;
  assert.equal(copyHelperReady(), false, 'the helper is not running yet');
  const before = tasks();
  startCopyHelper();
  assert.ok(copyHelperReady(5000), 'the helper gets ready');
  const added = [...tasks()].filter((t) => !before.has(t));
  assert.equal(added.length, 1, `threads added by starting the helper: ${added.join(' ')}`);
  helperTid = added[0]!;
  return helperTid;
}

/**
 * Starts thread-stall.js on the helper thread with `args` and waits until it traces it;
 * skips the test when this system does not let a child trace its parent.
 */
async function stallHelper(t: TestContext, args: string[]): Promise<Target | undefined> {
  const tid = startHelper();
  const stall = await startTarget(process.execPath, [STALL, String(tid), ...args], {}, /^(seized|error)/);
  const error = stall.lines.find((l) => l.text.startsWith('error'));
  if (!error) return stall;
  await stall.kill();
  t.skip(`cannot trace the helper thread: ${error.text}`);
  return undefined;
}

/** Ranges in ascending order inside the target's executable (readable, and unchanging while it runs), of up to `maxSize` bytes. */
function executableRanges(pid: number, n: number, seed: number, maxSize: number): Ranges {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  const regions = readMaps(pid).filter((m) => m.path === exe && m.perms[0] === 'r');
  assert.ok(regions.length > 0, `mappings of ${exe}`);
  const rand = prng(seed);
  const list: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const m = regions[Math.floor(rand() * regions.length)]!;
    const span = m.end - m.start;
    const size = Math.min(span, 1 + Math.floor(rand() ** 3 * maxSize));
    list.push([m.start + Math.floor(rand() * (span - size + 1)), size]);
  }
  list.sort((a, b) => a[0] - b[0]);
  return { addresses: Float64Array.from(list, (r) => r[0]), sizes: Float64Array.from(list, (r) => r[1]) };
}

/** The tracer's output, for failure messages. */
function said(stall: Target): string {
  return JSON.stringify(stall.lines.map((l) => l.text));
}

/** A read, and how long it took. */
function timedRead(reader: VmReader, ranges: Ranges): { got: Read; ms: number } {
  const t0 = performance.now();
  const got = readAll(reader, ranges);
  return { got, ms: performance.now() - t0 };
}

describe('copy helper paths', { timeout: 60_000 }, () => {
  let target: Target;
  before(async () => {
    target = await startTarget((await buildFixture('signalnotify')).path);
  });
  after(async () => {
    await target?.kill();
  });

  it('switched off (PERISCOPE_COPY_THREADS=1 or threads: 1), large reads stay on one thread and read the same', () => {
    const ranges = ascendingRanges(readMaps(target.pid), 5000, 11);
    const saved = process.env.PERISCOPE_COPY_THREADS;
    const restore = (): void => {
      if (saved === undefined) delete process.env.PERISCOPE_COPY_THREADS;
      else process.env.PERISCOPE_COPY_THREADS = saved;
    };
    const paused = pauseProcess(target.pid, { maxHoldMs: 10_000 });
    try {
      const s0 = copySplitStats();
      // Before any helper: neither starting one nor a reserve large enough to share starts it.
      process.env.PERISCOPE_COPY_THREADS = '1';
      try {
        assert.ok(copyThreadsDisabled());
        startCopyHelper();
        new VmReader(target.pid, { reserveBytes: HELPER_MIN_BYTES }).startHelper();
        assert.equal(copyHelperReady(3000), false, 'no helper was started');
      } finally {
        restore();
      }

      // With the helper running and armed: readers made while switched off, or with
      // threads: 1, read everything on this thread.
      startHelper();
      armCopyHelper(200);
      process.env.PERISCOPE_COPY_THREADS = '1';
      let env: Read;
      try {
        env = readAll(new VmReader(target.pid), ranges);
      } finally {
        restore();
      }
      const one = readAll(new VmReader(target.pid, { threads: 1 }), ranges);
      assert.equal(copySplitStats().splits, s0.splits, 'no read was split');
      assert.ok(
        one.bad > 0 && one.stats.bytesRead >= 2 * HELPER_MIN_BYTES,
        `${one.stats.bytesRead} bytes read`,
      );
      assertSame(env, one, 'PERISCOPE_COPY_THREADS=1');

      // The same read split (so the reads above were large enough to be).
      armCopyHelper(50);
      const two = readAll(new VmReader(target.pid), ranges);
      assert.equal(copySplitStats().splits, s0.splits + 1, 'a default reader splits the read');
      assertSame(two, one, 'split');
    } finally {
      restore();
      paused.resume();
    }
  });

  it('a target that dies while the helper reads is reported as on one thread', async (t) => {
    const short = await startTarget((await buildFixture('signalnotify')).path);
    // 700 ms: long after the poster read its own blocks (tens of milliseconds, a few hundred
    // on a loaded machine), long before it would give up on the helper (1.1 s).
    const stall = await stallHelper(t, ['ms', '700', 'kill', String(short.pid)]);
    if (!stall) return;
    try {
      const ranges = executableRanges(short.pid, HELD_RANGES, 5, HELD_MAX_SIZE);
      const n = ranges.addresses.length;
      const reader = new VmReader(short.pid);
      let s0 = copySplitStats();
      let error: Error | undefined;
      let ok = new Uint8Array(n);
      // The helper is held at its first read of a block; the tracer then kills the target
      // (the poster has long read its own blocks, and waits) and lets the helper go on: its
      // read fails, and the poster reads the helper's block itself. A read in which the
      // helper took no block (rare) succeeds, and is tried again.
      // Reads are tried for up to 5 s, not 5 times (as in copy-helper.test.ts): on a busy
      // machine the helper, an ordinary thread, can stay queued for several whole reads.
      let attempts = 0;
      for (const deadline = Date.now() + 5000; attempts === 0 || Date.now() < deadline; ) {
        attempts++;
        s0 = copySplitStats();
        ok = new Uint8Array(n);
        const dest = Buffer.alloc(ranges.sizes.reduce((a, b) => a + b, 0));
        try {
          reader.readInto(ranges.addresses, ranges.sizes, n, dest, 0, ok, JOIN_GAP);
        } catch (e) {
          error = e as Error;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20)); // the tracer's lines come in
        assert.ok(!stall.lines.some((l) => l.text === 'stalled'), 'a read the helper was held in succeeded');
      }
      assert.ok(error, `the read failed (${attempts} reads; tracer: ${said(stall)})`);
      await stall.waitFor(/^released/);
      assert.match(error.message, /process \d+ exited/);
      // The same error as on one thread.
      assert.throws(() => readAll(new VmReader(short.pid, { threads: 1 }), ranges), {
        name: error.name,
        message: error.message,
      });
      assert.equal(copySplitStats().splits, s0.splits, 'the failed read did not count as a split');
      // The poster had read every range but those of the helper's block (one run of ranges)
      // before the target died: the error came from the helper's block.
      const firstUnread = ok.indexOf(0);
      assert.ok(firstUnread >= 0, 'some ranges were not read');
      let endUnread = firstUnread;
      while (endUnread < n && ok[endUnread] === 0) endUnread++;
      assert.ok(
        ok.subarray(endUnread).every((x) => x === 1),
        'every range outside one run was read before the error',
      );
      assert.ok(endUnread - firstUnread < n / 2, `${endUnread - firstUnread} of ${n} ranges unread`);
      t.diagnostic(`the helper's block: ranges ${firstUnread}..${endUnread - 1} of ${n}`);
      assert.ok(copyHelperReady(), 'the helper came back in time and is used again');
    } finally {
      await stall.kill();
      await short.kill();
    }
  });

  it('a helper that comes back after the poster cancelled: its block is used, and it works on', async (t) => {
    // Past the poster's first deadline (100 ms after it read its own blocks: it cancels), long
    // before the second (1.1 s: it would give up on the helper).
    const holdMs = 600;
    const stall = await stallHelper(t, ['ms', String(holdMs)]);
    if (!stall) return;
    const ranges = ascendingRanges(readMaps(target.pid), HELD_RANGES, 12, HELD_MAX_SIZE);
    const paused = pauseProcess(target.pid, HELD_PAUSE);
    try {
      const one = readAll(new VmReader(target.pid, { threads: 1 }), ranges);
      let held: { got: Read; ms: number } | undefined;
      let s0 = copySplitStats();
      // Reads are tried for up to 5 s, not 5 times (as in copy-helper.test.ts): on a busy
      // machine the helper, an ordinary thread, can stay queued for several whole reads.
      let attempts = 0;
      for (const deadline = Date.now() + 5000; !held && (attempts === 0 || Date.now() < deadline); ) {
        attempts++;
        s0 = copySplitStats();
        const r = timedRead(new VmReader(target.pid), ranges);
        assertSame(r.got, one, 'two threads');
        // The helper took no block when the tracer did not see it read (rare): try again.
        const stalled = await stall.waitFor(/^stalled/, 100).then(
          () => true,
          () => false,
        );
        if (stalled) held = r;
      }
      assert.ok(held, `the helper was held (${attempts} reads; tracer: ${said(stall)})`);
      await stall.waitFor(/^released/);
      const s1 = copySplitStats();
      t.diagnostic(`the read took ${held.ms.toFixed(0)} ms`);
      assert.ok(held.ms >= holdMs - 10, 'the poster waited for the helper');
      assert.equal(s1.splits, s0.splits + 1);
      // One block, or more when the poster was still reading its own when the helper came back.
      assert.ok(s1.helperBlocks > s0.helperBlocks, 'the block the helper finished was used');
      t.diagnostic(`the helper read ${s1.helperBlocks - s0.helperBlocks} of ${s1.blocks - s0.blocks} blocks`);
      assert.ok(copyHelperReady(), 'the helper was not disabled');
      const again = timedRead(new VmReader(target.pid), ranges);
      assertSame(again.got, one, 'after a cancelled job');
      assert.equal(copySplitStats().splits, s1.splits + 1, 'the helper takes jobs again');
    } finally {
      await stall.kill();
      paused.resume();
    }
  });

  // Last: it disables this thread's helper for good.
  it('a helper that does not come back: the copy is discarded with an error, and the helper never used again', async (t) => {
    const stall = await stallHelper(t, ['hold']);
    if (!stall) return;
    const ranges = ascendingRanges(readMaps(target.pid), HELD_RANGES, 13, HELD_MAX_SIZE);
    const paused = pauseProcess(target.pid, HELD_PAUSE);
    try {
      const one = readAll(new VmReader(target.pid, { threads: 1 }), ranges);
      let held: { error: unknown; ms: number } | undefined;
      let s0 = copySplitStats();
      // Reads are tried for up to 5 s, not 5 times (as in copy-helper.test.ts): on a busy
      // machine the helper, an ordinary thread, can stay queued for several whole reads.
      let attempts = 0;
      for (const deadline = Date.now() + 5000; !held && (attempts === 0 || Date.now() < deadline); ) {
        attempts++;
        s0 = copySplitStats();
        const t0 = performance.now();
        try {
          assertSame(readAll(new VmReader(target.pid), ranges), one, 'two threads');
        } catch (e) {
          held = { error: e, ms: performance.now() - t0 };
        }
        // No error: the helper took no block (try again); it must not have been disabled.
        if (!held) assert.ok(copyHelperReady(), 'a helper disabled without an error');
      }
      assert.ok(held, `the helper was held, and then disabled (${attempts} reads; tracer: ${said(stall)})`);
      assert.ok(held.error instanceof PeriscopeError, String(held.error));
      assert.equal(held.error.kind, 'timeout');
      assert.match(held.error.message, /may still write into the copy, so this copy is discarded/);
      assert.equal(copyHelperReady(), false, 'the helper is disabled');
      await stall.waitFor(/^stalled/);
      stall.child.stdin?.write('release\n');
      await stall.waitFor(/^released/);
      t.diagnostic(`the read took ${held.ms.toFixed(0)} ms`);
      assert.ok(held.ms >= DISABLE_MS - 10, 'the poster waited for the helper, then cancelled, then gave up');
      const s1 = copySplitStats();
      assert.equal(s1.splits, s0.splits, 'the discarded read is not counted as a split');
      const after = timedRead(new VmReader(target.pid), ranges);
      assertSame(after.got, one, 'after the helper was disabled');
      assert.equal(copySplitStats().splits, s1.splits, 'no read is split any more');
    } finally {
      await stall.kill();
      paused.resume();
    }
  });
});
