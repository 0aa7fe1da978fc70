/**
 * The pause spends a bounded time on the spec's values: frames past the budget are read
 * right after the resume, from the running process, and marked. On pausebench, 200
 * goroutines each with a frame of main.d5 (whose argument is optimized out there, so the
 * spec reads the channel they all block on): with a budget of 0 ms, a first group is read
 * during the pause and the rest after; every frame has its value either way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pauseAndCopy } from '../../src/snapshot/paused-capture.js';
import { finishSnapshot, prepareProcess, snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { startPauseTarget } from '../../support/pause-target.js';
import { freshDataDir, inputOf, openStore } from '../store/store-support.js';

const SPEC = `
functions:
  - function: main.d5
    capture:
      block: main.block
`;

test('values past the pause budget are read after the resume and marked', async () => {
  const n = 200;
  const target = await startPauseTarget(n);
  try {
    const spec = effectiveSpec(parseSpec(SPEC, 'test.yaml'), { defaults: false });
    // A budget that cannot run out: every value is read during the pause (no timing assumed).
    const all = snapshotProcess(target.pid, { spec, valuesBudgetMs: 60_000, pauseCapMs: 60_000 });
    assert.equal(all.valuesAfterPause, undefined);
    assert.ok(all.goroutines.every((g) => g.captures.every((c) => c.afterPause === undefined)));
    const tight = snapshotProcess(target.pid, { spec, valuesBudgetMs: 0, pauseCapMs: 60_000 });
    const frames = tight.goroutines.flatMap((g) => g.captures.filter((c) => c.function === 'main.d5'));
    assert.equal(frames.length, n, 'every goroutine in main.d5 has its capture');
    const late = frames.filter((c) => c.afterPause === true);
    assert.ok(late.length > 0 && late.length < n, `some read during the pause, some after (${late.length})`);
    assert.equal(tight.valuesAfterPause, late.length);
    const expected = JSON.stringify(frames[0]!.values[0]!.value);
    assert.match(expected, /"len":0,"cap":0,"elemType":"int","closed":false/);
    for (const c of frames)
      assert.equal(JSON.stringify(c.values[0]!.value), expected, 'the same value either way');

    // The store keeps the mark: captured.after_pause.
    const store = await openStore(freshDataDir());
    try {
      const id = await store.addSnapshot(inputOf(tight, SPEC));
      const r = await store.query(
        'SELECT after_pause, count(*) AS n FROM captured GROUP BY ALL ORDER BY ALL',
        {
          snapshot: id,
        },
      );
      assert.deepEqual(
        r.rows.map((row) => [row[0], Number(row[1])]),
        [
          [false, n - late.length],
          [true, late.length],
        ],
      );
    } finally {
      await store.close();
    }
  } finally {
    await target.stop();
  }
});

/** A spec capturing `n` expressions on main.d5's frame. */
const manyExpressions = (n: number): string =>
  `functions:\n  - function: main.d5\n    capture:\n${Array.from({ length: n }, (_, i) => `      c${i}: main.block\n`).join('')}`;

test('the budget is looked at within a frame too: one frame with many expressions', async () => {
  const n = 240;
  const target = await startPauseTarget(1);
  try {
    const spec = effectiveSpec(parseSpec(manyExpressions(n), 'test.yaml'), { defaults: false });
    const plan = prepareProcess(target.pid, spec);
    // A budget of 0 ms: the pause evaluates the first expression (each pause makes progress)
    // and looks at the budget before the second, whatever the machine's speed.
    const copied = pauseAndCopy(target.pid, plan, { valuesBudgetMs: 0 });
    const inPause = [...copied.captures.values()].flat().filter((c) => c.function === 'main.d5');
    assert.equal(inPause.length, 1, 'the frame was started in the pause');
    assert.equal(inPause[0]!.values.length, 1, 'only its first expression was evaluated in the pause');
    assert.ok(
      copied.pendingValues?.some((x) => x === 1),
      'its goroutine is left for after the pause',
    );
    // After the resume the rest of the frame is read; the frame is marked, its first value kept.
    const done = finishSnapshot(copied, { valuesBudgetMs: 0 });
    const frame = done.goroutines.flatMap((g) => g.captures).find((c) => c.function === 'main.d5');
    assert.ok(frame);
    assert.equal(frame.values.length, n);
    assert.equal(frame.afterPause, true);
    assert.equal(done.valuesAfterPause, 1);
    assert.equal(frame.values[0], inPause[0]!.values[0], 'the value read in the pause is the one reported');
    assert.deepEqual(
      frame.values.map((v) => v.column),
      Array.from({ length: n }, (_, i) => `c${i}`),
    );
    const expected = JSON.stringify(frame.values[0]!.value);
    for (const v of frame.values) assert.equal(JSON.stringify(v.value), expected);
    // With a budget that cannot run out, the whole frame is read in the pause.
    const all = snapshotProcess(target.pid, { spec, valuesBudgetMs: 60_000, pauseCapMs: 60_000 });
    const whole = all.goroutines.flatMap((g) => g.captures).find((c) => c.function === 'main.d5');
    assert.equal(whole?.values.length, n);
    assert.equal(whole?.afterPause, undefined);
  } finally {
    await target.stop();
  }
});

test('a frame cut by the budget is finished per table when two tables capture on its function', async () => {
  const target = await startPauseTarget(1);
  try {
    const text = `functions:
  - function: main.d5
    table: d5_a
    capture: { a0: main.block, a1: main.block }
  - function: main.d5
    table: d5_b
    capture: { b0: main.block, b1: main.block }
`;
    const spec = effectiveSpec(parseSpec(text, 'test.yaml'), { defaults: false });
    const plan = prepareProcess(target.pid, spec);
    // A budget of 0 ms: the pause evaluates only d5_a's first expression.
    const copied = pauseAndCopy(target.pid, plan, { valuesBudgetMs: 0 });
    const inPause = [...copied.captures.values()].flat().filter((c) => c.function === 'main.d5');
    assert.deepEqual(
      inPause.map((c) => [c.table, c.values.map((v) => v.column)]),
      [['d5_a', ['a0']]],
    );
    const done = finishSnapshot(copied, { valuesBudgetMs: 0 });
    const frames = done.goroutines.flatMap((g) => g.captures).filter((c) => c.function === 'main.d5');
    assert.deepEqual(
      frames.map((c) => [c.table, c.depth, c.values.map((v) => v.column)]),
      [
        ['d5_a', inPause[0]!.depth, ['a0', 'a1']],
        ['d5_b', inPause[0]!.depth, ['b0', 'b1']],
      ],
    );
    assert.equal(frames[0]!.values[0], inPause[0]!.values[0], 'the value read in the pause is kept');
    assert.ok(frames.every((c) => c.values.every((v) => v.error === undefined)));
  } finally {
    await target.stop();
  }
});
