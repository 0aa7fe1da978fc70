/**
 * The pause's hard cap: whatever happens inside a pause, the process is resumed by the cap
 * and the snapshot says it is partial, with what was left. The target (pausebench -big)
 * has 96 goroutines parked under about 1 MiB of used stack each, so that copying them takes
 * several times longer than the cap given here: the copy is cut, the process resumed, and
 * what was copied must be exactly what an uncut snapshot reads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderHeader } from '../../src/cli/commands/snapshot-view.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { startPauseTarget } from '../../support/pause-target.js';
import { freshDataDir, inputOf, openStore } from '../store/store-support.js';

const BIG = 96;
const CAP_MS = 2;

test('a pause that reaches its cap resumes the process and marks the snapshot partial', async () => {
  // At nice -10 (as bench/pause.ts runs it), so that other work on a busy machine
  // deschedules the target's ticker less, and the gaps it sees are mostly the pauses.
  const target = await startPauseTarget(200, -10, BIG);
  try {
    const spec = effectiveSpec(EMPTY_SPEC); // the built-in spec: values are read in the pause too
    // Uncut: a cap that cannot be reached. Twice, the second measured (the first warms up).
    snapshotProcess(target.pid, { spec, pauseCapMs: 60_000 });
    await target.gap();
    const whole = snapshotProcess(target.pid, { spec, pauseCapMs: 60_000 });
    const wholeGap = (await target.gap()).maxNs;
    assert.equal(whole.partial, undefined);
    assert.ok(whole.bytesRead > BIG << 20, `the big stacks were read (${whole.bytesRead} bytes)`);

    // The stop is given its own budget so that a slow stop on a busy machine cannot fail the
    // test: the cap then simply leaves every stack uncopied.
    const cuts = [];
    const cutGaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      cuts.push(snapshotProcess(target.pid, { spec, pauseCapMs: CAP_MS, pause: { budgetMs: 2000 } }));
      cutGaps.push((await target.gap()).maxNs);
    }
    const cut = cuts[0]!;
    for (const c of cuts) assert.ok(c.partial, 'every cut snapshot says it is partial');
    assert.ok(cut.partial, 'the snapshot says it is partial');
    assert.equal(cut.partial.capMs, CAP_MS);
    assert.ok(cut.partial.stacksNotCopied >= 1, `stacks not copied: ${cut.partial.stacksNotCopied}`);
    assert.match(cut.partial.reason, /reached its cap of 2 ms .*goroutine stacks not copied/);
    assert.ok(cut.bytesRead < whole.bytesRead, `${cut.bytesRead} < ${whole.bytesRead} bytes read`);

    // Resumed by the cap: the target's own ticker saw a shorter stop than the uncut copy's
    // (the cut one copies at most one 4 MiB piece past the cap, the whole one ~100 MiB more).
    // The least of three: on a shared machine other work adds to a gap, never takes away.
    const cutGap = Math.min(...cutGaps);
    assert.ok(
      cutGap < wholeGap,
      `the target stood still ${(cutGap / 1e6).toFixed(1)} ms when cut, ${(wholeGap / 1e6).toFixed(1)} ms whole`,
    );
    const status = readFileSync(`/proc/${target.pid}/status`, 'utf8');
    assert.match(status, /^TracerPid:\t0$/m, 'nothing traces the target any more');

    // What was captured is correct: every parked goroutine is there with its header, and each
    // either has exactly the stack of the uncut snapshot or is marked as not copied (the
    // target's HTTP goroutines come and go between snapshots: only the parked ones compare;
    // its ticker goroutine, main.ticker, spins and is running or runnable as the pause finds it).
    const notCopied = cut.goroutines.filter((g) => g.stack.error?.startsWith('not copied'));
    assert.equal(notCopied.length, cut.partial.stacksNotCopied);
    const parked = (g: (typeof cut.goroutines)[number]): boolean =>
      /^main\./.test(g.startFunction ?? '') && g.startFunction !== 'main.ticker';
    const byId = new Map(whole.goroutines.filter(parked).map((g) => [g.id, g]));
    assert.ok(byId.size >= 200 + BIG, `parked goroutines in the uncut snapshot: ${byId.size}`);
    assert.equal(
      cut.goroutines.filter((g) => byId.has(g.id)).length,
      byId.size,
      'every one is in the cut snapshot',
    );
    const names = (g: (typeof cut.goroutines)[number]): string =>
      g.stack.frames.map((f) => f.function).join(' < ');
    for (const g of cut.goroutines) {
      const w = byId.get(g.id);
      if (!w) continue;
      assert.equal(g.status, w.status);
      assert.equal(g.waitReason, w.waitReason);
      assert.equal(g.startFunction, w.startFunction);
      if (notCopied.includes(g)) {
        assert.equal(g.stack.frames.length, 0);
        assert.ok(g.errors.some((e) => e.includes('the pause reached its cap')));
      } else if (g.status !== 'running') assert.equal(names(g), names(w), `goroutine ${g.id}'s stack`);
    }
    // Said to people and kept in the store.
    assert.match(renderHeader(cut), /^partial: the pause reached its cap of 2 ms/m);
    const store = await openStore(freshDataDir());
    try {
      const id = await store.addSnapshot(inputOf(cut, ''));
      const r = await store.query('SELECT partial FROM processes', { snapshot: id });
      assert.equal(r.rows[0]?.[0], cut.partial.reason);
      const w = await store.addSnapshot(inputOf(whole, ''));
      assert.equal((await store.query('SELECT partial FROM processes', { snapshot: w })).rows[0]?.[0], null);
    } finally {
      await store.close();
    }
    const deepWhole = whole.goroutines.filter((g) => g.stack.frames.some((f) => f.function === 'main.deep'));
    assert.equal(deepWhole.length, BIG, 'the uncut snapshot has every big goroutine');
  } finally {
    await target.stop();
  }
});
