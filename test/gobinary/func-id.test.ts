import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openElf } from '../../src/elf/elf-file.js';
import { deriveFuncIds, funcFlagNames } from '../../src/gobinary/func-id.js';
import { openGoSymtab } from '../../src/gobinary/pclntab-open.js';
import { buildFixture, GO_TOOLCHAINS, TESTDATA, toolchainUnavailable } from '../../support/go-fixtures.js';

const run = promisify(execFile);

/** FuncID names in declaration (iota) order from internal/abi/symtab.go. */
function funcIdEnum(src: string): string[] {
  const start = src.search(/^\s*FuncIDNormal\s+FuncID\s*=\s*iota/m);
  assert.ok(start >= 0);
  const out: string[] = [];
  for (const raw of src.slice(start).split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === '') continue;
    if (line === ')') break;
    const name = line.split(/\s+/)[0]!;
    out.push(
      name === 'FuncIDNormal'
        ? 'normal'
        : name === 'FuncIDWrapper'
          ? 'wrapper'
          : name.replace(/^FuncID_/, ''),
    );
  }
  return out;
}

for (const tc of GO_TOOLCHAINS) {
  test(`FuncIDs and function flags agree with the Go sources (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('inlining', { toolchain: tc });
    const { stdout } = await run('go', ['env', 'GOROOT'], {
      cwd: TESTDATA,
      env: { ...process.env, GOTOOLCHAIN: tc },
    });
    const src = join(stdout.trim(), 'src');
    const { pcln } = openGoSymtab(await openElf(path));

    const enumNames = funcIdEnum(readFileSync(join(src, 'internal', 'abi', 'symtab.go'), 'utf8'));
    const ids = deriveFuncIds(pcln);
    const seen = new Set<number>();
    for (let i = 0; i < pcln.nfunc; i++) seen.add(pcln.funcAt(i).funcID);
    for (const id of seen) assert.equal(ids.nameOf(id), enumNames[id], `FuncID ${id}`);
    for (const n of [
      'goexit',
      'mstart',
      'morestack',
      'systemstack',
      'gogo',
      'rt0_go',
      'runtime_main',
      'wrapper',
    ])
      assert.equal(ids.idOf(n), enumNames.indexOf(n), n);

    // TOPFRAME comes from the TEXT directives of the runtime's assembly.
    const topframe = new Set<string>();
    const rt = join(src, 'runtime');
    for (const f of readdirSync(rt).filter((n) => n.endsWith('.s'))) {
      for (const m of readFileSync(join(rt, f), 'utf8').matchAll(/^TEXT runtime·(\w+)\(SB\),[^,]*TOPFRAME/gm))
        topframe.add(`runtime.${m[1]}`);
    }
    const fns = pcln.functions().map((s) => pcln.funcAt(s.index));
    assert.deepEqual(
      fns
        .filter((f) => funcFlagNames(f).includes('topframe'))
        .map((f) => f.name)
        .sort(),
      fns
        .filter((f) => topframe.has(f.name))
        .map((f) => f.name)
        .sort(),
    );
    // The asm flag marks exactly the functions whose code comes from a .s file.
    const bad = fns.filter(
      (f) => funcFlagNames(f).includes('asm') !== (pcln.fileLine(f, f.entry)?.file.endsWith('.s') ?? false),
    );
    assert.deepEqual(
      bad.map((f) => f.name),
      [],
    );
    assert.ok(fns.filter((f) => funcFlagNames(f).includes('asm')).length > 50);
  });
}
