/**
 * Durations, stacks, and a target under probes that grows its stacks, is preempted, panics
 * and recovers, and ends goroutines with runtime.Goexit (testdata/probe-values): a function
 * that sleeps 10 ms is timed at 10 ms or a little more, never more than the caller measured;
 * a recursion 300 deep on four goroutines, whose stacks are copied many times while frames
 * wait for their returns, pairs every return with its own entry (nested durations grow
 * outward, none unpaired); a panic skips the returns of the frames it unwinds and a Goexit
 * the return of its function, and nothing else is lost or mispaired; calls while the GC
 * preempts goroutines are each seen once; stacks come from the frame pointers,
 * deduplicated by hash. After each run the target answers and reports what it did.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkAddr } from '../../src/common/address.js';
import { captured, withProbes } from './probe-run.js';

const entry = (fn: string) => ({ kind: 'entry', function: fn }) as const;
const ret = (fn: string) => ({ kind: 'return', function: fn }) as const;

test('a function that sleeps 10 ms is timed at 10 ms; the histogram holds each call', async () => {
  const specs = [{ name: 'sleepy', at: ret('main.sleepy'), captures: ['r0'], duration: true }] as const;
  await withProbes(specs, async (run) => {
    const done = await run.command('sleepy 6 10');
    const outside = /ns (\S+)/.exec(done)![1]!.split(',').map(Number);
    await run.drain(() => run.events.length >= 6);
    assert.equal(run.events.length, 6);
    run.events.forEach((e, i) => {
      assert.equal(captured(e, 'r0'), 10);
      const d = e.durationNs!;
      assert.ok(d >= 10e6, `call ${i}: ${d} ns, at least the 10 ms slept`);
      assert.ok(d <= outside[i]!, `call ${i}: ${d} ns, within the ${outside[i]} ns the caller measured`);
    });
    const h = run.probes.histogram('sleepy');
    assert.equal(h.count, 6);
    assert.equal(
      h.sumNs,
      run.events.reduce((s, e) => s + e.durationNs!, 0),
    );
    for (const e of run.events) {
      const b = h.buckets.find((x) => e.durationNs! < x.ltNs && e.durationNs! >= x.ltNs / 2);
      assert.ok(b, `a bucket holds ${e.durationNs}`);
    }
    assert.equal(
      h.buckets.reduce((s, b) => s + b.count, 0),
      6,
    );
  });
});

test('deep recursion whose stacks are copied: every entry once, every return paired with its own entry', async () => {
  const specs = [
    { name: 'in', at: entry('main.recurse'), captures: ['depth', 'tag'], stackFrames: 6 },
    { name: 'out', at: ret('main.recurse'), captures: ['r0'], duration: true },
  ] as const;
  await withProbes(specs, async (run) => {
    const done = await run.command('recurse 4 300');
    const goids = /goids (\S+)/.exec(done)![1]!.split(',').map(Number);
    await run.drain(() => run.events.length >= 2 * 4 * 301);
    for (const [g, goid] of goids.entries()) {
      const ins = run.of('in').filter((e) => e.goid === goid);
      assert.deepEqual(
        ins.map((e) => captured(e, 'depth')),
        Array.from({ length: 301 }, (_, k) => 300 - k),
        `goroutine ${goid}: entries 300..0 in order, once each`,
      );
      assert.ok(ins.every((e) => captured(e, 'tag') === `g${g}`));
      const outs = run.of('out').filter((e) => e.goid === goid);
      const len = `g${g}`.length;
      assert.deepEqual(
        outs.map((e) => captured(e, 'r0')),
        Array.from({ length: 301 }, (_, k) => len * (k + 1)),
        'returns innermost first',
      );
      for (let k = 1; k < outs.length; k++)
        assert.ok(
          outs[k]!.durationNs! >= outs[k - 1]!.durationNs!,
          `goroutine ${goid}: an outer call outlasts the one inside it`,
        );
    }
    const s = run.probes.stats('out');
    assert.deepEqual([s.durations, s.unpaired], [4 * 301, 0]);
    // Stacks: deep frames return into main.recurse; one stack per distinct chain of return addresses.
    const funcAt = (pc: number) => run.bin.symtab.pcln.funcForPC(linkAddr(pc - 1))?.name;
    const deep = run.of('in').filter((e) => (captured(e, 'depth') as number) < 290);
    for (const e of deep.slice(0, 20))
      assert.deepEqual(run.probes.stack(e.stack!).map(funcAt), Array(6).fill('main.recurse'));
    assert.ok(new Set(run.of('in').map((e) => e.stack)).size <= 4 * 8, 'stacks deduplicated by hash');
  });
});

test('panics that are recovered and runtime.Goexit: returns skipped, nothing mispaired, the target unharmed', async () => {
  const specs = [
    { name: 'in', at: entry('main.mustPositive'), captures: ['n'] },
    { name: 'out', at: ret('main.mustPositive'), captures: ['r0'], duration: true },
    { name: 'qin', at: entry('main.quitter'), captures: ['n'] },
    { name: 'qout', at: ret('main.quitter'), captures: ['r0'], duration: true },
  ] as const;
  await withProbes(specs, async (run) => {
    assert.match(await run.command('risky 40'), /^done risky 40 recovered 20$/);
    const quit = await run.command('quit 10');
    const goids = /goids (\S+)/.exec(quit)![1]!.split(',').map(Number);
    assert.match(await run.command('risky 10'), /^done risky 10 recovered 5$/);
    await run.drain(() => run.events.length >= 50 + 25 + 10 + 5);
    assert.deepEqual(
      run.of('in').map((e) => captured(e, 'n')),
      [...Array.from({ length: 40 }, (_, i) => i - 20), ...Array.from({ length: 10 }, (_, i) => i - 5)],
    );
    assert.deepEqual(
      run.of('out').map((e) => captured(e, 'r0')),
      [...Array.from({ length: 20 }, (_, i) => i * 10), ...Array.from({ length: 5 }, (_, i) => i * 10)],
    );
    assert.deepEqual([run.probes.stats('out').durations, run.probes.stats('out').unpaired], [25, 0]);
    const qin = run.of('qin');
    assert.deepEqual(
      qin.map((e) => captured(e, 'n')).sort((a, b) => (a as number) - (b as number)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    for (const e of qin) assert.equal(e.goid, goids[captured(e, 'n') as number]);
    const qout = run.of('qout');
    assert.deepEqual(
      qout.map((e) => captured(e, 'r0')).sort((a, b) => (a as number) - (b as number)),
      [0, 2, 4, 6, 8],
    );
    assert.deepEqual([run.probes.stats('qout').durations, run.probes.stats('qout').unpaired], [5, 0]);
    assert.match(await run.command('pair 1'), /^done pair 1/, 'the target runs on');
  });
});

test('calls while the GC preempts goroutines: each seen once, on its own goroutine', async () => {
  const specs = [{ name: 'small', at: entry('main.small'), captures: ['a'] }] as const;
  await withProbes(
    specs,
    async (run) => {
      const done = await run.command('preempt 4 10000');
      const goids = /goids (\S+)/.exec(done)![1]!.split(',').map(Number);
      await run.drain(() => run.events.length >= 40_000);
      const seen = new Set<number>();
      for (const e of run.events) {
        const a = captured(e, 'a') as number;
        assert.equal(e.goid, goids[Math.floor(a / 1_000_000)]);
        seen.add(a);
      }
      assert.deepEqual([run.events.length, seen.size], [40_000, 40_000]);
      assert.equal(run.probes.stats('small').ringFull, 0);
    },
    { env: { GOMAXPROCS: '2' } },
  );
});
