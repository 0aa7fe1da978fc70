/**
 * The wire form of a snapshot (stacks listed once) decodes to exactly the snapshot: checked on
 * the goroutine zoo (every state, inlined frames, labels, running goroutines) and on
 * pausebench's 2,000 goroutines sharing one stack, where it is a fraction of the plain JSON.
 * A plain snapshot (from an agent that predates the wire form) is read as it is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSnapshot, encodeSnapshot } from '../../src/protocol/snapshot-wire.js';
import type { ProcessSnapshot, SnapshotGoroutine } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startPauseTarget } from '../../support/pause-target.js';
import { startTarget } from '../../support/target.js';

test('the goroutine zoo survives the wire form, frame for frame', async () => {
  const { path } = await buildFixture('goroutines');
  const child = await startTarget(path);
  try {
    const s = snapshotProcess(child.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
    const plain = JSON.parse(JSON.stringify(s));
    assert.deepEqual(asJson(decodeSnapshot(JSON.parse(encodeSnapshot(s)))), plain);
    assert.deepEqual(asJson(decodeSnapshot(JSON.parse(encodeV1(s)))), plain, 'version 1 (older agents)');
    assert.deepEqual(decodeSnapshot(plain), plain, 'a plain snapshot is read as it is');
    assert.ok(s.goroutines.some((g) => g.stack.frames.some((f) => f.inlined)));
  } finally {
    await child.kill();
  }
});

test('goroutines sharing a stack send it once', async () => {
  const target = await startPauseTarget(2000);
  try {
    const s = snapshotProcess(target.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
    const wire = encodeSnapshot(s);
    const plain = JSON.stringify(s);
    const decoded = decodeSnapshot(JSON.parse(wire));
    assert.deepEqual(asJson(decoded), JSON.parse(plain));
    assert.ok(wire.length * 3 < plain.length, `wire ${wire.length} bytes, plain ${plain.length}`);
    // The goroutines parked in d10 share one frames array, in the snapshot and after the wire.
    const parked = (gs: readonly SnapshotGoroutine[]) =>
      gs.filter((g) => g.stack.frames.some((f) => f.function === 'main.d10'));
    for (const gs of [s.goroutines, decoded.goroutines]) {
      const ps = parked(gs);
      assert.ok(ps.length >= 2000, `${ps.length} parked goroutines`);
      assert.equal(new Set(ps.map((g) => g.stack.frames)).size, 1, 'one frames array for all of them');
      assert.equal(new Set(ps.map((g) => g.stack.sp)).size, ps.length, 'each its own stack pointer');
    }
  } finally {
    await target.stop();
  }
});

test('a wire form that does not fit is refused with a message', () => {
  assert.throws(
    () => decodeSnapshot({ wire: 9, stacks: [], goroutines: [] }),
    /unknown snapshot wire form 9/,
  );
  assert.throws(
    () =>
      decodeSnapshot({
        wire: 1,
        stacks: [],
        goroutines: [{ id: 1, stack: { ref: 3, sp: [], cfa: [] } }],
      }),
    /goroutine 1: stack reference 3 does not fit/,
  );
});

/** A snapshot as its JSON reads back (fields that are undefined are absent). */
function asJson(s: ProcessSnapshot): unknown {
  return JSON.parse(JSON.stringify(s));
}

/** The version 1 wire form (agents before frames were shared), written as they wrote it. */
function encodeV1(s: ProcessSnapshot): string {
  const stacks: unknown[] = [];
  const goroutines = s.goroutines.map((g) => {
    const frames = g.stack.frames.map(({ spOffset: _s, cfaOffset: _c, ...rest }) => rest);
    stacks.push({
      frames,
      end: g.stack.end,
      ...(g.stack.error === undefined ? {} : { error: g.stack.error }),
    });
    let last = 0;
    const sp: number[] = [];
    const cfa: number[] = [];
    for (const f of g.stack.frames) {
      const at = g.stack.sp + f.spOffset;
      sp.push(at - last);
      last = at;
      cfa.push(f.cfaOffset - f.spOffset);
    }
    return { ...g, stack: { ref: stacks.length - 1, sp, cfa } };
  });
  return JSON.stringify({ ...s, wire: 1, stacks, goroutines });
}
