/**
 * The goroutine-creation probe request traces share (src/spec/trace-probes.ts), on the real
 * runtime of five toolchains: it sits on an instruction the kernel emulates (the CALL of
 * runtime.runqput in runtime.newproc's closure, not a single-stepped RET of runtime.newproc1)
 * and gives, for every go statement, the new goroutine's id and its parent's, each once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { probeSpecOf } from '../../src/agent/probe-spec-of.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { sharedTraceProbes } from '../../src/spec/trace-probes.js';
import { GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { captured, withProbes } from '../probes/probe-run.js';

const SPEC = parseSpec(
  'programs:\n  - name: api\n    match: { executable: x }\ntraces:\n  - name: t\n    program: api\n    function: main.handle\n    keep: error\n    error: r0\n',
);
const spawn = sharedTraceProbes(SPEC.traces!).find((p) => p.name.endsWith(':spawn'))!;

for (const toolchain of GO_TOOLCHAINS) {
  test(`the shared spawn probe: an emulated site, every go statement's child and parent once (${toolchain})`, async (t) => {
    const why = await toolchainUnavailable(toolchain);
    if (why) return t.skip(why);
    await withProbes(
      [probeSpecOf(spawn, 1000)],
      async (run) => {
        const sites = run.compiled[0]!.sites.map((s) => [s.site.kind, s.site.instruction, s.site.handling]);
        assert.deepEqual(sites, [['call', 'call', 'emulated']]);
        const main = Number(/goid (\d+)/.exec(await run.command('handle 0'))![1]);
        const before = run.of(spawn.name).length;
        const done = await run.command('goroutines 8 10');
        const goids = /goids (\S+)/.exec(done)![1]!.split(',').map(Number);
        await run.drain(() => run.of(spawn.name).length >= before + 8);
        const mine = run
          .of(spawn.name)
          .map((e) => [Number(captured(e, 'gp.goid')), Number(captured(e, 'gp.parentGoid'))] as const)
          .filter(([child]) => goids.includes(child));
        assert.deepEqual(
          mine.map(([c]) => c).sort((a, b) => a - b),
          [...goids].sort((a, b) => a - b),
          'each goroutine once',
        );
        for (const [child, parent] of mine) assert.equal(parent, main, `goroutine ${child}'s parent`);
      },
      { toolchain },
    );
  });
}
