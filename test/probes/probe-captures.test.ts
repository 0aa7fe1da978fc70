/**
 * Captures end to end (testdata/probe-values): every call of main.handle seen once with its
 * arguments as snapshots render them — a string, an int, a pointer to a struct with string,
 * slice, pointer, map, error, float and bool fields, a slice with its first elements and the
 * truncation marker, a non-empty interface holding a value or a pointer, an empty interface
 * holding an int, a string or nil — plus field paths, dereferences, indexing, len, type
 * assertions and comparisons; results at returns (named, unnamed as r0/r1, an error); an
 * inlined copy's argument; a line probe; eight goroutines at once, each call with its own
 * goroutine id. On every toolchain the fixtures are built with.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProbeEvent } from '../../src/probes/decode/record-decode.js';
import { GO_TOOLCHAINS, TESTDATA, toolchainUnavailable } from '../../support/go-fixtures.js';
import { captured, withProbes } from './probe-run.js';

const USERS = ['alice', 'bob', 'carol'];
const HANDLE_CAPTURES = [
  'user',
  'n',
  'req',
  'xs',
  'shape',
  'v',
  'req.User',
  'req.Where',
  'req.Tags[0]',
  'len(xs) + 100',
  'v.(string)',
  '*req.Where',
  'n % 4 == 0 && user != "bob"',
  'n<<2 | 1',
  'int8(n * 50)',
  'n &^ 1',
  '^n',
  '1 << (n - 2)',
];

/** What handle's i-th call must show for each capture. */
function expectHandle(e: ProbeEvent, i: number, maxElements: number): void {
  assert.equal(captured(e, 'user'), USERS[i % 3]);
  assert.equal(captured(e, 'n'), i);
  const req = captured(e, 'req') as { address: string; value: Record<string, unknown> };
  assert.match(req.address, /^0x[0-9a-f]+$/);
  const r = req.value;
  assert.equal(r.User, USERS[i % 3]);
  assert.equal(r.ID, i * 7);
  assert.deepEqual(r.Tags, ['a', 'bb', 'ccc'].slice(0, i % 4));
  assert.equal(r.Score, i / 2);
  assert.equal(r.Ok, i % 2 === 0);
  if (i % 5 === 0) assert.equal(r.Where, null);
  else
    assert.deepEqual((r.Where as { value: unknown }).value, {
      '…': 'depth',
      type: 'main.Point',
      address: (r.Where as { address: string }).address,
    });
  if (i % 3 === 1) assert.equal((r.Err as { message: string }).message, `e${i}`);
  else assert.equal(r.Err, null);
  if (i % 7 === 0)
    assert.equal((r.Attrs as Record<string, string>)['…'], 'unreadable', 'a map is not copied');
  else assert.equal(r.Attrs, null);
  const xs = Array.from({ length: i % 6 }, (_, k) => i + k);
  const shown = xs.slice(0, maxElements);
  const cut =
    xs.length > maxElements ? [{ '…': 'truncated', len: xs.length, shown: maxElements, cap: 8 }] : [];
  assert.deepEqual(captured(e, 'xs'), xs.length === 0 ? [] : [...shown, ...cut]);
  const shape = captured(e, 'shape') as { type: string; value: unknown };
  if (i % 2 === 0) assert.deepEqual(shape, { type: 'main.Square', value: { Side: 3 } });
  else {
    assert.equal(shape.type, '*main.Rect');
    assert.deepEqual((shape.value as { value: unknown }).value, { W: 2, H: 5 });
  }
  const v = captured(e, 'v');
  if (i % 3 === 0) assert.deepEqual(v, { type: 'int', value: i });
  else if (i % 3 === 1) assert.deepEqual(v, { type: 'string', value: `s${i}` });
  else assert.equal(v, null);
  assert.equal(captured(e, 'req.User'), USERS[i % 3]);
  const where = e.values['req.Where']!;
  const star = e.values['*req.Where']!;
  if (i % 5 === 0) {
    assert.equal(captured(e, 'req.Where'), null);
    assert.deepEqual(star, { ok: false, value: null, error: 'nil pointer dereference', unavailable: false });
  } else {
    assert.deepEqual((where.value as { value: unknown }).value, { X: i, Y: -i });
    assert.deepEqual(captured(e, '*req.Where'), { X: i, Y: -i });
  }
  const tag = e.values['req.Tags[0]']!;
  if (i % 4 === 0)
    assert.deepEqual(tag, { ok: false, value: null, error: 'index 0 out of range', unavailable: false });
  else assert.equal(captured(e, 'req.Tags[0]'), 'a');
  assert.equal(captured(e, 'len(xs) + 100'), (i % 6) + 100);
  const s = e.values['v.(string)']!;
  if (i % 3 === 1) assert.equal(captured(e, 'v.(string)'), `s${i}`);
  else assert.match(s.ok ? '' : s.error, /^type assertion failed: the interface holds (int|nil)$/);
  assert.equal(captured(e, 'n % 4 == 0 && user != "bob"'), i % 4 === 0 && i % 3 !== 1);
  assert.equal(captured(e, 'n<<2 | 1'), (i << 2) | 1);
  assert.equal(captured(e, 'int8(n * 50)'), (((i * 50) & 0xff) << 24) >> 24, 'wraps as Go converts');
  assert.equal(captured(e, 'n &^ 1'), i & ~1);
  assert.equal(captured(e, '^n'), -i - 1);
  if (i < 2)
    assert.deepEqual(e.values['1 << (n - 2)'], {
      ok: false,
      value: null,
      error: `negative shift amount ${i - 2}`,
      unavailable: false,
    });
  else {
    const v = BigInt.asIntN(64, 1n << BigInt(i - 2)); // 0 from 64 on, as in Go
    assert.equal(captured(e, '1 << (n - 2)'), Number.isSafeInteger(Number(v)) ? Number(v) : v.toString());
  }
}

