/**
 * Values are captured inside the pause only for goroutines whose copied stacks hold a pc of
 * a spec'd function or of a function it was inlined into (goroutine/frame-hosts.ts). The
 * check: on the goroutine zoo, whose inlOuter -> inlMiddle -> inlInner chain is inlined
 * into inlinedChain, every goroutine that has a frame of a spec'd function (as the full
 * decode after the pause shows) has its capture, and no other goroutine has one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_BIAS } from '../../../src/common/address.js';
import { scannableBuffer, wordScanner } from '../../../src/common/word-scan.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { frameHostRanges, inHost, mayHaveFrames } from '../../../src/goruntime/goroutines/frame-hosts.js';
import {
  captureGoroutines,
  planGoroutineCapture,
  reserveForCapture,
} from '../../../src/goruntime/goroutines/index.js';
import { executableImage } from '../../../src/proc/maps.js';
import { VmReader } from '../../../src/proc/vm-reader.js';
import { matchName } from '../../../src/snapshot/capture-plan.js';
import { snapshotProcess } from '../../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../../src/spec/effective-spec.js';
import { parseSpec } from '../../../src/spec/spec-parse.js';
import { buildFixture } from '../../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../../support/pause-cap.js';
import { startTarget } from '../../../support/target.js';

const SPEC = `
functions:
  - function: main.inlInner
    capture:
      ch: ch
  - function: main.inlOuter
    capture:
      ch: ch
  - function: main.recurse
    capture:
      depth: depth
`;

test('the hosts of an inlined function include the function it was inlined into', async () => {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const hosts = frameHostRanges(bin, new Set(['main.inlInner']), matchName);
  const chain = bin.symtab.pcln.funcByName('main.inlinedChain');
  assert.ok(chain, 'main.inlinedChain is in the binary');
  assert.ok(inHost(hosts, chain.entry), 'inlinedChain hosts inlInner');
  assert.ok(inHost(hosts, chain.end), 'a return address at the end of a host counts');
  const main = bin.symtab.pcln.funcByName('main.main');
  assert.ok(main && !inHost(hosts, main.entry), 'main.main does not host inlInner');
  // Every pc whose inline expansion shows inlInner lies in a host.
  for (const fn of bin.symtab.pcln.functions()) {
    if (!fn.name.startsWith('main.')) continue;
    for (let pc = fn.entry; pc < fn.end; pc++) {
      const frames = bin.symtab.inlinedFramesAt(pc);
      if (frames.some((f) => f.function === 'main.inlInner')) {
        assert.ok(inHost(hosts, pc), `pc ${pc.toString(16)} in ${fn.name} shows inlInner`);
        break;
      }
    }
  }
});

test('host ranges are kept per binary for the last few sets of names only', async () => {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const first = frameHostRanges(bin, new Set(['main.inlInner']), matchName);
  assert.equal(frameHostRanges(bin, new Set(['main.inlInner']), matchName), first, 'cached');
  // A long-lived agent whose spec changes asks for many sets over time.
  for (let i = 0; i < 8; i++) frameHostRanges(bin, new Set([`main.absent${i}`]), matchName);
  const again = frameHostRanges(bin, new Set(['main.inlInner']), matchName);
  assert.notEqual(again, first, 'the oldest set was dropped, and is computed again');
  assert.deepEqual(again, first);
});

test('a paused snapshot captures values on exactly the goroutines that have a spec’d frame', async () => {
  const { path } = await buildFixture('goroutines');
  const child = await startTarget(path);
  try {
    const snap = snapshotProcess(child.pid, {
      pauseCapMs: TEST_PAUSE_CAP_MS,
      spec: effectiveSpec(parseSpec(SPEC, 'test.yaml'), { defaults: false }),
    });
    assert.equal(snap.mode, 'paused');
    const spec = new Set(['main.inlInner', 'main.inlOuter', 'main.recurse']);
    let withFrames = 0;
    for (const g of snap.goroutines) {
      const expected = g.stack.frames.flatMap((f, depth) => (spec.has(f.function) ? [depth] : []));
      const got = g.captures.map((c) => c.depth);
      assert.deepEqual(got, expected, `goroutine ${g.id}: captures at the depths of its spec'd frames`);
      if (expected.length > 0) withFrames++;
    }
    assert.ok(withFrames >= 2, `the zoo has goroutines in inlinedChain and recurse (${withFrames})`);
    const inlined = snap.goroutines.find((g) => g.stack.frames.some((f) => f.function === 'main.inlInner'));
    assert.ok(inlined, 'a goroutine blocked in the inlined chain');
    assert.ok(
      inlined.stack.frames.find((f) => f.function === 'main.inlInner')?.inlined,
      'its inlInner frame is an inlined one',
    );
  } finally {
    await child.kill();
  }
});

test('the pause scans the copied stacks in place with the SIMD loop, and marks what a plain scan marks', async () => {
  const { path } = await buildFixture('goroutines');
  const bin = await GoBinary.open(path);
  const child = await startTarget(path);
  const reader = new VmReader(child.pid);
  try {
    const bias = executableImage(child.pid).bias;
    const plan = planGoroutineCapture(bin, { bias });
    const { scratch } = reserveForCapture(plan, reader);
    const capture = captureGoroutines(plan, reader, [], { scratch });
    const stacks = capture.packedStacks;
    // The copy lands in the reader's reserve, which is WebAssembly memory: the fast path.
    assert.ok(wordScanner(stacks.buf), 'the copied stacks are scannable in place');
    const plain = { ...stacks, buf: Uint8Array.from(stacks.buf) };
    assert.equal(wordScanner(plain.buf), undefined);
    const text = bin.symtab.pcln;
    const sets = [
      frameHostRanges(bin, new Set(['main.inlInner', 'main.recurse']), matchName),
      frameHostRanges(bin, new Set(['runtime.gopark']), matchName),
      // Every function: many hits, some in the gaps between ranges.
      { starts: Float64Array.of(text.entryOf(0)), ends: Float64Array.of(text.endOf(text.nfunc - 1)) },
      {
        starts: Float64Array.of(text.entryOf(1), text.entryOf(40)),
        ends: Float64Array.of(text.endOf(2), text.endOf(41)),
      },
    ];
    for (const [k, ranges] of sets.entries()) {
      const fast = mayHaveFrames(capture.startPc, stacks, capture.gs.length, ranges, bias);
      const slow = mayHaveFrames(capture.startPc, plain, capture.gs.length, ranges, bias);
      assert.deepEqual(fast, slow, `set ${k}`);
    }
    const recurse = mayHaveFrames(capture.startPc, stacks, capture.gs.length, sets[0]!, bias);
    assert.ok(
      recurse.some((m) => m === 1),
      'the zoo has goroutines in the spec’d functions',
    );
  } finally {
    reader.close();
    await child.kill();
  }
});

test('stacks whose sizes are not multiples of 8 are still scanned word by word from their own starts', () => {
  // Three stacks back to back: 12 bytes, then 24 holding a host pc at its offset 8 (absolute
  // offset 20, not on the buffer's 8-byte grid), then 16 without one.
  const buf = scannableBuffer(64)!;
  buf.writeBigUInt64LE(0x40_1000n, 12 + 8);
  const stacks = {
    buf: buf.subarray(0, 52),
    sizes: Float64Array.of(12, 24, 16),
    ok: Uint8Array.of(1, 1, 1),
    owner: Int32Array.of(0, 1, 2),
  };
  assert.ok(wordScanner(stacks.buf), 'the SIMD path is available for this memory');
  const ranges = { starts: Float64Array.of(0x40_0000), ends: Float64Array.of(0x50_0000) };
  const mask = mayHaveFrames(new Float64Array(3), stacks, 3, ranges, NO_BIAS);
  assert.deepEqual([...mask], [0, 1, 0]);
  const plain = { ...stacks, buf: Uint8Array.from(stacks.buf) };
  assert.deepEqual([...mayHaveFrames(new Float64Array(3), plain, 3, ranges, NO_BIAS)], [0, 1, 0]);
});
