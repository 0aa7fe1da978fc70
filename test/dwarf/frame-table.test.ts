import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { FormatError } from '../../src/common/errors.js';
import type { CfaRule, RegisterRule } from '../../src/dwarf/frame-rules.js';
import { CallFrameTable } from '../../src/dwarf/frame-table.js';
import { AMD64_REGISTERS } from '../../src/dwarf/regs.amd64.js';
import { dwarfSectionsOf } from '../../src/dwarf/sections.js';
import { openElf } from '../../src/elf/elf-file.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../support/go-fixtures.js';
import { buildCFixture, C_DWARF_VERSIONS } from './line-c-fixture.js';

const run = promisify(execFile);

interface OracleFde {
  offset: number;
  lo: number;
  hi: number;
  columns: string[];
  rows: { loc: number; cells: string[] }[];
}

/** Parses `readelf --debug-dump=frames-interp` (-wF): per FDE, its rows of rules. */
function parseFramesInterp(text: string): OracleFde[] {
  const out: OracleFde[] = [];
  let cur: OracleFde | undefined;
  for (const l of text.split('\n')) {
    const head = /^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)$/.exec(
      l,
    );
    if (head) {
      cur = {
        offset: Number.parseInt(head[1]!, 16),
        lo: Number.parseInt(head[2]!, 16),
        hi: Number.parseInt(head[3]!, 16),
        columns: [],
        rows: [],
      };
      out.push(cur);
    } else if (/ CIE /.test(l)) cur = undefined;
    else if (cur && /^\s+LOC\s+CFA/.test(l)) cur.columns = l.trim().split(/\s+/).slice(2);
    else if (cur && /^[0-9a-f]{16} /.test(l)) {
      const [text, ...cells] = l.trim().split(/\s+/);
      const loc = Number.parseInt(text!, 16);
      // readelf prints a row even for DW_CFA_advance_loc 0; the empty range it closes holds no PC.
      if (cur.rows.at(-1)?.loc === loc) cur.rows.pop();
      cur.rows.push({ loc, cells });
    }
  }
  return out;
}

/** Renders a CFA rule the way readelf -wF does ("rsp+8", "exp"). */
function cfaText(rule: CfaRule): string {
  if (rule.kind === 'expression') return 'exp';
  return `${AMD64_REGISTERS.name(rule.register)}${rule.offset >= 0 ? '+' : ''}${rule.offset}`;
}

/** Renders a register rule the way readelf -wF does ("c-8", "u", "s", "v+8", "exp"). */
function ruleText(rule: RegisterRule | undefined): string {
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${n}`;
  switch (rule?.kind) {
    case undefined:
    case 'undefined':
      return 'u';
    case 'same-value':
      return 's';
    case 'offset':
      return `c${signed(rule.offset)}`;
    case 'val-offset':
      return `v${signed(rule.offset)}`;
    case 'register':
      return AMD64_REGISTERS.name(rule.register);
    case 'expression':
      return 'exp';
    case 'val-expression':
      return 'vexp';
  }
}

/** Compares every row of every FDE of .debug_frame with readelf -wF; returns the table and row count. */
async function compareFramesInterp(path: string) {
  const elf = await openElf(path);
  const sections = dwarfSectionsOf(elf);
  assert.ok(sections);
  const cfi = CallFrameTable.parse(sections.frame);
  const { stdout } = await run('readelf', ['-W', '--debug-dump=frames-interp', path], { maxBuffer: 1 << 30 });
  const oracle = parseFramesInterp(stdout.slice(stdout.indexOf('Contents of the .debug_frame section')));
  assert.equal(cfi.fdes.length, oracle.length, 'FDE count');
  const byOffset = new Map(cfi.fdes.map((f) => [f.offset as number, f]));
  let rows = 0;
  for (const o of oracle) {
    const fde = byOffset.get(o.offset);
    assert.ok(fde, `FDE at 0x${o.offset.toString(16)}`);
    assert.deepEqual([fde.lo, fde.hi], [o.lo, o.hi], `FDE 0x${o.offset.toString(16)} range`);
    const ours = cfi.rowsOf(fde);
    rows += ours.length;
    // readelf prints no table for an FDE without instructions: the CIE's rules hold throughout.
    if (o.rows.length === 0) {
      assert.equal(ours.length, 1, `FDE 0x${o.offset.toString(16)} has one row`);
      continue;
    }
    const raColumn = fde.cie.returnAddressRegister;
    const cols = o.columns.map((c) => (c === 'ra' ? raColumn : AMD64_REGISTERS.number(c)));
    const render = ours.map((r) => ({
      loc: r.lo,
      cells: [cfaText(r.cfa), ...cols.map((c) => ruleText(c === undefined ? undefined : r.registers.get(c)))],
    }));
    assert.deepEqual(render, o.rows, `FDE 0x${o.offset.toString(16)} rows`);
    // The lookup path (binary search + partial execution) agrees with the full table.
    for (const r of ours) {
      for (const pc of [r.lo, r.hi - 1]) {
        assert.deepEqual(cfi.cfaRuleAt(pc), r.cfa, `cfaRuleAt 0x${pc.toString(16)}`);
        assert.deepEqual(cfi.returnAddressRuleAt(pc), r.registers.get(raColumn) ?? { kind: 'same-value' });
      }
    }
  }
  return { elf, cfi, rows };
}

for (const v of C_DWARF_VERSIONS) {
  test(`CFI of gcc output agrees with readelf -wF (DWARF ${v}: frame pointer, callee-saved registers)`, async (t) => {
    const fx = await buildCFixture(v);
    if (!fx.path) return t.skip(fx.skip);
    const { cfi } = await compareFramesInterp(fx.path);
    const kinds = new Set(
      cfi.fdes.flatMap((f) => cfi.rowsOf(f).map((r) => (r.cfa.kind === 'register' ? r.cfa.register : -1))),
    );
    assert.ok(kinds.has(6), 'some CFA is rbp-based');
  });
}

for (const tc of GO_TOOLCHAINS) {
  test(`CFA and register rules of every FDE agree with readelf -wF (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const fx = await buildFixture('lines', { toolchain: tc });
    const { elf, cfi, rows } = await compareFramesInterp(fx.path);
    for (const f of cfi.fdes) {
      assert.deepEqual(
        cfi.returnAddressRuleAt(f.lo),
        { kind: 'offset', offset: -8 },
        'Go: return address at CFA-8',
      );
    }
    const main = elf.symbol('main.describe');
    assert.ok(main);
    assert.deepEqual(cfi.cfaRuleAt(main.value), { kind: 'register', register: 7, offset: 8 });
    assert.ok(cfi.fdes.length > 1000 && rows > 3000, `${cfi.fdes.length} FDEs, ${rows} rows`);
    assert.equal(cfi.cfaRuleAt(0x10), undefined);
  });
}

