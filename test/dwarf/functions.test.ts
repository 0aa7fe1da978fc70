import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkAddr } from '../../src/common/address.js';
import type { FunctionInfo, InlinedCall, Variable } from '../../src/dwarf/functions.js';
import { buildFixture, GO_TOOLCHAINS, goTool, toolchainUnavailable } from '../../support/go-fixtures.js';
import { loadDwarf, sourceLine } from './dwarf-fixture.js';

/** Text symbols from `go tool nm`: name -> addresses (an assembly function F is "F.abi0" in nm, "F" in DWARF). */
async function nmText(tc: string, path: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const line of (await goTool(tc, ['nm', path])).split('\n')) {
    const m = /^\s*([0-9a-f]+) [Tt] (.+)$/.exec(line);
    if (!m) continue;
    const name = m[2]!.replace(/\.abi0$/, '');
    out.set(name, [...(out.get(name) ?? []), Number.parseInt(m[1]!, 16)]);
  }
  return out;
}

/** DWARF spells the suffix of function-local types with a middle dot, the symbol table with a dot. */
const symbolName = (dwarfName: string) => dwarfName.replaceAll('\u00b7', '.');

for (const tc of GO_TOOLCHAINS) {
  test(`function names and low PCs agree with go tool nm (${tc})`, async (t) => {
    const reason = await toolchainUnavailable(tc);
    if (reason) return t.skip(reason);
    const { path, goVersion } = await buildFixture('types', { toolchain: tc });
    const { dwarf } = await loadDwarf(path);
    const nm = await nmText(tc, path);
    const names = dwarf.functionNames();
    assert.ok(names.length > 1000);
    for (const name of names) {
      const f = dwarf.findFunction(name)!;
      assert.equal(f.name, name);
      // When an assembly function and its Go ABI wrapper share a name, DWARF has both; either may be first.
      assert.ok(nm.get(symbolName(name))?.includes(f.lowPc), `${name} (${goVersion}): DWARF low PC vs nm`);
      assert.ok(f.highPc > f.lowPc, name);
      assert.equal(dwarf.functionAt(f.lowPc)?.name, name, `functionAt(low PC of ${name})`);
      assert.equal(
        dwarf.functionAt(linkAddr(f.highPc - 1))?.name,
        name,
        `functionAt(high PC - 1 of ${name})`,
      );
    }
    // Every Go function of main and runtime has DWARF; the linker omits only a few assembly stubs.
    const have = new Set(names.map(symbolName));
    const missing = [...nm.keys()].filter((n) => /^(main|runtime)\./.test(n) && !have.has(n));
    const main = missing.filter((n) => n.startsWith('main.'));
    assert.deepEqual(main, [], 'every main.* function is in DWARF');
    const goRuntime = missing.filter((n) => !ASM_ONLY.test(n));
    assert.deepEqual(goRuntime, [], `runtime functions missing from DWARF (${goVersion})`);
  });
}

/** runtime functions written in assembly whose DWARF the linker does not emit. */
const ASM_ONLY = /^runtime\.(call\d+|text|etext|.*\.abi0)$/;

function vars(vs: readonly Variable[]) {
  return vs.map((v) => ({ name: v.name, param: v.isParameter, ret: v.isReturn }));
}

function inlinedNamed(calls: readonly InlinedCall[], name: string): InlinedCall[] {
  return calls.filter((c) => c.name === name);
}

function within(inner: readonly { low: number; high: number }[], outer: FunctionInfo['ranges']): boolean {
  return inner.every((r) => outer.some((o) => o.low <= r.low && r.high <= o.high));
}

