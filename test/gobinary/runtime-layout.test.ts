import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { parseGoVersion } from '../../src/gobinary/go-version.js';
import type { StructLayout } from '../../src/gobinary/runtime-layout.js';
import { buildFixture, GO_TOOLCHAINS, TESTDATA, toolchainUnavailable } from '../../support/go-fixtures.js';

const run = promisify(execFile);

interface SourceLayout {
  size: number;
  fields: { name: string; offset: number; size: number }[];
}

/** The oracle: go/types of that release's own source computes the layout (testdata/tools/srclayout). */
async function sourceLayouts(
  toolchain: string,
  types: string[],
): Promise<Record<string, SourceLayout | null>> {
  const env = { ...process.env, GOTOOLCHAIN: toolchain };
  const { stdout } = await run('go', ['run', './tools/srclayout', ...types], {
    cwd: TESTDATA,
    env,
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout) as Record<string, SourceLayout | null>;
}

async function sourceConsts(toolchain: string, prefix: string): Promise<Record<string, number>> {
  const env = { ...process.env, GOTOOLCHAIN: toolchain };
  const { stdout } = await run('go', ['run', './tools/srclayout', '-consts', 'runtime', prefix], {
    cwd: TESTDATA,
    env,
  });
  return JSON.parse(stdout) as Record<string, number>;
}

function assertSameLayout(ours: StructLayout, src: SourceLayout, what: string): void {
  assert.equal(ours.size, src.size, `${what}: size`);
  const fromDwarf = ours.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size }));
  assert.deepEqual(fromDwarf, src.fields, `${what}: every field's name, offset and size`);
}

for (const tc of GO_TOOLCHAINS) {
  test(`runtime layout from DWARF agrees with the Go source of ${tc}`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path, goVersion } = await buildFixture('runtimeshape', { toolchain: tc });
    const bin = await GoBinary.open(path);
    const layout = bin.runtimeLayout();
    const swiss = layout.maps.kind === 'swiss';
    const v = parseGoVersion(goVersion);
    assert.ok(v);
    assert.equal(swiss, v.minor >= 24, 'Go 1.24+ uses swiss-table maps, older releases hmap');
    const mapTypes = swiss
      ? ['internal/runtime/maps.Map', 'internal/runtime/maps.table', 'internal/runtime/maps.groupsReference']
      : ['runtime.hmap', 'runtime.bmap'];
    const src = await sourceLayouts(tc, [
      'runtime.g',
      'runtime.m',
      'runtime.gobuf',
      'runtime.stack',
      ...mapTypes,
    ]);
    assertSameLayout(layout.g, src['runtime.g']!, 'runtime.g');
    assertSameLayout(layout.m, src['runtime.m']!, 'runtime.m');
    assertSameLayout(layout.gobuf, src['runtime.gobuf']!, 'runtime.gobuf');
    assertSameLayout(layout.stack, src['runtime.stack']!, 'runtime.stack');
    if (layout.maps.kind === 'swiss') {
      assertSameLayout(layout.maps.map, src['internal/runtime/maps.Map']!, 'maps.Map');
      assertSameLayout(layout.maps.table, src['internal/runtime/maps.table']!, 'maps.table');
      assertSameLayout(
        layout.maps.groupsReference,
        src['internal/runtime/maps.groupsReference']!,
        'maps.groupsReference',
      );
    } else {
      assertSameLayout(layout.maps.hmap, src['runtime.hmap']!, 'runtime.hmap');
      assertSameLayout(layout.maps.bmap, src['runtime.bmap']!, 'runtime.bmap');
    }
    // Nested offsets: g.sched.sp is g.sched + gobuf.sp, and so on.
    const off = (s: SourceLayout, name: string) => s.fields.find((f) => f.name === name)!.offset;
    const g = src['runtime.g']!;
    const gobuf = src['runtime.gobuf']!;
    const stack = src['runtime.stack']!;
    assert.equal(layout.gOffsets.schedSp, off(g, 'sched') + off(gobuf, 'sp'));
    assert.equal(layout.gOffsets.schedPc, off(g, 'sched') + off(gobuf, 'pc'));
    assert.equal(layout.gOffsets.schedBp, off(g, 'sched') + off(gobuf, 'bp'));
    assert.equal(layout.gOffsets.stackLo, off(g, 'stack') + off(stack, 'lo'));
    assert.equal(layout.gOffsets.stackHi, off(g, 'stack') + off(stack, 'hi'));
    for (const name of [
      'goid',
      'waitsince',
      'waitreason',
      'gopc',
      'startpc',
      'labels',
      'atomicstatus',
      'm',
      'parentGoid',
    ] as const) {
      assert.equal(layout.gOffsets[name], off(g, name), `g.${name}`);
    }
    const m = src['runtime.m']!;
    for (const name of ['procid', 'curg', 'id', 'g0'] as const)
      assert.equal(layout.mOffsets[name], off(m, name), `m.${name}`);

    // Status and wait-reason constants: every one the DWARF has equals the source's value.
    const statuses = await sourceConsts(tc, '_G');
    for (const s of [
      '_Gidle',
      '_Grunnable',
      '_Grunning',
      '_Gsyscall',
      '_Gwaiting',
      '_Gdead',
      '_Gcopystack',
      '_Gpreempted',
      '_Gscan',
    ]) {
      assert.equal(layout.statusValues.get(s), statuses[s], `status ${s}`);
    }
    const reasons = await sourceConsts(tc, 'waitReason');
    assert.ok(layout.waitReasonConstants.size > 10, 'the DWARF lists wait reasons');
    for (const [value, name] of layout.waitReasonConstants) assert.equal(reasons[name], value, name);
    // The wait-reason strings table read from the binary lines up with the constants.
    const table = bin.waitReasons();
    assert.equal(table[reasons.waitReasonChanReceive!], 'chan receive');
    assert.equal(table[reasons.waitReasonSelect!], 'select');
    assert.equal(table[reasons.waitReasonSleep!], 'sleep');

    // pprof labels: map[string]string until Go 1.23, a list of {key, value} strings since.
    if (v.minor >= 24) {
      assert.deepEqual(layout.labels, {
        kind: 'list',
        listOffset: 0,
        elemSize: 32,
        keyOffset: 0,
        valueOffset: 16,
      });
    } else assert.equal(layout.labels.kind, 'map');
  });
}