/** Builds a .debug_frame with one CIE and one FDE from instruction bytes. */
function frameSection(cieInsns: number[], fdeInsns: number[], lo = 0x1000, len = 0x100): Uint8Array {
  const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
  const u64 = (n: number) => [...u32(n), 0, 0, 0, 0];
  const cieBody = [...u32(0xffffffff), 3, 0, 1, 0x78 /* daf -8 */, 16, ...cieInsns];
  const fdeBody = [...u32(0), ...u64(lo), ...u64(len), ...fdeInsns];
  return Uint8Array.from([...u32(cieBody.length), ...cieBody, ...u32(fdeBody.length), ...fdeBody]);
}

test('CFA instructions: offsets, restore, remember/restore_state, register, val_offset, expressions', () => {
  const cie = [0x0c, 7, 8, 0x90, 1]; // def_cfa rsp+8; offset r16 at cfa-8
  const fde = [
    0x41, // advance 1
    0x0e,
    16, // def_cfa_offset 16
    0x86,
    2, // rbp at cfa-16
    0x41,
    0x0a, // remember_state
    0x0d,
    6, // def_cfa_register rbp
    0x08,
    3, // rbx same value
    0x09,
    12,
    13, // r12 in r13
    0x14,
    14,
    1, // r14 val_offset cfa-8
    0x07,
    15, // r15 undefined
    0x42,
    0x0b, // restore_state
    0xc6, // restore rbp
    0x10,
    5,
    2,
    0x77,
    0x00, // rdi expression breg7 0
    0x43,
    0x0f,
    1,
    0x9c, // def_cfa_expression call_frame_cfa
  ];
  const cfi = CallFrameTable.parse(frameSection(cie, fde));
  const rows = cfi.rowsOf(cfi.fdes[0]!);
  assert.deepEqual(
    rows.map((r) => [
      r.lo,
      r.hi,
      cfaText(r.cfa),
      ruleText(r.registers.get(6)),
      ruleText(r.registers.get(16)),
    ]),
    [
      [0x1000, 0x1001, 'rsp+8', 'u', 'c-8'],
      [0x1001, 0x1002, 'rsp+16', 'c-16', 'c-8'],
      [0x1002, 0x1004, 'rbp+16', 'c-16', 'c-8'],
      [0x1004, 0x1007, 'rsp+16', 'u', 'c-8'],
      [0x1007, 0x1100, 'exp', 'u', 'c-8'],
    ],
  );
  const mid = rows[2]!.registers;
  assert.deepEqual(
    [3, 12, 14, 15].map((r) => ruleText(mid.get(r))),
    ['s', 'r13', 'v-8', 'u'],
  );
  assert.deepEqual(rows[3]!.registers.get(5), { kind: 'expression', expr: Uint8Array.from([0x77, 0]) });
  assert.equal(cfi.registerRuleAt(0x1003, 12)?.kind, 'register');
  assert.equal(cfi.registerRuleAt(0x1003, 1)?.kind, 'same-value');
});

test('malformed CFI fails with a FormatError', () => {
  const bad: [string, Uint8Array][] = [
    ['truncated operand', frameSection([0x0c, 7], [])],
    ['restore_state without remember', frameSection([0x0c, 7, 8], [0x0b])],
    ['unknown instruction', frameSection([0x0c, 7, 8], [0x3f])],
    ['length past end', Uint8Array.from([0xff, 0, 0, 0, 1, 2])],
  ];
  for (const [name, bytes] of bad) {
    assert.throws(
      () => {
        const cfi = CallFrameTable.parse(bytes);
        for (const f of cfi.fdes) cfi.rowsOf(f);
      },
      FormatError,
      name,
    );
  }
});