for (const tc of GO_TOOLCHAINS) {
  test(`variables and inlined calls of fixture functions match the source (${tc})`, async (t) => {
    const reason = await toolchainUnavailable(tc);
    if (reason) return t.skip(reason);
    const { path, goVersion } = await buildFixture('types', { toolchain: tc });
    const { dwarf } = await loadDwarf(path);
    const typeName = (v: Variable | undefined) =>
      v?.type === undefined ? undefined : dwarf.typeAt(v.type).name;
    const outer = dwarf.findFunction('main.outer');
    assert.ok(outer, 'main.outer');
    assert.equal(outer.declLine, sourceLine('types', 'func outer('));
    assert.ok(outer.external);
    assert.deepEqual(
      vars(outer.variables.filter((v) => v.isParameter)),
      [
        { name: 'a', param: true, ret: false },
        { name: 'b', param: true, ret: false },
        { name: 'sum', param: true, ret: true },
        { name: 'ok', param: true, ret: true },
      ],
      `parameters of main.outer in order (${goVersion})`,
    );
    const byName = new Map(outer.variables.map((v) => [v.name, v]));
    assert.equal(typeName(byName.get('a')), 'int');
    assert.equal(typeName(byName.get('b')), 'string');
    assert.equal(typeName(byName.get('ok')), 'bool');
    const extra = byName.get('extra');
    assert.ok(extra && !extra.isParameter, 'local extra');
    assert.equal(extra.declLine, sourceLine('types', 'extra := bump(sum) / 2'));
    assert.equal(typeName(extra), 'int');
    assert.ok(within(extra.scope, outer.ranges), 'extra lives in a block inside outer');
    assert.ok(
      extra.location?.kind === 'list' && extra.location.entries.length > 0,
      'extra has a location list',
    );
    const n = byName.get('n');
    if (n) assert.equal(n.declLine, sourceLine('types', 'n := middle(a)'));
    // The inlined chain outer -> middle -> leaf.
    const middle = inlinedNamed(outer.inlined, 'main.middle');
    assert.equal(middle.length, 1, 'middle is inlined once into outer');
    assert.equal(middle[0]!.callLine, sourceLine('types', 'n := middle(a)'));
    assert.ok(middle[0]!.ranges.length > 0 && within(middle[0]!.ranges, outer.ranges));
    assert.deepEqual(
      middle[0]!.variables.map((v) => [v.name, v.isParameter, typeName(v)]),
      [
        ['y', true, 'int'],
        ['z', false, 'int'],
      ],
    );
    const leaf = inlinedNamed(middle[0]!.inlined, 'main.leaf');
    assert.equal(leaf.length, 1, 'leaf is inlined into the inlined middle');
    assert.equal(leaf[0]!.callLine, sourceLine('types', 'z := leaf(y) + total'));
    assert.ok(within(leaf[0]!.ranges, middle[0]!.ranges as FunctionInfo['ranges']));
    assert.deepEqual(
      leaf[0]!.variables.map((v) => [v.name, v.isParameter, typeName(v), v.declLine]),
      [
        ['x', true, 'int', sourceLine('types', 'func leaf(')],
        ['w', false, 'int', sourceLine('types', 'w := counter + x')],
      ].map(([a, b, c, d]) => [a, b, c, b ? leaf[0]!.variables[0]!.declLine : d]),
    );
    // A method with a pointer receiver and a result.
    const sum = dwarf.findFunction('main.(*Node).Sum');
    assert.ok(sum, 'main.(*Node).Sum');
    assert.deepEqual(
      sum.variables.filter((v) => v.isParameter).map((v) => [v.name, v.isReturn, typeName(v)]),
      [
        ['n', false, '*main.Node'],
        ['~r0', true, 'int'],
      ],
    );
    const k = sum.variables.find((v) => v.name === 'k');
    assert.equal(typeName(k), '*main.Node');
    assert.equal(k?.declLine, sourceLine('types', 'for _, k := range n.Kids'));
    // Generic instantiations are named by their shapes.
    assert.ok(dwarf.findFunction('main.Map[go.shape.int,go.shape.string]'), 'Map[int,string] shape');
    assert.ok(dwarf.findFunction('main.Map[go.shape.string,go.shape.int]'), 'Map[string,int] shape');
    assert.ok(dwarf.findFunction('main.Point.String'));
    assert.equal(dwarf.findFunction('main.leaf'), undefined, 'leaf has no out-of-line copy');
  });
}
