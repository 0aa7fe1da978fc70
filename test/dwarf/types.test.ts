import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { loadDwarf } from './dwarf-fixture.js';

const run = promisify(execFile);

interface FieldInfo {
  name: string;
  offset: number;
  type: string;
  embedded: boolean;
}
interface TypeInfo {
  name: string;
  size: number;
  kind: string;
  elem?: string;
  key?: string;
  len?: number;
  fields?: FieldInfo[];
  runtime: number;
}

for (const tc of GO_TOOLCHAINS) {
  test(`types of testdata/types agree with what the program says about itself (${tc})`, async (t) => {
    const reason = await toolchainUnavailable(tc);
    if (reason) return t.skip(reason);
    const { path, goVersion } = await buildFixture('types', { toolchain: tc });
    const { stdout } = await run(path, [], { maxBuffer: 64 << 20 });
    const said = JSON.parse(stdout) as { types: TypeInfo[] };
    assert.ok(said.types.length >= 100, 'the program describes its types');
    const { elf, dwarf } = await loadDwarf(path);
    const typesBase = elf.symbol('runtime.types')?.value;
    assert.ok(typesBase !== undefined, 'runtime.types symbol');
    const nameOf = (off: number | undefined) =>
      off === undefined ? undefined : dwarf.typeAt(off as never).name;
    // Go 1.22's linker writes an absolute address into the DIE it synthesises for uintptr and
    // no runtime type for unsafe.Pointer (fixed in 1.23): those two are checked accordingly.
    const old = /^go1\.22\./.test(goVersion);
    let kinds = 0;
    for (const ti of said.types) {
      const ty = dwarf.findType(ti.name);
      assert.ok(ty, `findType(${ti.name})`);
      const u = dwarf.underlying(ty);
      const at = `${ti.name} (${goVersion})`;
      assert.equal(ty.byteSize, ti.size, `size of ${at}`);
      assert.equal(ty.kind, ti.kind, `kind of ${at}`);
      kinds++;
      const rt: number = ti.runtime - (typesBase as number);
      if (old && ti.name === 'uintptr') assert.equal(dwarf.runtimeAddressOf(ty), ti.runtime, at);
      else if (old && ti.name === 'unsafe.Pointer') assert.equal(dwarf.runtimeAddressOf(ty), undefined, at);
      else {
        assert.equal(dwarf.runtimeAddressOf(ty), rt, `runtime type of ${at}`);
        assert.equal(dwarf.typeByRuntimeAddress(rt)?.name, ti.name, `typeByRuntimeAddress for ${at}`);
      }
      if (ti.kind === 'struct') {
        const fields = (u.fields ?? []).map((f) => ({
          name: f.name,
          offset: f.offset,
          type: nameOf(f.type),
          embedded: f.embedded,
        }));
        assert.deepEqual(fields, ti.fields ?? [], `fields of ${at}`);
      }
      if (ti.elem !== undefined) assert.equal(nameOf(ty.elem ?? u.elem), ti.elem, `element of ${at}`);
      if (ti.key !== undefined) assert.equal(nameOf(ty.key ?? u.key), ti.key, `key of ${at}`);
      if (ti.kind === 'array') assert.equal(u.count, ti.len ?? 0, `length of ${at}`);
    }
    assert.equal(kinds, said.types.length);
    // Names the brief promises, including generic instantiations and runtime types.
    for (const name of [
      'main.Point',
      '*main.Point',
      '[]int',
      'map[string]int',
      'runtime.g',
      'main.Pair[int,string]',
    ])
      assert.ok(dwarf.findType(name), `findType(${name})`);
    assert.ok((dwarf.underlying(dwarf.findType('runtime.g')!).fields ?? []).some((f) => f.name === 'goid'));
  });
}

test('walking the whole type graph terminates on cyclic types', async () => {
  const { path } = await buildFixture('types');
  const { dwarf } = await loadDwarf(path);
  const seen = new Set<number>();
  const queue = dwarf.typeNames().map((n) => dwarf.findType(n)!.offset as number);
  // Bounded: each type offset is expanded once.
  while (queue.length > 0) {
    const off = queue.pop()!;
    if (seen.has(off)) continue;
    seen.add(off);
    const ty = dwarf.typeAt(off as never);
    for (const next of [
      ty.type,
      ty.elem,
      ty.key,
      ...(ty.fields ?? []).map((f) => f.type),
      ...(ty.params ?? []),
    ])
      if (next !== undefined && !seen.has(next)) queue.push(next);
  }
  assert.ok(seen.size >= dwarf.typeCount);
  const node = dwarf.underlying(dwarf.findType('main.Node')!);
  const left = node.fields!.find((f) => f.name === 'Left')!;
  assert.equal(dwarf.typeAt(dwarf.typeAt(left.type!).elem!).name, 'main.Node', 'a Node points back to Node');
});
