/**
 * The wire form of a snapshot (stacks listed once) decodes to exactly the snapshot: checked on
 * the goroutine zoo (every state, inlined frames, labels, running goroutines) and on
 * pausebench's 2,000 goroutines sharing one stack, where it is a fraction of the plain JSON.
 * A plain snapshot (from an agent that predates the wire form) is read as it is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSnapshot, encodeSnapshot } from '../../src/protocol/snapshot-wire.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startPauseTarget } from '../../support/pause-target.js';
import { startTarget } from '../../support/target.js';

test('the goroutine zoo survives the wire form, frame for frame', async () => {
  const { path } = await buildFixture('goroutines');
  const child = await startTarget(path);
  try {
    const s = snapshotProcess(child.pid);
    const plain = JSON.parse(JSON.stringify(s));
    assert.deepEqual(decodeSnapshot(JSON.parse(encodeSnapshot(s))), plain);
    assert.deepEqual(decodeSnapshot(plain), plain, 'a plain snapshot is read as it is');
    assert.ok(s.goroutines.some((g) => g.stack.frames.some((f) => f.inlined)));
  } finally {
    await child.kill();
  }
});

test('goroutines sharing a stack send it once', async () => {
  const target = await startPauseTarget(2000);
  try {
    const s = snapshotProcess(target.pid);
    const wire = encodeSnapshot(s);
    const plain = JSON.stringify(s);
    assert.deepEqual(decodeSnapshot(JSON.parse(wire)), JSON.parse(plain));
    assert.ok(wire.length * 3 < plain.length, `wire ${wire.length} bytes, plain ${plain.length}`);
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
