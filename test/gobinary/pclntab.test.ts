import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { linkAddr } from '../../src/common/address.js';
import { ElfFile, openElf } from '../../src/elf/elf-file.js';
import { funcNameForPrint } from '../../src/gobinary/inline-tree.js';
import { openGoSymtab } from '../../src/gobinary/pclntab-open.js';
import { buildFixture, goTool, toolchainUnavailable } from '../../support/go-fixtures.js';
import { DELVE, ensureGoTool } from '../../support/go-tools.js';
import { PCLNTAB_TOOLCHAINS } from './toolchains.js';

const run = promisify(execFile);

/** Every function (name, entry) must be a T/t symbol of `go tool nm`, and vice versa. */
async function compareWithNm(path: string, toolchain: string): Promise<number> {
  const elf = await openElf(path);
  const { pcln } = openGoSymtab(elf);
  const nm = await goTool(toolchain, ['nm', path]);
  const theirs = new Set<string>();
  const markers = new Map<string, number>();
  const text: [number, string][] = [];
  for (const line of nm.split('\n')) {
    const m = /^\s*([0-9a-f]+) ([Tt]) (.+)$/.exec(line);
    if (!m) continue;
    const [, a, , name] = m;
    const value = Number.parseInt(a!, 16);
    if (name === 'runtime.text' || name === 'runtime.etext') markers.set(name, value);
    else text.push([value, name!]);
  }
  const [lo, hi] = [markers.get('runtime.text')!, markers.get('runtime.etext')!];
  for (const [value, name] of text) {
    // C code from cgo objects is not Go: named after its section when the Go linker linked
    // it, outside [runtime.text, runtime.etext) when the system linker did.
    if (value >= lo && value < hi && !/\(\.text[.\w]*\)$/.test(name)) {
      const plain = name.replace(/\.abi0$/, '');
      // Go 1.18/1.19 linkers wrote bracketed names into the pclntab as "[...]".
      theirs.add(`${value} ${pcln.header.format === '1.18' ? funcNameForPrint(plain) : plain}`);
    }
  }
  // The ELF symbol table spells the linker's middle dot "·" as ".".
  const ours = new Set(pcln.functions().map((f) => `${f.entry} ${f.name.replaceAll('·', '.')}`));
  assert.equal(ours.size, pcln.nfunc, 'no duplicate functions');
  assert.deepEqual([...ours].filter((x) => !theirs.has(x)).slice(0, 10), [], 'functions nm does not list');
  assert.deepEqual([...theirs].filter((x) => !ours.has(x)).slice(0, 10), [], 'nm symbols we do not list');
  assert.equal(pcln.textStart, markers.get('runtime.text'), 'text starts at runtime.text');
  for (const f of pcln.functions()) {
    assert.equal(pcln.funcIndexForPC(f.entry), f.index, `${f.name} at its entry`);
    assert.equal(pcln.funcIndexForPC(linkAddr(f.end - 1)), f.index, `${f.name} at its last byte`);
    assert.equal(pcln.funcByName(f.name)?.name, f.name, `${f.name} by name`);
  }
  return pcln.nfunc;
}

/** lineForPC of every instruction `go tool objdump` lists agrees with its file:line. */
async function compareWithObjdump(path: string, toolchain: string): Promise<number> {
  const elf = await openElf(path);
  const { pcln } = openGoSymtab(elf);
  const out = await goTool(toolchain, ['objdump', path]);
  let fn = '';
  let checked = 0;
  const bad: string[] = [];
  for (const line of out.split('\n')) {
    const t = /^TEXT (.+)\(SB\)/.exec(line);
    if (t) {
      fn = t[1]!.replace(/\.abi0$/, '');
      if (pcln.header.format === '1.18') fn = funcNameForPrint(fn);
      continue;
    }
    const m = /^ {2}(.*):(-?\d+)\t+0x([0-9a-f]+)\t/.exec(line);
    if (!m) continue;
    const pc = linkAddr(Number.parseInt(m[3]!, 16));
    const got = pcln.lineForPC(pc);
    const want = m[2] === '-1' ? 'none' : `${m[1]}:${m[2]} in ${fn}`;
    const have = got ? `${basename(got.file)}:${got.line} in ${got.function.replaceAll('·', '.')}` : 'none';
    if (have !== want && bad.length < 10) bad.push(`${m[3]}: objdump ${want}, we ${have}`);
    checked++;
  }
  assert.deepEqual(bad, []);
  return checked;
}

