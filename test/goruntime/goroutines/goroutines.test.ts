/**
 * Goroutine snapshots of the zoo (testdata/goroutines) against the Go runtime's own dump,
 * taken right after our snapshot, for every toolchain: blocked goroutines (ids, wait
 * reasons, frames with file:line, created-by), running goroutines, labels, thread ids,
 * wait durations, and the frame cap.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { sortedOrder } from '../../../src/common/radix-order.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { captureGoroutines, planGoroutineCapture } from '../../../src/goruntime/goroutines/capture.js';
import { decodeGoroutines } from '../../../src/goruntime/goroutines/decode.js';
import {
  type DumpFrame,
  type DumpGoroutine,
  parseGoroutineDump,
} from '../../../src/goruntime/goroutines/stack-dump.js';
import type { Goroutine } from '../../../src/goruntime/goroutines/types.js';
import { executableImage } from '../../../src/proc/maps.js';
import { pauseProcess } from '../../../src/proc/pause.js';
import { VmReader } from '../../../src/proc/vm-reader.js';
import { snapshotProcess } from '../../../src/snapshot/take-snapshot.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../../support/pause-cap.js';
import { startTarget, type Target } from '../../../support/target.js';

/** Asks the zoo for runtime.Stack(all) (it answers a line on stdin) and parses it. */
async function goDump(zoo: Target): Promise<DumpGoroutine[]> {
  const since = performance.now();
  zoo.child.stdin?.write('\n');
  await zoo.waitFor(/END-OF-DUMP/, 20_000, since);
  const out = zoo.lines
    .filter((l) => l.t >= since && !l.text.startsWith('stderr: '))
    .map((l) => `${l.text}\n`)
    .join('');
  return parseGoroutineDump(out);
}

const blocked = (g: Goroutine) => g.status === 'waiting' || g.status === 'syscall';
const state = (g: Goroutine) => g.waitReason ?? g.status;
const shown = (g: Goroutine) => g.stack.frames.filter((f) => !f.hidden);
const where = (f: { function: string; file: string; line: number }) => `${f.function} ${f.file}:${f.line}`;

/** Our frames vs the dump's, honouring its "...N frames elided..." gap. */
function assertSameFrames(g: Goroutine, d: DumpGoroutine): void {
  const ours = shown(g).map(where);
  const theirs = d.frames.map((f: DumpFrame) => where(f));
  if (!d.elided) {
    assert.deepEqual(ours, theirs, `goroutine ${g.id}: frames`);
    return;
  }
  const { at, count } = d.elided;
  assert.equal(ours.length, theirs.length + count, `goroutine ${g.id}: frame count with the elided ones`);
  assert.deepEqual(ours.slice(0, at), theirs.slice(0, at), `goroutine ${g.id}: inner frames`);
  assert.deepEqual(ours.slice(at + count), theirs.slice(at), `goroutine ${g.id}: outer frames`);
}

