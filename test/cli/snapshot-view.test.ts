import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundForHumans } from '../../src/cli/commands/snapshot-view.js';
import { formatDuration } from '../../src/common/go-duration.js';

test('waits in the summary are rounded to what a reader needs', () => {
  const shown = (ns: number) => formatDuration(BigInt(roundForHumans(ns)));
  assert.equal(shown(2_113_425_245), '2.113s');
  assert.equal(shown(303_123_456_789), '5m3s');
  assert.equal(shown(1_534_567), '2ms');
  assert.equal(shown(999), '1µs');
  assert.equal(shown(0), '0s');
});
