/**
 * Return sites on emulated instructions (src/probes/sites/return-sites.ts), on the real code
 * of five toolchains (testdata/probe-returns): functions with several returns whose paths
 * reach their RET by a Jcc taken or not, results that are constants, arguments or loads from
 * the frame, a recursive function, a function that panics on some calls. Every call's return
 * is seen exactly once with the values the RET would see, durations pair with their entries,
 * and most returns are probed where the kernel emulates the instruction, not at the RET.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProbeSpec } from '../../src/probes/probe-spec.js';
import { GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { captured, withProbes } from './probe-run.js';

const N = 140;
const ret = (name: string, fn: string, captures: string[], duration = false): ProbeSpec => ({
  name,
  at: { kind: 'return', function: fn },
  captures,
  duration,
  rateLimit: { perSecond: 1e6 },
});
const SPECS = [
  ret('classify', 'main.classify', ['r0', 'r1'], true),
  ret('pick', 'main.pick', ['r0', 'r1']),
  ret('check', 'main.check', ['r0 == nil']),
  ret('depth', 'main.depth', ['r0']),
  ret('mustSmall', 'main.mustSmall', ['r0']),
];

/** What each call i returns, as the fixture computes it. */
function expected(i: number): Record<string, unknown[][]> {
  const n = (i % 7) - 2;
  const classify = n < 0 ? [0, false] : n === 0 ? [1, true] : n > 3 ? [n, false] : [n * 2, true];
  const s = 'abc'.slice(0, i % 4);
  const pick = s === '' ? ['', 0] : i % 3 === 0 ? [s, i] : i % 3 === 1 ? [s.slice(0, 1), -i] : ['x', 7];
  const d = i % 5;
  return {
    classify: [classify],
    pick: [pick],
    check: [[i % 4 !== 3]],
    depth: Array.from({ length: d + 1 }, (_, k) => [k]),
    mustSmall: i % 5 === 4 ? [] : [[i % 2 === 0 ? i / 2 : i + 1]],
  };
}

for (const toolchain of GO_TOOLCHAINS) {
  test(`returns probed at emulated instructions: each once, with the RET's values (${toolchain})`, async (t) => {
    const why = await toolchainUnavailable(toolchain);
    if (why) return t.skip(why);
    await withProbes(
      SPECS,
      async (run) => {
        const moved = run.compiled.map((c) => [
          c.spec.name,
          c.sites.filter((s) => s.main && s.site.via).length > 0,
          c.sites.filter((s) => s.main && s.site.instruction === 'ret').length,
        ]);
        // classify, pick, check and depth have returns reached by Jcc's (both ways); mustSmall's
        // follow a CALL (its RETs stay).
        for (const [name, some] of moved) if (name !== 'mustSmall') assert.ok(some, `${name}: ${moved}`);
        assert.ok(
          run.compiled.every((c) => c.sites.every((s) => !s.site.via || s.site.handling === 'emulated')),
        );
        await run.command(`calls ${N}`);
        const want: Record<string, unknown[][]> = {};
        for (let i = 0; i < N; i++)
          for (const [k, v] of Object.entries(expected(i))) want[k] = [...(want[k] ?? []), ...v];
        const total = Object.values(want).reduce((n, v) => n + v.length, 0);
        await run.drain(() => run.events.length >= total);
        const sort = (xs: unknown[][]) => xs.map((x) => JSON.stringify(x)).sort();
        for (const spec of SPECS) {
          const got = run.of(spec.name).map((e) => spec.captures!.map((c) => captured(e, c)));
          if (spec.name === 'classify' || spec.name === 'pick' || spec.name === 'check')
            assert.deepEqual(got, want[spec.name], `${spec.name}: every call once, in order`);
          else assert.deepEqual(sort(got), sort(want[spec.name]!), `${spec.name}: every return once`);
        }
        for (const e of run.of('classify')) assert.ok(e.durationNs !== undefined && e.durationNs > 0);
        assert.equal(
          run.probes.stats('classify').hits,
          N,
          'hits count returns, not the jumps that went elsewhere',
        );
      },
      { toolchain, program: 'probe-returns' },
    );
  });
}
