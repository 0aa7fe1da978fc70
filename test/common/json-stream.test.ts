/**
 * JSON written in pieces (common/json-stream.ts) is JSON.stringify's text, byte for byte, and is
 * never one string: on a real snapshot of 3,000 goroutines each write is a small part of the
 * whole (the CLI's --json of 100k+ goroutines passed V8's ~512 MiB string limit when built as
 * one string). A RangeError of ours is not blamed on the user's input.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { describeError } from '../../src/common/errors.js';
import { jsonPieces, writeJson } from '../../src/common/json-stream.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startPauseTarget } from '../../support/pause-target.js';

/** A stream that keeps every write and reports itself full after each, to exercise 'drain'. */
class Recorder extends Writable {
  readonly writes: string[] = [];
  constructor() {
    super({ highWaterMark: 1, decodeStrings: false });
  }
  override _write(chunk: string, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.writes.push(chunk);
    setImmediate(done);
  }
}

test('the pieces are JSON.stringify text for every kind of value', () => {
  const values: unknown[] = [
    null,
    1.5,
    'a "quoted"\nline',
    [],
    {},
    [1, undefined, () => 1, [2, [3, [4, [5]]]]],
    { a: undefined, b: { c: { d: { e: [1, { f: 'g' }] } } }, h: new Date(0), i: [], j: {} },
    { toJSON: () => ({ replaced: [1, 2] }) },
    { s: Symbol('x'), n: new Number(3), t: new String('t'), u: new Uint8Array([1, 2]) },
    [{ deep: { deeper: { deepest: { x: [1, 2, { y: 'z' }] } } } }],
  ];
  for (const v of values)
    for (const indent of [0, 2, '\t'])
      assert.equal([...jsonPieces(v, indent)].join(''), JSON.stringify(v, null, indent), JSON.stringify(v));
  assert.equal([...jsonPieces(undefined)].join(''), '', 'undefined writes nothing, as JSON.stringify');
});

test('a real snapshot is written in small pieces that join to JSON.stringify text', async () => {
  const target = await startPauseTarget(3000);
  try {
    const snap = snapshotProcess(target.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
    const want = `${JSON.stringify(snap, null, 2)}\n`;
    const out = new Recorder();
    await writeJson(out, snap, 2);
    assert.equal(out.writes.join(''), want);
    const largest = Math.max(...out.writes.map((w) => w.length));
    assert.ok(want.length > 4 << 20, `${want.length} characters of JSON`);
    assert.ok(out.writes.length > 50, `${out.writes.length} writes`);
    assert.ok(largest < 256 << 10, `the largest write is ${largest} characters of ${want.length}`);
  } finally {
    await target.stop();
  }
});

test('a RangeError of ours is reported as it is, not as malformed input', () => {
  let e: unknown;
  try {
    'x'.repeat(2 ** 30);
  } catch (err) {
    e = err;
  }
  assert.ok(e instanceof RangeError);
  assert.equal(describeError(e), 'Invalid string length');
});
