/**
 * Large readInto calls shared with the copy helper thread give the same bytes, the same ok
 * flags and the same counts as reads on one thread, on a paused target,
 * with unreadable ranges and joined neighbours across unmapped gaps; the helper's absence
 * and a target that exits are handled; the armed helper is placed off the poster's CPU before
 * it is woken, and takes part while the poster runs SCHED_FIFO; armed while the poster runs
 * SCHED_FIFO (a pause), the helper runs SCHED_FIFO too, until disarmed. copy-helper-paths.test.ts tests the helper switched off,
 * a helper that does not come back in time, and errors met by the helper.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  armCopyHelper,
  copyHelperReady,
  copyHelperTid,
  copySplitStats,
  disarmCopyHelper,
  MIN_SPLIT_BYTES,
  startCopyHelper,
} from '../../src/proc/copy-helper.js';
import { libc } from '../../src/proc/libc.js';
import { readMaps } from '../../src/proc/maps.js';
import { pauseProcess } from '../../src/proc/pause.js';
import { VmReader } from '../../src/proc/vm-reader.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { ascendingRanges, assertSame, readAll } from './copy-helper-reads.js';

describe('copy helper', { timeout: 60_000 }, () => {
  let target: Target;
  before(async () => {
    target = await startTarget((await buildFixture('signalnotify')).path);
  });
  after(async () => {
    await target?.kill();
  });

  it('split reads equal one-thread reads (armed or not); not started, reads stay on one thread', (t) => {
    const ranges = ascendingRanges(readMaps(target.pid), 20_000, 7);
    const paused = pauseProcess(target.pid);
    try {
      // The reference: one thread (vm-reader.test.ts checks it against /proc/PID/mem, which
      // unlike process_vm_readv also reads PROT_NONE mappings, so it is no oracle here).
      const one = readAll(new VmReader(target.pid, { threads: 1 }), ranges);
      assert.ok(one.bad > 10, `${one.bad} unreadable ranges`);
      assert.ok(one.stats.bytesRead >= 8 * MIN_SPLIT_BYTES, `${one.stats.bytesRead} bytes`);
      assert.ok(one.stats.gapBytes > 0, 'neighbours were joined');

      const before = copySplitStats();
      const notStarted = readAll(new VmReader(target.pid), ranges);
      assert.equal(copySplitStats().splits, before.splits, 'no split before the helper is started');
      assertSame(notStarted, one, 'helper not started');

      startCopyHelper();
      assert.ok(copyHelperReady(5000), 'the helper gets ready');
      for (const armed of [false, true]) {
        // The poster is an ordinary thread here, and so is the helper: on a busy machine (the
        // suite runs files in parallel) the helper can stay in the run queue for a whole read,
        // which is then correctly done by the poster alone. So an armed read is repeated, each
        // checked, until the helper has taken part in one, for up to 5 s (about a thousand
        // reads); a helper that never takes part fails.
        const deadline = Date.now() + (armed ? 5000 : 0);
        let attempts = 0;
        let helped = 0;
        do {
          if (armed) armCopyHelper(50);
          const s0 = copySplitStats();
          const two = readAll(new VmReader(target.pid), ranges);
          const s1 = copySplitStats();
          attempts++;
          assertSame(two, one, armed ? 'two threads, armed' : 'two threads');
          assert.equal(s1.splits, s0.splits + 1, 'the read was split');
          // Gap bytes and calls differ: blocks move where one call ends and the next begins.
          assert.ok(two.stats.gapBytes > 0 && two.stats.calls > 0);
          helped = s1.helperBlocks - s0.helperBlocks;
          if (!armed || helped > 0 || Date.now() >= deadline) {
            t.diagnostic(
              `${armed ? `armed (read ${attempts})` : 'not armed'}: ${helped} of ${s1.blocks - s0.blocks} ` +
                `blocks read by the helper; ${two.stats.calls} calls (one thread: ${one.stats.calls})`,
            );
          }
        } while (armed && helped === 0 && Date.now() < deadline);
        if (armed) assert.ok(helped > 0, `an armed helper takes part (in none of ${attempts} reads)`);
      }
    } finally {
      paused.resume();
    }
  });

  it('says the process exited when it is gone, and the helper still works afterwards', async () => {
    startCopyHelper();
    assert.ok(copyHelperReady(5000));
    const short = await startTarget((await buildFixture('signalnotify')).path);
    const ranges = ascendingRanges(readMaps(short.pid), 5000, 3);
    const reader = new VmReader(short.pid);
    await short.kill();
    armCopyHelper(50);
    const s0 = copySplitStats();
    assert.throws(() => readAll(reader, ranges), /process \d+ exited/);
    assert.equal(copySplitStats().splits, s0.splits, 'the failed read did not count as a split');

    const again = ascendingRanges(readMaps(target.pid), 5000, 4);
    const paused = pauseProcess(target.pid);
    try {
      const oracle = readAll(new VmReader(target.pid, { threads: 1 }), again);
      armCopyHelper(50);
      assertSame(readAll(new VmReader(target.pid), again), oracle, 'after an exited process');
      assert.equal(copySplitStats().splits, s0.splits + 1);
    } finally {
      paused.resume();
    }
  });

  it("places the armed helper off the poster's CPU before waking it; it takes part while the poster runs SCHED_FIFO", (t) => {
    startCopyHelper();
    assert.ok(copyHelperReady(5000));
    const tid = copyHelperTid();
    assert.ok(tid !== undefined && tid > 0, 'the helper publishes its thread id');
    const lib = libc();
    const mine = lib.threadCpus();
    if (mine.length < 2) {
      t.skip(`one CPU here (${mine.join(',')}): the helper is not moved`);
      return;
    }
    const allowed = (): number[] => lib.threadCpus(tid);
    const cpu = mine[0]!;
    assert.ok(lib.setThreadCpus([cpu]), 'the poster pins itself');
    const ranges = ascendingRanges(readMaps(target.pid), 20_000, 5);
    const paused = pauseProcess(target.pid);
    let realtime = false;
    try {
      const oracle = readAll(new VmReader(target.pid, { threads: 1 }), ranges);
      // As inside a pause: the poster runs SCHED_FIFO on its CPU (proc/pause.ts), then arms.
      realtime = lib.setRealtime(1);
      armCopyHelper(200);
      const placed = allowed();
      assert.deepEqual(
        placed,
        mine.filter((c) => c !== cpu),
        "armed, the helper may run on every CPU but the poster's",
      );
      const s0 = copySplitStats();
      const two = readAll(new VmReader(target.pid), ranges);
      const s1 = copySplitStats();
      assertSame(two, oracle, 'two threads, poster real-time');
      t.diagnostic(
        `poster on CPU ${cpu}${realtime ? ', SCHED_FIFO' : ' (real-time refused)'}; helper allowed ${placed}; ` +
          `${s1.helperBlocks - s0.helperBlocks} of ${s1.blocks - s0.blocks} blocks read by the helper`,
      );
      assert.ok(s1.helperBlocks > s0.helperBlocks, 'the helper read blocks while the poster ran real-time');
    } finally {
      if (realtime) lib.setRealtime(0);
      disarmCopyHelper();
      lib.setThreadCpus(mine);
      paused.resume();
    }
    assert.deepEqual(allowed(), mine, 'disarmed, the helper has all its CPUs back');
  });
  it('armed while the poster runs SCHED_FIFO (a pause), the helper runs SCHED_FIFO until disarmed; else, or switched off, it stays ordinary', (t) => {
    startCopyHelper();
    assert.ok(copyHelperReady(5000));
    const tid = copyHelperTid();
    assert.ok(tid !== undefined && tid > 0);
    const lib = libc();
    const FIFO = 1;
    const OTHER = 0;
    disarmCopyHelper();
    assert.equal(lib.threadPolicy(tid), OTHER, 'disarmed: ordinary');
    armCopyHelper(200); // the poster ordinary, as in the one-shot warm-up's run on the live target
    assert.equal(lib.threadPolicy(tid), OTHER, 'armed by an ordinary poster: ordinary');
    disarmCopyHelper();
    if (!lib.setRealtime(1)) {
      t.skip('SCHED_FIFO refused here (no CAP_SYS_NICE): the helper is left ordinary');
      return;
    }
    try {
      armCopyHelper(200);
      assert.equal(lib.threadPolicy(tid), FIFO, 'armed by a real-time poster: real-time');
      disarmCopyHelper();
      assert.equal(lib.threadPolicy(tid), OTHER, 'disarmed: ordinary again');
      process.env.PERISCOPE_HELPER_REALTIME = '0';
      armCopyHelper(200);
      assert.equal(lib.threadPolicy(tid), OTHER, 'PERISCOPE_HELPER_REALTIME=0: ordinary');
    } finally {
      delete process.env.PERISCOPE_HELPER_REALTIME;
      disarmCopyHelper();
      lib.setRealtime(0);
    }
  });
});
