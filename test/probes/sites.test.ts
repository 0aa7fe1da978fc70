/**
 * Site selection on real binaries: entries after the stack check (every function of a
 * fixture, several toolchains, against a reading of `go tool objdump`'s text), RETs, line
 * sites against objdump's file:line column, inlined copies, file offsets against the file's
 * own bytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hex } from '../../src/common/address.js';
import { PeriscopeError } from '../../src/common/errors.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { functionCode } from '../../src/probes/sites/function-code.js';
import { functionSites } from '../../src/probes/sites/function-sites.js';
import { inlinedSites } from '../../src/probes/sites/inlined-sites.js';
import { lineSites } from '../../src/probes/sites/line-sites.js';
import { siteAt } from '../../src/probes/sites/site.js';
import { decodeInstruction, type Instruction } from '../../src/probes/x86/decode.js';
import { buildFixture, GO_TOOLCHAINS, TESTDATA, toolchainUnavailable } from '../../support/go-fixtures.js';
import { type GoObjdumpFunction, goObjdump } from './x86-oracle.js';

const SOURCE = readFileSync(join(TESTDATA, 'probe-target', 'main.go'), 'utf8').split('\n');

/** The 1-based line of the first source line containing `text`. */
function lineOf(text: string): number {
  const i = SOURCE.findIndex((l) => l.includes(text));
  assert.ok(i >= 0, text);
  return i + 1;
}

/**
 * The oracle's body start: the instruction after the last conditional jump among the first
 * eight whose target block reaches `CALL runtime.morestack…` before any RET or JMP.
 */
function objdumpBodyStart(f: GoObjdumpFunction): number | undefined {
  let body: number | undefined;
  for (let i = 0; i < Math.min(8, f.texts.length); i++) {
    const t = f.texts[i]!;
    if (/^(CALL|RET|JMP)\b/.test(t)) break;
    const m = /^J[A-Z]+ 0x([0-9a-f]+)$/.exec(t);
    if (!m) continue;
    let k = f.addresses.indexOf(Number.parseInt(m[1]!, 16));
    for (let n = 0; k >= 0 && k < f.texts.length && n < 24; k++, n++) {
      const u = f.texts[k]!;
      if (/^CALL runtime\.morestack/.test(u)) {
        body = f.addresses[i + 1];
        break;
      }
      if (/^(CALL|RET|JMP)\b/.test(u)) break;
    }
  }
  return body;
}

test('entry sites follow the stack check in every function (several toolchains)', async (t) => {
  for (const toolchain of GO_TOOLCHAINS) {
    const why = await toolchainUnavailable(toolchain);
    if (why) {
      t.diagnostic(`skipped ${toolchain}: ${why}`);
      continue;
    }
    const { path } = await buildFixture('probe-target', { toolchain });
    const bin = await GoBinary.open(path);
    const oracle = await goObjdump(path);
    let checked = 0;
    let withCheck = 0;
    const entryKinds = new Map<string, number>();
    const bad: string[] = [];
    for (const fn of bin.symtab.pcln.functions()) {
      const theirs = oracle.get(fn.entry);
      if (!theirs || theirs.unknown) continue;
      const code = functionCode(bin, bin.symtab.pcln.funcAt(fn.index));
      const ours = code.bodyStart === undefined ? undefined : code.instructions[code.bodyStart]!.address;
      const expected = objdumpBodyStart(theirs);
      if (ours !== expected && bad.length < 10)
        bad.push(`${fn.name}: ours ${ours && hex(ours)}, objdump ${expected && hex(expected)}`);
      checked++;
      if (expected !== undefined) {
        withCheck++;
        const text = theirs.texts[theirs.addresses.indexOf(expected)]!.split(' ')[0]!;
        entryKinds.set(text, (entryKinds.get(text) ?? 0) + 1);
      }
    }
    assert.deepEqual(bad, [], toolchain);
    assert.ok(withCheck > 500, `${toolchain}: ${withCheck} functions with a stack check`);
    // The body after the check starts with PUSHQ BP (emulated) in every function.
    assert.equal(entryKinds.get('PUSHQ'), withCheck, `${toolchain}: ${[...entryKinds]}`);
    t.diagnostic(
      `${toolchain}: ${checked} functions, ${withCheck} with a stack check, after it: ${[...entryKinds]}`,
    );
  }
});

