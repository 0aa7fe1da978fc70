/**
 * Values read by plan (snapshot/read-plan.ts): the pause only reads the memory a frame's
 * captures reach, and the evaluation after the resume sees what memory held while paused.
 * testdata/mutating changes two counters (separate heap objects) in a tight loop while four
 * goroutines park in main.hold pointing at both: values of one pause are the same in every
 * frame, and the copy equals the counter or is one behind. With -still the counters change
 * only when the test asks, between the resume and the evaluation: the values are the old ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pauseAndCopy, warmUpCapture } from '../../src/snapshot/paused-capture.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { finishSnapshot, prepareProcess, snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget } from '../../support/target.js';

const SPEC = `
functions:
  - function: main.hold
    capture:
      a: p.a.n
      b: p.b.n
`;

/**
 * A budget and a cap that a busy machine cannot reach: what is tested is where values are
 * read, and a frame past the budget would be read after the resume (and marked) instead.
 */
const UNHURRIED = { valuesBudgetMs: 60_000, pauseCapMs: 60_000 };

/** The (a, b) of every main.hold frame of a snapshot. */
function pairs(s: ProcessSnapshot): { a: number; b: number; afterPause: boolean }[] {
  return s.goroutines.flatMap((g) =>
    g.captures
      .filter((c) => c.function === 'main.hold')
      .map((c) => ({
        a: Number(c.values.find((v) => v.column === 'a')?.value),
        b: Number(c.values.find((v) => v.column === 'b')?.value),
        afterPause: c.afterPause === true,
      })),
  );
}

/** Whether the frames saw one state of memory: the same numbers everywhere, the copy at most one behind. */
function consistent(ps: readonly { a: number; b: number }[]): boolean {
  const [first] = ps;
  return (
    first !== undefined &&
    ps.every((p) => p.a === first.a && p.b === first.b) &&
    (first.b === first.a || first.b === first.a - 1)
  );
}

test('values read by plan are those memory held during the pause', async () => {
  const target = await startTarget((await buildFixture('mutating')).path);
  try {
    const spec = effectiveSpec(parseSpec(SPEC, 'test.yaml'), { defaults: false });
    const plan = prepareProcess(target.pid, spec);
    warmUpCapture(target.pid, plan); // evaluates the frames on the live process: plans learned
    for (let i = 0; i < 5; i++) {
      const copied = pauseAndCopy(target.pid, plan, UNHURRIED);
      assert.ok(copied.kept && copied.kept.planned > 0, 'the pause read the frames by plan');
      const inPause = [...copied.captures.values()].flat().filter((c) => c.function === 'main.hold');
      assert.equal(inPause.length, 0, 'nothing evaluated inside the pause');
      const snap = finishSnapshot(copied);
      const ps = pairs(snap);
      assert.equal(ps.length, 4, 'four frames of main.hold');
      assert.ok(
        ps.every((p) => Number.isFinite(p.a) && p.a > 0),
        JSON.stringify(ps),
      );
      assert.ok(
        ps.every((p) => !p.afterPause),
        'no frame read after the pause',
      );
      assert.equal(snap.valuesAfterPause, undefined);
      assert.ok(consistent(ps), `one state of memory: ${JSON.stringify(ps)}`);
    }
  } finally {
    await target.kill();
  }
});

test('values are evaluated from what the pause read, not from memory changed after it', async () => {
  // -still: the counters change only when asked, so the test knows what the pause saw.
  const target = await startTarget((await buildFixture('mutating')).path, ['-still']);
  try {
    const spec = effectiveSpec(parseSpec(SPEC, 'test.yaml'), { defaults: false });
    const plan = prepareProcess(target.pid, spec);
    warmUpCapture(target.pid, plan);
    const copied = pauseAndCopy(target.pid, plan, UNHURRIED);
    assert.ok(copied.kept && copied.kept.planned > 0, 'the pause read the frames by plan');
    // Resumed, not evaluated yet: the target changes both counters now.
    const since = performance.now();
    target.child.stdin?.write('bump\n');
    const line = await target.waitFor(/^bumped \d+ \d+$/, 10_000, since - 1);
    const [old, now] = line.text.split(' ').slice(1).map(Number) as [number, number];
    const ps = pairs(finishSnapshot(copied));
    assert.equal(ps.length, 4);
    for (const p of ps) assert.deepEqual(p, { a: old, b: old, afterPause: false }, `the paused state ${old}`);
    // Control: a read of the running process sees the new state (so the check above can fail).
    const live = pairs(snapshotProcess(target.pid, { spec, noPause: true }));
    assert.ok(live.length === 4 && live.every((p) => p.a === now && p.b === now), JSON.stringify(live));
  } finally {
    await target.kill();
  }
});

test('a frame whose memory no longer fits its plan is finished after the pause, marked, and learned again', async () => {
  const target = await startTarget((await buildFixture('mutating')).path);
  try {
    const text = `${SPEC}      o: p.opt.n\n`;
    const spec = effectiveSpec(parseSpec(text, 'test.yaml'), { defaults: false });
    const plan = prepareProcess(target.pid, spec);
    warmUpCapture(target.pid, plan); // pair.opt is nil: the plan stops at it
    const before = finishSnapshot(pauseAndCopy(target.pid, plan, UNHURRIED));
    const o = (s: ProcessSnapshot) =>
      s.goroutines.flatMap((g) => g.captures.filter((c) => c.function === 'main.hold'));
    assert.ok(o(before).every((c) => c.values[2]?.error !== undefined && !c.afterPause));
    const since = performance.now();
    target.child.stdin?.write('opt\n');
    await target.waitFor(/^opt set$/, 10_000, since - 1);
    // The plan did not read *opt: its frames need a live read after the resume, and say so.
    const missed = finishSnapshot(pauseAndCopy(target.pid, plan, UNHURRIED));
    assert.equal(o(missed).length, 4);
    assert.ok(o(missed).every((c) => c.values[2]?.value === 7 && c.afterPause === true));
    assert.equal(missed.valuesAfterPause, 4);
    // Learned again from that evaluation: the next pause reads it too.
    const again = finishSnapshot(pauseAndCopy(target.pid, plan, UNHURRIED));
    assert.ok(o(again).every((c) => c.values[2]?.value === 7 && c.afterPause === undefined));
    assert.equal(again.valuesAfterPause, undefined);
    assert.ok(consistent(pairs(again)), JSON.stringify(pairs(again)));
  } finally {
    await target.kill();
  }
});

test('PERISCOPE_VALUES_IN_PAUSE=1 evaluates the values inside the pause', async () => {
  const target = await startTarget((await buildFixture('mutating')).path);
  process.env.PERISCOPE_VALUES_IN_PAUSE = '1';
  try {
    const spec = effectiveSpec(parseSpec(SPEC, 'test.yaml'), { defaults: false });
    const plan = prepareProcess(target.pid, spec);
    warmUpCapture(target.pid, plan);
    const copied = pauseAndCopy(target.pid, plan, UNHURRIED);
    assert.equal(copied.kept, undefined);
    assert.equal([...copied.captures.values()].flat().filter((c) => c.function === 'main.hold').length, 4);
    assert.ok(consistent(pairs(finishSnapshot(copied))));
  } finally {
    delete process.env.PERISCOPE_VALUES_IN_PAUSE;
    await target.kill();
  }
});