for (const tc of GO_TOOLCHAINS) {
  test(`goroutine snapshot of the zoo matches Go's own dump (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('goroutines', { toolchain: tc });
    const spawned = Date.now();
    const child = await startTarget(path);
    const readyAt = Date.now();
    try {
      const pid = child.pid;
      const snap = snapshotProcess(pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
      const tids = new Set(readdirSync(`/proc/${pid}/task`).map(Number));
      const dump = await goDump(child);
      const ours = new Map(snap.goroutines.map((g) => [g.id, g]));

      for (const g of snap.goroutines) assert.deepEqual(g.errors, [], `goroutine ${g.id}: no decode errors`);

      // (a) Blocked goroutines: same ids, states, frames and creators as Go's dump.
      const dumpBlocked = dump.filter((d) => d.id !== 1 && d.state !== 'running' && d.state !== 'runnable');
      const ourBlocked = snap.goroutines.filter((g) => g.id !== 1 && !g.system && blocked(g));
      assert.deepEqual(
        ourBlocked.map((g) => g.id).sort((a, b) => a - b),
        dumpBlocked.map((d) => d.id).sort((a, b) => a - b),
        'the same blocked goroutines',
      );
      assert.ok(ourBlocked.length >= 22, `the zoo has its blocked goroutines (${ourBlocked.length})`);
      for (const d of dumpBlocked) {
        const g = ours.get(d.id)!;
        assert.equal(state(g), d.state, `goroutine ${d.id}: state`);
        assertSameFrames(g, d);
        assert.deepEqual(
          g.createdBy && { ...g.createdBy, pc: undefined },
          d.createdBy && { ...d.createdBy, pc: undefined },
          `goroutine ${d.id}: created by`,
        );
        assert.equal(g.lockedToThread, d.lockedToThread, `goroutine ${d.id}: locked to thread`);
      }
      const states = new Set(ourBlocked.map(state));
      for (const s of [
        'chan send',
        'chan receive',
        'chan receive (nil chan)',
        'select',
        'select (no cases)',
      ]) {
        assert.ok(states.has(s), `a goroutine blocked in ${s}`);
      }
      assert.ok(
        states.has('syscall') && states.has('IO wait') && states.has('sleep'),
        'syscall, IO wait, sleep',
      );
      const inl = ourBlocked.find((g) => g.stack.frames.some((f) => f.function === 'main.inlinedChain'))!;
      assert.deepEqual(
        inl.stack.frames.filter((f) => f.inlined && f.function.startsWith('main.')).map((f) => f.function),
        ['main.inlInner', 'main.inlMiddle', 'main.inlOuter'],
        'the inlined chain appears as inlined frames',
      );

      // (b) Running goroutines: the tight loops, from their threads' registers.
      const spinners = snap.goroutines.filter((g) =>
        shown(g).some((f) => /^main\.spin[AB]$/.test(f.function)),
      );
      assert.equal(spinners.length, 2, 'two spinning goroutines');
      for (const g of spinners)
        assert.match(shown(g)[0]!.function, /^main\.spin[AB]$/, `goroutine ${g.id}: innermost`);
      const running = spinners.filter((g) => g.status === 'running');
      assert.ok(running.length >= 1, 'at least one spinner is running at the pause');
      for (const g of running)
        assert.equal(g.stackSource, 'thread', `goroutine ${g.id}: walked from its thread`);

      // (c) pprof labels as the zoo set them.
      const labelled = snap.goroutines
        .filter((g) => g.stack.frames.some((f) => f.function === 'main.labelled'))
        .map((g) => Object.fromEntries(g.labels))
        .sort((a, b) => Object.keys(a).length - Object.keys(b).length);
      assert.deepEqual(labelled, [{ zoo: 'second' }, { shard: '7', zoo: 'labelled' }]);

      // (d) Thread ids are real threads of the process; running and locked goroutines have one.
      for (const g of snap.goroutines)
        if (g.threadId !== undefined) assert.ok(tids.has(g.threadId), `tid ${g.threadId}`);
      for (const g of [
        ...running,
        ...snap.goroutines.filter((x) => x.lockedToThread || x.status === 'syscall'),
      ])
        assert.ok(g.threadId !== undefined, `goroutine ${g.id} (${g.status}) has a thread id`);

      // Wait durations: the zoo ran a GC after everything blocked, which records waitsince.
      const sinceSpawn = (Date.now() - spawned) * 1e6;
      const sinceReady = (Date.now() - readyAt) * 1e6;
      const timed = ourBlocked.filter((g) => g.waitDurationNs !== undefined);
      assert.ok(timed.length >= ourBlocked.length - 2, `wait durations recorded (${timed.length})`);
      for (const g of timed)
        assert.ok(g.waitDurationNs! <= sinceSpawn, `goroutine ${g.id}: waited at most since spawn`);
      assert.ok(timed.every((g) => g.waitDurationNs! >= 0) && sinceReady >= 0);
      t.diagnostic(
        `${snap.goroutines.length} goroutines; pause ${(snap.pauseNs / 1e6).toFixed(2)} ms (copy ${(snap.phasesNs.copy / 1e6).toFixed(2)} ms); decode ${(snap.decodeNs / 1e6).toFixed(2)} ms; ${snap.bytesRead} bytes`,
      );
    } finally {
      await child.kill();
    }
  });
}

test('the frame cap truncates a deep stack and marks it', async () => {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const child = await startTarget(path, ['-depth', '1500']);
  try {
    const pid = child.pid;
    const plan = planGoroutineCapture(bin, { bias: executableImage(pid).bias });
    const reader = new VmReader(pid);
    const paused = pauseProcess(pid);
    let capture: ReturnType<typeof captureGoroutines>;
    try {
      capture = captureGoroutines(
        plan,
        reader,
        paused.threads.map((x) => ({ tid: x.tid, pc: x.regs.pc, sp: x.regs.sp })),
      );
    } finally {
      paused.resume();
      reader.close();
    }
    const deep = (s: ReturnType<typeof decodeGoroutines>) =>
      s.goroutines.find((g) => g.stack.frames.filter((f) => f.function === 'main.recurse').length > 100)!;
    const full = deep(decodeGoroutines(bin, capture, { maxFrames: 4096 }));
    assert.equal(full.stack.end, 'top');
    assert.equal(full.stack.frames.filter((f) => f.function === 'main.recurse').length, 1501);
    const capped = deep(decodeGoroutines(bin, capture));
    assert.equal(capped.stack.end, 'truncated');
    assert.equal(capped.stack.frames.length, 1024);
  } finally {
    await child.kill();
  }
});

test('sortedOrder: a stable ascending permutation for small, 32-bit and wide key spans', () => {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (const [n, span] of [
    [100, 1e6],
    [20_000, 2 ** 31],
    [20_000, 2 ** 32 - 1],
    [20_000, 2 ** 40],
    [20_000, 64],
  ] as const) {
    const keys = Array.from({ length: n }, () => 0xc000000000 + Math.floor(rand() * span));
    const order = sortedOrder(keys);
    assert.equal(order.length, n);
    for (let i = 1; i < n; i++) {
      const a = keys[order[i - 1]!]!;
      const b = keys[order[i]!]!;
      assert.ok(a < b || (a === b && order[i - 1]! < order[i]!), `n ${n} span ${span} at ${i}`);
    }
  }
});
