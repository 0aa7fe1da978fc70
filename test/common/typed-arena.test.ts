/**
 * TypedArena: views carved from one pre-faulted buffer are zeroed, 8-aligned, never
 * overlap, and fall back to fresh memory when the arena is full.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypedArena } from '../../src/common/typed-arena.js';

test('TypedArena hands out zeroed, aligned, disjoint views and overflows to fresh memory', () => {
  const arena = new TypedArena(1000);
  const a = arena.u8(3);
  const b = arena.f64(10);
  const c = arena.u32(5);
  const d = arena.i32(7);
  for (const v of [a, b, c, d]) {
    assert.equal(v.byteOffset % 8, 0);
    assert.ok(v.every((x) => x === 0));
  }
  assert.equal(a.buffer, b.buffer, 'carved from the arena');
  a.fill(0xff);
  b.fill(-1);
  c.fill(0xffff_ffff);
  d.fill(-1);
  // Writing one view leaves the others intact: they do not overlap.
  assert.ok(a.every((x) => x === 0xff));
  assert.ok(b.every((x) => x === -1));
  assert.ok(c.every((x) => x === 0xffff_ffff));
  assert.equal(arena.taken, 8 + 80 + 24 + 32);
  assert.equal(arena.overflow, 0);
  const big = arena.f64(1000);
  assert.notEqual(big.buffer, a.buffer, 'too big: fresh memory');
  assert.equal(big.length, 1000);
  assert.ok(big.every((x) => x === 0));
  assert.equal(arena.overflow, 8000);
});

test('reset takes every view back: the next views start at the beginning again, zeroed', () => {
  const arena = new TypedArena(256);
  const a = arena.u8(100);
  a.fill(0xab);
  arena.f64(1000); // overflow
  arena.reset();
  assert.equal(arena.taken, 0);
  assert.equal(arena.overflow, 0);
  const b = arena.u8(200);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.byteOffset, a.byteOffset, 'the same bytes handed out again');
  assert.ok(
    b.every((x) => x === 0),
    'zeroed',
  );
});
