/**
 * The boost of straggling threads (proc/stop-boost.ts) on a real Go program whose threads set
 * their own nice values and policies (testdata/nicethreads): every thread's scheduling is
 * exactly as before after pauses, after a pause that hit its budget, and the boost really
 * happens. A straggler is made by freezing one thread in a cgroup-v1 freezer: PTRACE_INTERRUPT
 * does not wake a frozen thread, so it stays interrupted and not stopped until thawed, while
 * a worker thread of this process watches its nice value in /proc/PID/task/TID/stat.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { PauseTimeoutError, pauseProcess } from '../../src/proc/pause.js';
import { lingeringThreads, settleLingering } from '../../src/proc/release.js';
import { listThreads, threadInfo } from '../../src/proc/threads.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FREEZER, Freezer } from '../../support/thread-freezer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every thread's nice value and policy, by tid. */
function scheduling(pid: number): Map<number, string> {
  return new Map(listThreads(pid).map((t) => [t.tid, `nice ${t.nice} policy ${t.policy}`]));
}

/** Asserts that every thread seen in both maps has the same scheduling; returns how many were compared. */
function assertSameScheduling(before: Map<number, string>, now: Map<number, string>, when: string): number {
  let compared = 0;
  for (const [tid, s] of before) {
    const n = now.get(tid);
    if (n === undefined) continue; // exited meanwhile
    assert.equal(n, s, `thread ${tid} ${when}`);
    compared++;
  }
  return compared;
}

/**
 * A worker thread that reads the nice value of each thread in `paths` every ~0.2 ms until
 * stopped, keeping the least seen; with `thawWhenBoosted`, it thaws the freezer as soon as
 * the first path shows nice -20.
 */