for (const toolchain of GO_TOOLCHAINS) {
  test(`arguments, fields and expressions at main.handle's entry (${toolchain})`, async (t) => {
    const why = await toolchainUnavailable(toolchain);
    if (why) return t.skip(why);
    const maxElements = 3;
    const spec = {
      name: 'handle',
      at: { kind: 'entry', function: 'main.handle' },
      captures: HANDLE_CAPTURES,
      limits: { maxElements },
    } as const;
    await withProbes(
      [spec],
      async (run) => {
        const done = await run.command('handle 70');
        const goid = Number(/goid (\d+)/.exec(done)![1]);
        await run.drain(() => run.events.length >= 70);
        assert.equal(run.events.length, 70, 'every call once');
        run.events.forEach((e, i) => {
          assert.equal(e.goid, goid);
          assert.equal(e.site.kind, 'entry');
          expectHandle(e, i, maxElements);
        });
        assert.deepEqual(run.probes.stats('handle'), { ...zeroStats, hits: 70, matched: 70, events: 70 });
      },
      { toolchain },
    );
  });
}

const zeroStats = {
  hits: 0,
  matched: 0,
  events: 0,
  rejected: 0,
  conditionErrors: 0,
  rateLimited: 0,
  ringFull: 0,
  durations: 0,
  durationSumNs: 0,
  unpaired: 0,
};

