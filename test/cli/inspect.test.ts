import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { BinarySummary, FunctionView, TypeView } from '../../src/cli/commands/inspect-view.js';
import {
  buildFixture,
  GO_TOOLCHAINS,
  goTool,
  ROOT,
  toolchainUnavailable,
} from '../../support/go-fixtures.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');

async function periscope<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [CLI, ...args, '--json']);
  return JSON.parse(stdout) as T;
}

for (const tc of GO_TOOLCHAINS) {
  test(`periscope inspect --json agrees with go version -m, go tool buildid and readelf (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path, goVersion } = await buildFixture('hello', { toolchain: tc });
    const s = await periscope<BinarySummary>('inspect', path);
    assert.equal(s.goVersion, goVersion);
    const { stdout: mod } = await run('go', ['version', '-m', path]);
    assert.match(mod, new RegExp(`^\\s+path\\s+${s.mainPackage!.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(mod, new RegExp(`^\\s+mod\\s+${s.mainModule!.replace(/\./g, '\\.')}\\s`, 'm'));
    assert.equal(s.goBuildId, (await goTool(tc, ['buildid', path])).trim());
    const notes = (await run('readelf', ['-n', path])).stdout;
    const gnu = /Build ID: ([0-9a-f]+)/.exec(notes)?.[1];
    assert.equal(s.buildId, gnu ?? null);
    const info = (await run('readelf', ['--debug-dump=info', path], { maxBuffer: 1 << 30 })).stdout;
    const versions = new Set([...info.matchAll(/^\s+Version:\s+(\d+)/gm)].map((m) => Number(m[1])));
    assert.equal(s.dwarfVersion, Math.max(...versions));
    assert.equal(
      s.dwarfVersion,
      goVersion >= 'go1.25' ? 5 : 4,
      'Go 1.25+ writes DWARF 5, older releases DWARF 4',
    );
    assert.equal(s.compileUnits, [...info.matchAll(/DW_TAG_compile_unit/g)].length);
    assert.equal(s.stripped, false);
    assert.ok(s.functions > 1000 && s.types > 500, `${s.functions} functions, ${s.types} types`);
  });
}

test('periscope inspect --func shows each variable and where it lives per PC range (Go register ABI)', async () => {
  const { path } = await buildFixture('hello');
  const f = await periscope<FunctionView>('inspect', path, '--func', 'main.distance');
  assert.equal(f.name, 'main.distance');
  assert.match(f.declFile!, /testdata\/hello\/main\.go$/);
  assert.deepEqual(
    f.variables.map((v) => [v.kind, v.name, v.type]),
    [
      ['param', 'p', 'main.Point'],
      ['result', '~r0', 'int'],
      ['local', 'd', 'int'],
    ],
  );
  // At entry, Point{X, Y int; Name string} arrives in the ABI's integer registers in order.
  const p = f.variables[0]!;
  const entry = p.locations.find((l) => l.low === f.lowPc)!;
  assert.deepEqual(
    entry.pieces.map((x) => (x.kind === 'register' ? x.name : x.kind)),
    ['rax', 'rbx', 'rcx', 'rdi'],
  );
  assert.deepEqual(
    entry.pieces.map((x) => x.size),
    [8, 8, 8, 8],
  );
  // The ranges of each variable tile its scope: no gaps, no overlaps, "not available here" where it is absent.
  for (const v of f.variables) {
    let cursor = Number.parseInt(f.lowPc, 16);
    for (const l of v.locations) {
      assert.equal(Number.parseInt(l.low, 16), cursor, `${v.name}: ranges are contiguous`);
      cursor = Number.parseInt(l.high, 16);
    }
    assert.equal(cursor, Number.parseInt(f.highPc, 16), `${v.name}: ranges cover the function`);
  }
  assert.ok(
    f.variables[1]!.locations.every((l) => l.where === 'not available here'),
    'results have no home before the return',
  );
  const text = (await run(process.execPath, [CLI, 'inspect', path, '--func', 'main.distance'])).stdout;
  assert.match(text, /param\s+p main\.Point/);
  assert.match(text, /register rax \(8 bytes\) \+ register rbx \(8 bytes\)/);
});

test('periscope inspect --type shows size and field offsets; unknown names get suggestions', async () => {
  const { path } = await buildFixture('hello');
  const t = await periscope<TypeView>('inspect', path, '--type', 'main.Point');
  assert.equal(t.size, 32);
  assert.deepEqual(
    t.fields.map((f) => [f.name, f.offset, f.size, f.type]),
    [
      ['X', 0, 8, 'int'],
      ['Y', 8, 8, 'int'],
      ['Name', 16, 16, 'string'],
    ],
  );
  const err = await run(process.execPath, [CLI, 'inspect', path, '--type', 'main.Pointt']).catch(
    (e: { stderr: string }) => e,
  );
  assert.match((err as { stderr: string }).stderr, /no type named main\.Pointt.*did you mean main\.Point/);
  const ferr = await run(process.execPath, [CLI, 'inspect', path, '--func', 'distance']).catch(
    (e: { stderr: string }) => e,
  );
  assert.match((ferr as { stderr: string }).stderr, /no function named distance.*main\.distance/);
});

test('periscope --help and every command --help', async () => {
  const top = (await run(process.execPath, [CLI, '--help'])).stdout;
  assert.match(top, /inspect/);
  const help = (await run(process.execPath, [CLI, 'inspect', '--help'])).stdout;
  for (const opt of ['--func NAME', '--type NAME', '--json', '--help']) assert.ok(help.includes(opt), opt);
});
