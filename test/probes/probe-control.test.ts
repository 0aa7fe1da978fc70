/**
 * Conditions, rate limits and counters end to end (testdata/probe-values): a condition on a
 * string and an integer passes exactly the matching calls, and the others are counted as
 * rejected; a condition that cannot be evaluated (a nil pointer) is counted apart, never
 * matched; the rate limit lets its burst through and counts every other matched hit as
 * limited; a burst bigger than the small ring buffer goes to the overflow ring, none lost; ring
 * buffers too small for the events count each one they drop; a probe with
 * no captures only counts; the pprof labels of the goroutine come with each event.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOT_RING_BYTES } from '../../src/probes/compile/probe-maps.js';
import { round8 } from '../../src/probes/compile/record-layout.js';
import { captured, withProbes } from './probe-run.js';

const USERS = ['alice', 'bob', 'carol'];
const entry = (fn: string) => ({ kind: 'entry', function: fn }) as const;

test('a condition passes exactly the matching calls; the rest are counted, never silent', async () => {
  const specs = [
    { name: 'alice', at: entry('main.handle'), captures: ['n'], condition: 'user == "alice" && n > 30' },
    {
      name: 'where',
      at: entry('main.handle'),
      captures: ['n'],
      condition: 'req.Where.X % 2 == 1 || !req.Ok',
    },
    {
      name: 'tags',
      at: entry('main.handle'),
      captures: ['n'],
      condition: 'req.User == user && len(req.Tags) == 2',
    },
  ] as const;
  await withProbes(specs, async (run) => {
    await run.command('handle 100');
    const calls = Array.from({ length: 100 }, (_, i) => i);
    const alice = calls.filter((i) => USERS[i % 3] === 'alice' && i > 30);
    // req.Where is nil when i % 5 == 0: the condition fails to evaluate there (not matched).
    const whereNil = calls.filter((i) => i % 5 === 0);
    const where = calls.filter((i) => i % 5 !== 0 && i % 2 === 1);
    const tags = calls.filter((i) => i % 4 === 2);
    await run.drain(() => run.events.length >= alice.length + where.length + tags.length);
    assert.deepEqual(
      run.of('alice').map((e) => captured(e, 'n')),
      alice,
    );
    assert.deepEqual(
      run.of('where').map((e) => captured(e, 'n')),
      where,
    );
    assert.deepEqual(
      run.of('tags').map((e) => captured(e, 'n')),
      tags,
    );
    const a = run.probes.stats('alice');
    assert.deepEqual(
      [a.hits, a.matched, a.rejected, a.conditionErrors],
      [100, alice.length, 100 - alice.length, 0],
    );
    const w = run.probes.stats('where');
    assert.deepEqual(
      [w.hits, w.matched, w.rejected, w.conditionErrors],
      [100, where.length, 100 - where.length - whereNil.length, whereNil.length],
    );
  });
});

test('the rate limit passes its burst and counts the rest', async () => {
  const specs = [
    // One event per 1000 s: within the test only the burst passes.
    { name: 'limited', at: entry('main.small'), captures: ['a'], rateLimit: { perSecond: 0.001, burst: 25 } },
    {
      name: 'filtered',
      at: entry('main.small'),
      captures: ['a'],
      condition: 'a % 2 == 0',
      rateLimit: { perSecond: 0.001, burst: 10 },
    },
  ] as const;
  await withProbes(specs, async (run) => {
    await run.command('goroutines 4 2500');
    await run.drain(() => run.events.length >= 35);
    const s = run.probes.stats('limited');
    assert.deepEqual([s.hits, s.matched, s.events, s.rateLimited], [10_000, 25, 25, 10_000 - 25]);
    assert.equal(run.of('limited').length, 25);
    const f = run.probes.stats('filtered');
    assert.deepEqual([f.hits, f.rejected, f.matched, f.rateLimited], [10_000, 5000, 10, 4990]);
    assert.ok(run.of('filtered').every((e) => (captured(e, 'a') as number) % 2 === 0));
  });
});

test('a ring buffer that fills counts every event it drops', async () => {
  const specs = [{ name: 'flood', at: entry('main.small'), captures: ['a', 's'] }] as const;
  await withProbes(
    specs,
    async (run) => {
      await run.command('goroutines 2 5000'); // not drained meanwhile: 10000 events of ~100 bytes into 16 KiB
      const s = run.probes.stats('flood');
      assert.equal(s.hits, 10_000);
      assert.ok(s.ringFull > 9000, `${s.ringFull} dropped`);
      let read = 0;
      run.probes.poll(() => read++);
      assert.equal(read, s.events, 'the events in the ring are the ones counted as written');
      assert.equal(s.events + s.ringFull, 10_000, 'nothing lost without a count');
    },
    { ringBytes: 1 << 14 },
  );
});

test('a burst bigger than the small ring goes to the overflow ring: every event arrives, once, right', async () => {
  const specs = [{ name: 'burst', at: entry('main.small'), captures: ['a', 's'] }] as const;
  const overflow = 2 * HOT_RING_BYTES;
  await withProbes(
    specs,
    async (run) => {
      // Not drained meanwhile: 2.5 MiB of records, more than the overflow ring alone holds.
      const bytes = round8(run.compiled[0]!.recordBytes) + 8;
      const perGoroutine = Math.ceil((2.5 * HOT_RING_BYTES) / bytes / 2);
      await run.command(`goroutines 2 ${perGoroutine}`);
      const s = run.probes.stats('burst');
      assert.equal(s.hits, 2 * perGoroutine);
      assert.equal(s.ringFull, 0, 'the two rings held the burst');
      assert.ok(s.events * bytes > overflow, 'the burst did not fit one ring');
      const seen = new Set<unknown>();
      run.probes.poll((e) => {
        assert.equal(captured(e, 's'), 'x');
        seen.add(captured(e, 'a'));
      });
      const want = [0, 1].flatMap((g) => Array.from({ length: perGoroutine }, (_, k) => g * 1_000_000 + k));
      assert.deepEqual(
        [...seen].sort((x, y) => Number(x) - Number(y)),
        want,
      );
    },
    { ringBytes: overflow },
  );
});

test('a probe without captures only counts; labels come with events', async () => {
  const specs = [
    { name: 'count', at: entry('main.small') },
    { name: 'labels', at: entry('main.small'), captures: ['a'], labels: true, condition: 's == "l"' },
  ] as const;
  await withProbes(specs, async (run) => {
    await run.command('goroutines 3 1000');
    await run.command('labeled 4');
    await run.drain(() => run.events.length >= 4);
    assert.equal(run.probes.stats('count').hits, 3004);
    assert.equal(run.probes.stats('count').events, 0);
    assert.equal(run.of('count').length, 0);
    const l = run.of('labels');
    assert.deepEqual(
      l.map((e) => captured(e, 'a')),
      [0, 1, 2, 3],
    );
    for (const e of l) assert.deepEqual(e.labels, { user: 'alice', calls: '4', session_token: 'tok-4' });
  });
});