/** spDeltaAt at every byte of every FDE agrees with readelf's CFA rule (cfa=rsp+N: N-8). */
async function compareWithReadelfCfa(path: string): Promise<number> {
  const elf = await openElf(path);
  const { pcln } = openGoSymtab(elf);
  const { stdout } = await run('readelf', ['--debug-dump=frames-interp', path], { maxBuffer: 1 << 30 });
  let checked = 0;
  const bad: string[] = [];
  for (const block of stdout.split(/\n(?=[0-9a-f]{8} [0-9a-f]+ [0-9a-f]+ FDE)/)) {
    const h = /FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(block);
    if (!h) continue;
    const end = Number.parseInt(h[2]!, 16);
    const rows = [...block.matchAll(/^([0-9a-f]{16}) (\S+)/gm)].map((r) => ({
      loc: Number.parseInt(r[1]!, 16),
      cfa: r[2]!,
    }));
    for (let i = 0; i < rows.length; i++) {
      const { loc, cfa } = rows[i]!;
      const m = /^rsp\+(\d+)$/.exec(cfa);
      assert.ok(m, `unexpected CFA rule ${cfa} at ${loc.toString(16)}`);
      const want = Number(m[1]) - 8;
      const next = i + 1 < rows.length ? rows[i + 1]!.loc : end;
      for (let pc = loc; pc < next; pc++) {
        const got = pcln.spDeltaAt(linkAddr(pc));
        if (got !== want && bad.length < 10) bad.push(`${pc.toString(16)}: cfa ${cfa}, spDelta ${got}`);
        checked++;
      }
    }
  }
  assert.deepEqual(bad, []);
  return checked;
}

for (const tc of PCLNTAB_TOOLCHAINS) {
  test(`pclntab agrees with go tool nm, go tool objdump and readelf CFI (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const { path } = await buildFixture('inlining', { toolchain: tc });
    const nfunc = await compareWithNm(path, tc);
    assert.ok(nfunc > 1000);
    const insns = await compareWithObjdump(path, tc);
    assert.ok(insns > 100_000, `checked ${insns} instructions`);
    const bytes = await compareWithReadelfCfa(path);
    assert.ok(bytes > 400_000, `checked ${bytes} pcs`);
    t.diagnostic(`${nfunc} functions, ${insns} instructions, ${bytes} pcs of CFI`);
  });
}

// The system linker (a program with C code of its own) puts C start-up code before
// runtime.text and leaves the pclntab's text start to a relocation.
for (const pie of [false, true]) {
  test(`pclntab of a program linked by the system linker (cgo${pie ? ', PIE' : ''}) agrees with go tool nm`, async () => {
    const { path } = await buildFixture('cgocalls', {
      env: { CGO_ENABLED: '1' },
      flags: pie ? ['-buildmode=pie'] : [],
    });
    assert.ok((await compareWithNm(path, 'local')) > 1000);
  });
}

test('a stripped program linked by the system linker finds its text start without symbols', async () => {
  const env = { CGO_ENABLED: '1' };
  const full = await buildFixture('cgocalls', { env });
  const stripped = await buildFixture('cgocalls', { env, flags: ['-ldflags=-s'] });
  const elf = await openElf(stripped.path);
  assert.equal(elf.symbol('runtime.text'), undefined, 'no symbol table');
  const text = (await openElf(full.path)).symbol('runtime.text')!.value;
  assert.equal(openGoSymtab(elf).pcln.textStart, text, 'the moduledata says where text starts');
});

// A large real program from the module proxy: Delve (23 MB, ~15,000 functions, 18 modules,
// cgo off), installed into .cache/tools on first use; the value tests need it anyway.
test('pclntab of a large binary (dlv) agrees with go tool nm', async (t) => {
  const { path, built, ms } = await ensureGoTool(DELVE);
  if (built) t.diagnostic(`built ${DELVE.pkg}@${DELVE.version} in ${(ms / 1000).toFixed(1)} s`);
  const n = await compareWithNm(path, 'local');
  assert.ok(n > 10_000, `${n} functions`);
});

test('the pclntab is found without its section (symbol range) and without symbols (header scan)', async () => {
  const { path } = await buildFixture('inlining');
  const elf = await openElf(path);
  const want = openGoSymtab(elf).pcln.functions();
  const rename = (bytes: Uint8Array, from: string, to: string): Uint8Array => {
    const copy = Buffer.from(bytes);
    let n = 0;
    for (let i = copy.indexOf(`${from}\0`); i >= 0; i = copy.indexOf(`${from}\0`, i + 1), n++)
      copy.write(to, i);
    assert.ok(n > 0, `${from} occurs`);
    return new Uint8Array(copy.buffer, copy.byteOffset, copy.length);
  };
  const noSection = rename(readFileSync(path), '.gopclntab', '.xopclntab');
  const bySymbol = openGoSymtab(new ElfFile(noSection, path));
  assert.equal(bySymbol.source, 'symbol');
  assert.deepEqual(bySymbol.pcln.functions(), want);
  const noSymbols = rename(
    rename(noSection, 'runtime.pclntab', 'runtime.xclntab'),
    'runtime.epclntab',
    'runtime.exclntab',
  );
  const byScan = openGoSymtab(new ElfFile(noSymbols, path));
  assert.equal(byScan.source, 'scan');
  assert.deepEqual(byScan.pcln.functions(), want);
});
