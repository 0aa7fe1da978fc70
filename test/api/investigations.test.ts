/**
 * An investigation's definition as the API checks it: durations, triggers, the snapshot
 * action's default per trigger kind, the bounded defaults of event triggers, and the limits a
 * firing is checked against (until a date, at most N, once per interval).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration, parseInvestigation } from '../../src/api/investigations.js';
import { active, InvestigationBook, refusal } from '../../src/server/investigations/investigation-book.js';

test('durations: units, combinations, and what is not one', () => {
  assert.equal(parseDuration('1h30m', 'd'), 5_400_000);
  assert.equal(parseDuration('500ms', 'd'), 500);
  assert.equal(parseDuration('7d', 'd'), 604_800_000);
  assert.throws(() => parseDuration('5', 'x'), /x "5" is not a duration \(e\.g\. 30s, 5m/);
  assert.throws(() => parseDuration('0s', 'x'), /x must be longer than 0/);
});

test('defaults: event triggers snapshot their process and are bounded; a schedule alone is not', () => {
  const ev = parseInvestigation({ name: 'a', triggers: [{ probe: 'p' }] });
  assert.deepEqual(ev.snapshot, { kind: 'process' });
  assert.equal(ev.maxFires, 20);
  assert.equal(ev.minIntervalMs, 60_000);
  const sched = parseInvestigation({
    name: 'b',
    triggers: [{ schedule: { every: '5m', select: 'program=api', keepFor: '1d' } }],
  });
  assert.deepEqual(sched.snapshot, { kind: 'none' });
  assert.equal(sched.maxFires, undefined);
  assert.equal(sched.minIntervalMs, 0);
  assert.deepEqual(sched.triggers, [
    { kind: 'schedule', everyMs: 300_000, select: 'program=api', keepForMs: 86_400_000 },
  ]);
  assert.equal(
    parseInvestigation({ name: 'c', triggers: [{ slow: {} }], limits: { maxFires: 0 } }).maxFires,
    undefined,
  );
  assert.throws(
    () => parseInvestigation({ name: 'd', triggers: [{ schedule: { every: '1m' } }], snapshot: 'process' }),
    /"snapshot": "process" needs a trigger that names a process/,
  );
  assert.throws(() => parseInvestigation({ name: 'e', triggers: [{ nope: 1 }] }), /unknown trigger "nope"/);
  assert.throws(
    () => parseInvestigation({ name: 'e', triggers: [{ slow: {} }], extra: 1 }),
    /unknown field "extra"/,
  );
  assert.throws(
    () => parseInvestigation({ name: 'e', triggers: [{ slow: {} }], limits: { until: 'someday' } }),
    /"limits\.until" must be a date or time/,
  );
});

test('limits: closed, past its end, at its count, within its interval', () => {
  const book = new InvestigationBook();
  const record = (definition: unknown, fires = 0) => ({
    id: 1,
    name: 'x',
    owner: 'o',
    question: '',
    notes: '',
    definition: JSON.stringify(definition),
    createdAt: '2026-01-01T00:00:00.000Z',
    fires,
  });
  const now = Date.parse('2026-06-01T00:00:00Z');
  const ended = book.load(
    record({ name: 'x', triggers: [{ slow: {} }], limits: { until: '2026-05-01T00:00:00Z' } }),
  );
  assert.match(refusal(ended, now) ?? '', /its end \(2026-05-01T00:00:00\.000Z\) has passed/);
  assert.equal(active(ended, now), false);
  const inv = book.load(
    record({ name: 'x', triggers: [{ slow: {} }], limits: { maxFires: 2, minInterval: '10s' } }),
  );
  assert.equal(book.reserve(inv, now), undefined);
  assert.match(book.reserve(inv, now + 5000) ?? '', /fired less than 10000 ms ago/);
  assert.equal(active(inv, now + 5000), true, 'only waiting for its interval');
  assert.equal(book.reserve(inv, now + 10_000), undefined);
  assert.match(book.reserve(inv, now + 60_000) ?? '', /it fired 2 times, its limit/);
  assert.equal(active(inv, now + 60_000), false);
  inv.closedAt = new Date(now).toISOString();
  assert.equal(refusal(inv, now), 'it is closed');
});