test('main.target: entry at PUSHQ BP after the check, one RET; main.leaf (NOSPLIT): its first instruction', async () => {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const file = readFileSync(path);
  const oracle = await goObjdump(path);
  const t = functionSites(bin, 'main.target');
  const theirs = oracle.get(bin.symtab.pcln.funcByName('main.target')!.entry)!;
  assert.equal(t.hasStackCheck, true);
  assert.equal(t.entry.address, theirs.addresses[theirs.texts.indexOf('PUSHQ BP')]);
  assert.deepEqual([t.entry.instruction, t.entry.handling, t.entry.kind], ['push', 'emulated', 'entry']);
  assert.equal(file[t.entry.fileOffset], 0x55, 'the file holds PUSHQ BP at the file offset');
  assert.deepEqual(
    t.returns.map((r) => r.address),
    theirs.addresses.filter((_, i) => theirs.texts[i] === 'RET'),
  );
  assert.ok(t.returns.every((r) => r.handling === 'stepped' && file[r.fileOffset] === 0xc3));

  const leaf = functionSites(bin, 'main.leaf');
  assert.equal(leaf.hasStackCheck, false);
  assert.equal(leaf.entry.address, bin.symtab.pcln.funcByName('main.leaf')!.entry);
  assert.match(leaf.entry.note ?? '', /NOSPLIT/);

  const sign = functionSites(bin, 'main.sign');
  assert.equal(sign.returns.length, 3, 'one RET per return statement');
  assert.throws(
    () => functionSites(bin, 'main.nope'),
    (e: unknown) => e instanceof PeriscopeError && e.kind === 'no-such-symbol',
  );
});

test('line sites are the statement starts objdump shows for that line; the func line moves past the check', async () => {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const oracle = await goObjdump(path);
  const target = oracle.get(bin.symtab.pcln.funcByName('main.target')!.entry)!;
  const body = lineOf('return leaf(n) + 1');
  const sites = lineSites(bin, 'probe-target/main.go', body);
  assert.ok(sites.length >= 1);
  for (const s of sites) {
    const f = oracle.get(bin.symtab.pcln.funcForPC(s.address)!.entry)!;
    assert.equal(f.positions[f.addresses.indexOf(s.address)], `main.go:${body}`, hex(s.address));
  }
  const firstOfLine = target.addresses[target.positions.indexOf(`main.go:${body}`)];
  assert.ok(sites.some((s) => s.address === firstOfLine && s.host === 'main.target'));
  const funcLine = lineSites(bin, 'main.go', lineOf('func target(n int) int {'));
  assert.deepEqual(
    funcLine.map((s) => s.address),
    [functionSites(bin, 'main.target').entry.address],
    'the row at the entry is moved past the stack check',
  );
  assert.throws(() => lineSites(bin, 'main.go', 1), /no statement/);
});

test('every inlined copy of main.scale is found, at the first instruction objdump gives its line', async () => {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const oracle = await goObjdump(path);
  const first = lineOf('y := x * 3');
  const scaleLines = new Set([0, 1, 2, 3, 4].map((k) => `main.go:${first + k}`));
  const sites = inlinedSites(bin, 'main.scale');
  assert.deepEqual(sites.map((s) => s.host).sort(), ['main.useA', 'main.useB']);
  for (const s of sites) {
    const f = oracle.get(bin.symtab.pcln.funcByName(s.host)!.entry)!;
    const expected = f.addresses.find((_, i) => scaleLines.has(f.positions[i]!));
    assert.equal(s.address, expected, `${s.host}: the first instruction objdump gives a line of scale`);
    assert.equal(s.kind, 'inlined-entry');
    assert.match(s.file ?? '', /probe-target\/main\.go$/);
    assert.ok(s.line === lineOf('return scale(x) + 1') || s.line === lineOf('return scale(x+1) * 2'));
  }
  assert.deepEqual(inlinedSites(bin, 'main.target'), [], 'a noinline function has no inlined copies');
});

test('a site on an instruction the kernel refuses is a clear error', async () => {
  const { path } = await buildFixture('probe-target');
  const bin = await GoBinary.open(path);
  const int3 = decodeInstruction(Uint8Array.of(0xcc), 0) as Instruction;
  const entry = bin.symtab.pcln.funcByName('main.target')!.entry;
  assert.throws(
    () =>
      siteAt(
        bin,
        { address: entry, insn: int3 },
        { kind: 'line', function: 'main.target', host: 'main.target' },
      ),
    /cannot probe main\.target at 0x[0-9a-f]+ \(line\): the kernel's uprobe table refuses opcode 0xcc/,
  );
});
