/**
 * Probe slots of a set are reused (testdata/probe-values): more add/remove cycles than the
 * set has slots, while another probe keeps counting every call; each new probe in a reused
 * slot starts from zero counters and a fresh rate limit, and its returns never pair with
 * entry times a removed probe of that slot left behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROBE_SLOTS } from '../../src/probes/attached-probes.js';
import { compileProbe } from '../../src/probes/compile/compile-probe.js';
import { withProbes } from './probe-run.js';

const entry = (fn: string) => ({ kind: 'entry', function: fn }) as const;

test(`more than ${PROBE_SLOTS} add/remove cycles reuse slots while another probe counts every call`, async () => {
  const CYCLES = PROBE_SLOTS + 6;
  const CALLS = 5;
  await withProbes([{ name: 'steady', at: entry('main.small') }], async (run) => {
    for (let i = 0; i < CYCLES; i++) {
      const name = `cycle${i}`;
      // 1 a second, a burst of 3: each cycle's 5 calls pass 3, if its rate state is fresh.
      const spec = { name, at: entry('main.small'), captures: ['a'], rateLimit: { perSecond: 1, burst: 3 } };
      await run.probes.add(compileProbe(run.bin, spec));
      await run.command(`goroutines 1 ${CALLS}`);
      const s = run.probes.stats(name);
      assert.deepEqual(
        { hits: s.hits, events: s.events, rateLimited: s.rateLimited },
        { hits: CALLS, events: 3, rateLimited: 2 },
        `cycle ${i}: counters and rate state start fresh`,
      );
      await run.probes.remove(name);
      run.probes.poll(() => {});
    }
    assert.equal(run.probes.stats('steady').hits, CYCLES * CALLS, 'steady counted every call');
  });
});

test("a probe in a reused slot does not pair its returns with a removed probe's entry times", async () => {
  const timed = (name: string) => ({ name, at: entry('main.hold'), duration: true }) as const;
  await withProbes([{ name: 'steady', at: entry('main.small') }], async (run) => {
    await run.probes.add(compileProbe(run.bin, timed('before')));
    await run.command('hold 3'); // three calls wait inside hold: their entry times are stored
    await run.drain(() => run.probes.stats('before').hits === 3);
    assert.equal(run.probes.stats('before').hits, 3);
    await run.probes.remove('before');
    await run.probes.add(compileProbe(run.bin, timed('after'))); // takes the freed slot
    await run.command('release 3');
    await run.drain(() => run.probes.stats('after').unpaired === 3);
    const s = run.probes.stats('after');
    assert.deepEqual({ durations: s.durations, unpaired: s.unpaired }, { durations: 0, unpaired: 3 });
  });
});
