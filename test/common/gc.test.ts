import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectGarbageNow } from '../../src/common/gc.js';

/** Builds a graph of about 100 MB and lets it go; returns the heap in use right after. */
function dropGarbage(): number {
  let garbage: { x: number; y: number[] }[] | undefined = [];
  for (let i = 0; i < 1_500_000; i++) garbage.push({ x: i, y: [i] });
  const used = process.memoryUsage().heapUsed;
  garbage = undefined;
  return used;
}

test('collectGarbageNow collects a large dead graph when the heap is over the major threshold', () => {
  const withGarbage = dropGarbage();
  assert.ok(withGarbage > 80 << 20, `the graph should take the heap over 80 MB (${withGarbage})`);
  collectGarbageNow(0, 0);
  const after = process.memoryUsage().heapUsed;
  assert.ok(after < withGarbage / 2, `heap ${after} after the collection, ${withGarbage} with the garbage`);
});
