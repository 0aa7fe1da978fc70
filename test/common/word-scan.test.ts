/**
 * The SIMD scan for words in a range (common/word-scan.ts) against a plain loop: every hit
 * found at the first matching word, the range's bounds included, words with the top bit set
 * (negative to the module's signed compares) never taken for small ones, the tail shorter
 * than a 64-byte block scanned, and views that are not scannable refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scannableBuffer, wordScanner } from '../../src/common/word-scan.js';

const TWO32 = 2 ** 32;

function word(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * TWO32 + buf.readUInt32LE(at);
}

function reference(buf: Buffer, from: number, end: number, lo: number, hi: number): number {
  for (let at = from; at + 8 <= end; at += 8) {
    const v = word(buf, at);
    if (v >= lo && v <= hi) return at;
  }
  return -1;
}

function put(buf: Buffer, at: number, v: bigint): void {
  buf.writeBigUInt64LE(v, at);
}

test('finds the first word in range exactly as a plain loop does', () => {
  const buf = scannableBuffer(1 << 16);
  assert.ok(buf, 'this runtime has WebAssembly SIMD');
  const scan = wordScanner(buf);
  assert.ok(scan);
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  const lo = 0x40_0000;
  const hi = 0x7f_ffff;
  for (let at = 0; at < buf.length; at += 8) {
    const r = rand() % 16;
    // Mostly misses of every kind, now and then a hit or a bound.
    const v =
      r === 0
        ? BigInt(lo + (rand() % (hi - lo)))
        : r === 1
          ? BigInt(lo - 1)
          : r === 2
            ? BigInt(hi + 1)
            : r === 3
              ? 0xffff_ffff_ff40_0000n // top bit set: must not pass a signed compare
              : r === 4
                ? 0xc000_0000_0000n + BigInt(rand())
                : BigInt(rand() % 4096);
    put(buf, at, v);
  }
  let hits = 0;
  for (let from = 0; from < buf.length; ) {
    const end = Math.min(buf.length, from + 8 * (1 + (rand() % 300)));
    for (
      let at = reference(buf, from, end, lo, hi), start = from;
      ;
      at = reference(buf, start, end, lo, hi)
    ) {
      assert.equal(scan(start, end, lo, hi), at, `scan of [${start}, ${end})`);
      if (at < 0) break;
      hits++;
      start = at + 8;
    }
    from = end;
  }
  assert.ok(hits > 100, `the data had hits (${hits})`);
});

test('the bounds are inclusive, and a range past 4 GiB works', () => {
  const buf = scannableBuffer(4096)!;
  const scan = wordScanner(buf)!;
  put(buf, 0, 5n);
  put(buf, 200, 9n);
  assert.equal(scan(0, 4096, 9, 9), 200, 'a word equal to lo and hi');
  assert.equal(scan(0, 4096, 5, 8), 0);
  assert.equal(scan(8, 4096, 5, 8), -1);
  assert.equal(scan(0, 200, 9, 100), -1, 'end is exclusive');
  assert.equal(scan(0, 4096, 10, 2 ** 40), -1);
  put(buf, 4088, 0x55_5555_0000n); // the last word, in the scalar tail
  assert.equal(scan(0, 4096, 0x55_0000_0000, 0x56_0000_0000), 4088);
  assert.equal(scan(0, 100_000, 0x55_0000_0000, 0x56_0000_0000), 4088, 'end clamped to the view');
});

test('views into a subarray scan relative to the view; other memory is not scannable', () => {
  const buf = scannableBuffer(4096)!;
  const view = buf.subarray(1024, 2048);
  put(buf, 1024 + 512, 42n);
  assert.equal(wordScanner(view)!(0, 1024, 40, 50), 512);
  assert.equal(wordScanner(Buffer.alloc(64)), undefined, 'a plain Buffer');
  assert.equal(scannableBuffer(0), undefined);
});