test('results at returns: named, unnamed as r0 and r1, an error interface, from every RET', async () => {
  const specs = [
    { name: 'divide', at: { kind: 'return', function: 'main.divide' }, captures: ['q', 'err', 'err == nil'] },
    { name: 'pair', at: { kind: 'return', function: 'main.pair' }, captures: ['r0', 'r1'] },
  ] as const;
  await withProbes(specs, async (run) => {
    await run.command('divide 12');
    await run.command('pair 9');
    await run.drain(() => run.events.length >= 21);
    const divide = run.of('divide');
    assert.equal(divide.length, 12);
    divide.forEach((e, i) => {
      const b = i % 4;
      assert.equal(captured(e, 'q'), b === 0 ? 0 : Math.trunc(i / b));
      assert.equal(captured(e, 'err == nil'), b !== 0);
      if (b === 0) assert.equal((captured(e, 'err') as { message: string }).message, 'division by zero');
      else assert.equal(captured(e, 'err'), null);
    });
    assert.equal(new Set(divide.map((e) => e.site.address)).size, 2, 'divide returns from two RETs');
    run.of('pair').forEach((e, i) => {
      assert.equal(captured(e, 'r0'), i * 2);
      assert.equal(captured(e, 'r1'), USERS[i % 3]);
    });
  });
});

test('an inlined copy, a line, and eight goroutines at once', async () => {
  const specs = [
    { name: 'double', at: { kind: 'entry', function: 'main.double' }, captures: ['x'] },
    {
      name: 'line',
      at: { kind: 'line', file: 'probe-values/main.go', line: lineOf('y := x * 2') },
      captures: ['x'],
    },
    { name: 'small', at: { kind: 'entry', function: 'main.small' }, captures: ['a', 's', 'p.X', 'b', 'xs'] },
  ] as const;
  await withProbes(specs, async (run) => {
    await run.command('inline 50');
    const done = await run.command('goroutines 8 400');
    const goids = /goids (\S+)/.exec(done)![1]!.split(',').map(Number);
    await run.drain(() => run.events.length >= 50 + 50 + 8 * 400);
    const double = run.of('double');
    assert.equal(double[0]?.site.kind, 'inlined-entry');
    assert.deepEqual(
      double.map((e) => captured(e, 'x')),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      run.of('line').map((e) => captured(e, 'x')),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const small = run.of('small');
    assert.equal(small.length, 8 * 400, 'every call exactly once');
    const seen = new Set<number>();
    for (const e of small) {
      const a = captured(e, 'a') as number;
      const g = Math.floor(a / 1_000_000);
      assert.equal(e.goid, goids[g], `call ${a} on goroutine ${goids[g]}`);
      assert.equal(captured(e, 'p.X'), g);
      assert.equal(captured(e, 's'), 'x');
      assert.equal(captured(e, 'b'), true);
      assert.equal(captured(e, 'xs'), null);
      seen.add(a);
    }
    assert.equal(seen.size, 8 * 400);
  });
});

/** The line of the fixture's source holding `text`. */
function lineOf(text: string): number {
  const src = readFileSync(join(TESTDATA, 'probe-values', 'main.go'), 'utf8').split('\n');
  const i = src.findIndex((l) => l.includes(text));
  assert.ok(i >= 0, text);
  return i + 1;
}

test('perf-event attachment (a program per site) gives the same events as uprobe_multi links', async () => {
  const specs = [
    { name: 'handle', at: { kind: 'entry', function: 'main.handle' }, captures: ['user', 'n', 'req.ID'] },
    { name: 'divide', at: { kind: 'return', function: 'main.divide' }, captures: ['q'], duration: true },
  ] as const;
  await withProbes(
    specs,
    async (run) => {
      await run.command('handle 9');
      await run.command('divide 8');
      await run.drain(() => run.events.length >= 17);
      assert.deepEqual(
        run.of('handle').map((e) => [captured(e, 'user'), captured(e, 'n'), captured(e, 'req.ID')]),
        Array.from({ length: 9 }, (_, i) => [USERS[i % 3], i, i * 7]),
      );
      assert.deepEqual(
        run.of('divide').map((e) => captured(e, 'q')),
        Array.from({ length: 8 }, (_, i) => (i % 4 === 0 ? 0 : Math.trunc(i / (i % 4)))),
      );
      assert.ok(run.of('divide').every((e) => e.durationNs !== undefined));
      assert.equal(
        run.probes.attachmentFds.length,
        run.compiled.reduce((n, p) => n + p.sites.length, 0),
      );
    },
    { attach: 'perf' },
  );
});