const OBSERVER = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { paths, state, minNice, thawPath } = workerData;
let thawed = false;
for (let i = 0; i < paths.length; i++) Atomics.store(minNice, i, 100);
while (Atomics.load(state, 0) === 0) {
  for (let i = 0; i < paths.length; i++) {
    try {
      const text = fs.readFileSync(paths[i], 'latin1');
      const nice = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[16]);
      if (nice < Atomics.load(minNice, i)) Atomics.store(minNice, i, nice);
      if (i === 0 && nice === -20 && thawPath && !thawed) {
        fs.writeFileSync(thawPath, 'THAWED');
        thawed = true;
      }
    } catch {}
  }
  Atomics.add(state, 1, 1);
  Atomics.wait(state, 0, 0, 0.2);
}
`;

class Observer {
  readonly state = new Int32Array(new SharedArrayBuffer(8));
  readonly minNice: Int32Array;
  readonly worker: Worker;
  constructor(pid: number, tids: number[], thawPath?: string) {
    this.minNice = new Int32Array(new SharedArrayBuffer(4 * tids.length));
    this.worker = new Worker(OBSERVER, {
      eval: true,
      workerData: {
        paths: tids.map((t) => `/proc/${pid}/task/${t}/stat`),
        state: this.state,
        minNice: this.minNice,
        thawPath,
      },
    });
  }
  async started(): Promise<void> {
    for (let i = 0; i < 500 && Atomics.load(this.state, 1) === 0; i++) await sleep(10);
    assert.ok(Atomics.load(this.state, 1) > 0, 'the observer reads /proc');
  }
  async stop(): Promise<number[]> {
    Atomics.store(this.state, 0, 1);
    Atomics.notify(this.state, 0);
    await this.worker.terminate();
    return [...this.minNice];
  }
}

describe('boosting the threads slow to stop', { timeout: 180_000 }, () => {
  let target: Target;
  /** The fixture's threads by what it set: 'nice 10 policy 0' -> tid. */
  const byKind = new Map<string, number>();
  before(async () => {
    target = await startTarget((await buildFixture('nicethreads')).path);
    for (const l of target.lines) {
      const m = /^thread (\d+) (nice -?\d+ policy \d+)$/.exec(l.text);
      if (m) byKind.set(m[2]!, Number(m[1]));
    }
    assert.equal(
      byKind.size,
      7,
      `the fixture set its threads' scheduling: ${target.lines.map((l) => l.text)}`,
    );
  });
  after(async () => {
    await target?.kill();
  });

  it('leaves every thread as the target set it, after pauses with and without the boost', () => {
    const before = scheduling(target.pid);
    for (const [kind, tid] of byKind)
      assert.equal(before.get(tid), kind, `thread ${tid} as the fixture set it`);
    for (const boostAfterMs of [0, 1, false] as const) {
      for (let i = 0; i < 30; i++) {
        const paused = pauseProcess(target.pid, { boostAfterMs });
        const held = scheduling(target.pid);
        paused.resume();
        assertSameScheduling(before, held, `while paused (boostAfterMs ${boostAfterMs})`);
        const n = assertSameScheduling(
          before,
          scheduling(target.pid),
          `after pause ${i} (boostAfterMs ${boostAfterMs})`,
        );
        assert.ok(n >= byKind.size, 'the fixture threads were compared');
      }
    }
  });

  it('boosts an interrupted thread that has not stopped, and restores it before the pause ends', async (t) => {
    if (!existsSync(FREEZER)) assert.fail(`no cgroup-v1 freezer at ${FREEZER}: this test needs one`);
    const victim = byKind.get('nice 10 policy 0')!;
    const before = scheduling(target.pid);
    const freezer = new Freezer('stop-boost');
    try {
      await freezer.freeze([victim]);
      const observer = new Observer(target.pid, [victim], `${freezer.dir}/freezer.state`);
      await observer.started();
      const paused = pauseProcess(target.pid, { budgetMs: 5000 });
      let during: string | undefined;
      try {
        during = scheduling(target.pid).get(victim);
      } finally {
        paused.resume();
      }
      const [least] = await observer.stop();
      t.diagnostic(`stop with the frozen thread: ${(paused.timings.stopNs / 1e6).toFixed(1)} ms`);
      assert.equal(least, -20, 'the straggler was seen at nice -20 while it was stopping');
      assert.ok(
        paused.threads.some((x) => x.tid === victim),
        'the straggler stopped once thawed',
      );
      assert.equal(during, 'nice 10 policy 0', 'its own nice was back while it was still stopped');
      assertSameScheduling(before, scheduling(target.pid), 'after the pause');
    } finally {
      freezer.remove();
    }
  });

  it('restores the straggler when the stop gives up at its budget, and leaves real-time and idle threads alone', async () => {
    const victim = byKind.get('nice 10 policy 0')!;
    const fifo = byKind.get('nice 0 policy 1')!;
    const idle = byKind.get('nice 0 policy 5')!;
    const before = scheduling(target.pid);
    const freezer = new Freezer('stop-boost');
    try {
      await freezer.freeze([victim, fifo, idle]);
      const observer = new Observer(target.pid, [victim, fifo, idle]);
      await observer.started();
      assert.throws(() => pauseProcess(target.pid, { budgetMs: 30 }), PauseTimeoutError);
      // Still frozen, interrupted and ours (released in the background once it stops).
      assert.equal(threadInfo(target.pid, victim)?.nice, 10, 'nice restored when the stop gave up');
      assert.ok(lingeringThreads().includes(victim), 'the frozen thread is still being released');
      const [least, fifoLeast, idleLeast] = await observer.stop();
      assert.equal(least, -20, 'the straggler had been boosted');
      assert.equal(fifoLeast, 0, 'the SCHED_FIFO thread was not reniced');
      assert.equal(idleLeast, 0, 'the SCHED_IDLE thread was not reniced');
      freezer.thaw();
      for (let i = 0; i < 200 && lingeringThreads().length > 0; i++) await sleep(10);
      assert.ok(settleLingering(target.pid, 1000), 'the late threads were detached once thawed');
      assertSameScheduling(before, scheduling(target.pid), 'after the pause that gave up');
      for (const th of listThreads(target.pid)) assert.notEqual(th.state, 't', `thread ${th.tid} runs on`);
      // And it can be paused again, normally.
      pauseProcess(target.pid).resume();
      assertSameScheduling(before, scheduling(target.pid), 'after the next pause');
    } finally {
      freezer.remove();
    }
  });
});
