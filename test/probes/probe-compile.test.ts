/**
 * Compiling probes against testdata/probe-values: what cannot run in a probe is refused when
 * the probe is compiled, with the reason (a float in an XMM register, a map lookup, float
 * arithmetic or comparison, ordered string comparison, a value through an interface, a
 * constant, a capture no site has, a condition some site lacks, a record over budget, a
 * function that is not there); and every program generated for a broad set of probes is
 * accepted by the kernel verifier, on every toolchain the fixtures are built with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BpfMap } from '../../src/probes/bpf/maps.js';
import { ATTACH_UPROBE_MULTI, loadProgram } from '../../src/probes/bpf/program.js';
import { compileProbe } from '../../src/probes/compile/compile-probe.js';
import { createProbeMaps } from '../../src/probes/create-probe-maps.js';
import type { ProbeSpec } from '../../src/probes/probe-spec.js';
import { GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { fixtureBinary } from './probe-run.js';

const entry = (fn: string) => ({ kind: 'entry', function: fn }) as const;
const ret = (fn: string) => ({ kind: 'return', function: fn }) as const;

const REFUSED: [string, ProbeSpec, RegExp][] = [
  [
    'a float argument in a register',
    { name: 'f', at: entry('main.scale'), captures: ['f'] },
    /register xmm0 .*floats travel in XMM registers/,
  ],
  ['a float result', { name: 'f', at: ret('main.scale'), captures: ['r0'] }, /returned in register X0/],
  [
    'a map lookup',
    { name: 'm', at: entry('main.handle'), captures: ['req.Attrs["i"]'] },
    /map lookups cannot run in a probe/,
  ],
  [
    'float arithmetic',
    { name: 'm', at: entry('main.handle'), captures: ['req.Score * 2'] },
    /floating point/,
  ],
  [
    'a float comparison',
    { name: 'm', at: entry('main.handle'), condition: 'req.Score > 1' },
    /floats cannot be compared/,
  ],
  [
    'ordered strings',
    { name: 'm', at: entry('main.handle'), condition: 'user < "b"' },
    /only be compared with == and !=/,
  ],
  [
    'string concatenation',
    { name: 'm', at: entry('main.handle'), captures: ['user + "x"'] },
    /integers only/,
  ],
  [
    'a field through an interface',
    { name: 'm', at: entry('main.handle'), captures: ['shape.Side'] },
    /assert the dynamic type first/,
  ],
  ['a constant', { name: 'm', at: entry('main.handle'), captures: ['1 + 2'] }, /it is a constant/],
  [
    'an unknown variable',
    { name: 'm', at: entry('main.handle'), captures: ['nope'] },
    /column 1: unknown variable nope/,
  ],
  ['a syntax error', { name: 'm', at: entry('main.handle'), captures: ['req.'] }, /column \d+:/],
  [
    'a capture no site has',
    { name: 'm', at: ret('main.pair'), captures: ['n'] },
    /available at none of its sites: n is optimized out at this site/,
  ],
  [
    'a condition a site lacks',
    { name: 'm', at: ret('main.divide'), condition: 'a > 0' },
    /condition cannot be evaluated at return site main.divide/,
  ],
  [
    'a record over budget',
    {
      name: 'm',
      at: entry('main.handle'),
      captures: ['req', 'xs', 'shape'],
      limits: { maxString: 4096, maxElements: 64, maxDepth: 6 },
    },
    /needs more than 16384 bytes per event/,
  ],
  [
    'a missing function',
    { name: 'm', at: entry('main.nothere'), captures: ['x'] },
    /has no function main.nothere/,
  ],
  [
    'durations of an inlined-only function',
    { name: 'm', at: entry('main.double'), duration: true },
    /exists only inlined/,
  ],
  [
    'a bad limit',
    { name: 'm', at: entry('main.handle'), limits: { maxDepth: 99 } },
    /maxDepth must be an integer from 0 to 6/,
  ],
  [
    'a bad rate',
    { name: 'm', at: entry('main.handle'), rateLimit: { perSecond: 0 } },
    /perSecond must be in/,
  ],
];

test('what cannot run in a probe is refused when it is compiled, with the reason', async () => {
  const bin = await fixtureBinary();
  for (const [what, spec, reason] of REFUSED)
    assert.throws(() => compileProbe(bin, spec), reason, `${what}: ${JSON.stringify(spec)}`);
});

const ACCEPTED: ProbeSpec[] = [
  {
    name: 'all',
    at: entry('main.handle'),
    captures: [
      'user',
      'n',
      'req',
      'xs',
      'shape',
      'v',
      'req.Tags[n % 3]',
      'v.(string)',
      '&req.ID',
      '-n / 3',
      'len(req.Attrs)',
    ],
    condition: '(user == "alice" || req.User == user) && !(n % 7 == 0) && req.Where != nil && len(xs) >= 0',
    rateLimit: { perSecond: 1000 },
    stackFrames: 16,
  },
  { name: 'ret', at: ret('main.divide'), captures: ['q', 'err'], duration: true, condition: 'err != nil' },
  {
    name: 'rec',
    at: entry('main.recurse'),
    captures: ['depth', 'tag'],
    duration: true,
    condition: 'tag == tag',
  },
  { name: 'inl', at: entry('main.double'), captures: ['x'], stackFrames: 4 },
  { name: 'cnt', at: entry('main.small') },
  { name: 'lab', at: ret('main.sleepy'), labels: true, duration: true },
];

for (const toolchain of GO_TOOLCHAINS) {
  test(`the verifier accepts every program of a broad set of probes (${toolchain})`, async (t) => {
    const why = await toolchainUnavailable(toolchain);
    if (why) return t.skip(why);
    const bin = await fixtureBinary(toolchain);
    const listLabels = bin.runtimeLayout().labels.kind === 'list'; // Go 1.24+; before, labels are a map
    const probes = ACCEPTED.filter((s) => listLabels || !s.labels).map((s) => compileProbe(bin, s));
    const maps: BpfMap[] = [];
    try {
      const frames = Math.max(1, ...probes.map((p) => p.spec.stackFrames ?? 0));
      const fds = createProbeMaps(probes.length, frames, 'v', { hot: 1 << 16, overflow: 1 << 16 }, maps);
      let loaded = 0;
      for (const [pi, p] of probes.entries())
        for (const [si] of p.sites.entries()) {
          const insns = p.program(si, pi, { kind: 'cookie' }, fds, 0);
          loadProgram({
            name: `periscope_v${loaded++}`,
            insns,
            expectedAttachType: ATTACH_UPROBE_MULTI,
          }).close();
          loadProgram({
            name: `periscope_v${loaded++}`,
            insns: p.program(si, pi, { kind: 'constant', id: si }, fds, 0),
          }).close();
        }
      assert.ok(loaded >= 2 * 8, `${loaded} programs loaded`);
    } finally {
      for (const m of maps) m.close();
    }
  });
}
