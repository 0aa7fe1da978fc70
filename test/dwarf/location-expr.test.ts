import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ByteReader } from '../../src/common/bytes.js';
import { disassemble } from '../../src/dwarf/location-expr.js';
import { openElf } from '../../src/elf/elf-file.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { buildCFixture, C_DWARF_VERSIONS } from './line-c-fixture.js';

const run = promisify(execFile);

interface OracleExpr {
  where: string;
  bytes: Uint8Array;
  text: string;
  cuOffset?: number;
}

/** Expressions readelf -wi prints with their bytes: "N byte block: 91 68 \t(DW_OP_fbreg: -24)". */
function exprsFromInfo(text: string): OracleExpr[] {
  const out: OracleExpr[] = [];
  let cu = 0;
  for (const l of text.split('\n')) {
    const unit = /Compilation Unit @ offset (0x[0-9a-f]+):/.exec(l);
    if (unit) cu = Number.parseInt(unit[1]!, 16);
    const m =
      /^\s+<([0-9a-f]+)>\s+(DW_AT_\w+)\s*: (?:\(\w+\) )?(\d+) byte block: ([0-9a-f ]*)\t\((DW_OP.*|)\)\s*$/.exec(
        l,
      );
    if (!m) continue;
    const bytes = Uint8Array.from(
      m[4]!
        .trim()
        .split(' ')
        .filter((x) => x !== '')
        .map((x) => Number.parseInt(x, 16)),
    );
    assert.equal(bytes.length, Number(m[3]), `block length at <${m[1]}>`);
    out.push({ where: `.debug_info <${m[1]}> ${m[2]}`, bytes, text: m[5]!, cuOffset: cu });
  }
  return out;
}

/** Expressions readelf -wo prints; their bytes are found by decoding the entry at the printed offset. */
function exprsFromLoc(text: string, loclists: Uint8Array, loc: Uint8Array): OracleExpr[] {
  const out: OracleExpr[] = [];
  let dwarf5 = false;
  let offset = -1;
  for (const l of text.split('\n')) {
    if (l.includes('.debug_loclists section')) dwarf5 = true;
    if (l.includes('.debug_loc section')) dwarf5 = false;
    const off = /^\s{4}([0-9a-f]{8}) /.exec(l);
    if (off) offset = Number.parseInt(off[1]!, 16);
    const m = /\((DW_OP.*|)\)\s*$/.exec(l.replace(/ \(start [=>]+ end\)\s*$/, ''));
    if (!m || l.includes('(base address)')) continue;
    const bytes = dwarf5 ? loclistsEntryExpr(loclists, offset) : locEntryExpr(loc, offset);
    out.push({
      where: `${dwarf5 ? '.debug_loclists' : '.debug_loc'} 0x${offset.toString(16)}`,
      bytes,
      text: m[1]!,
    });
  }
  return out;
}

/** The expression of the DWARF 5 location-list entry at `offset` (DW_LLE_* with a location). */
function loclistsEntryExpr(sec: Uint8Array, offset: number): Uint8Array {
  const r = new ByteReader(sec, '.debug_loclists', offset);
  const kind = r.u8();
  if (kind === 2 || kind === 3 || kind === 4) {
    r.uleb();
    r.uleb();
  } else if (kind === 7) r.skip(16);
  else if (kind === 8) {
    r.skip(8);
    r.uleb();
  } else if (kind !== 5)
    assert.fail(`no expression in DW_LLE 0x${kind.toString(16)} at 0x${offset.toString(16)}`);
  return r.take(r.uleb());
}

/** The expression of the DWARF 4 .debug_loc entry at `offset`. */
function locEntryExpr(sec: Uint8Array, offset: number): Uint8Array {
  const r = new ByteReader(sec, '.debug_loc', offset + 16);
  return r.take(r.u16());
}

async function compareWithReadelf(path: string): Promise<{ count: number; ops: Set<string> }> {
  const elf = await openElf(path);
  const loclists = elf.sectionDataByName('.debug_loclists') ?? new Uint8Array();
  const loc = elf.sectionDataByName('.debug_loc') ?? new Uint8Array();
  const opts = { maxBuffer: 1 << 30 };
  const info = await run('readelf', ['-W', '--debug-dump=info', path], opts);
  const lists = await run('readelf', ['-W', '--debug-dump=loc', path], opts);
  const all = [...exprsFromInfo(info.stdout), ...exprsFromLoc(lists.stdout, loclists, loc)];
  const ops = new Set<string>();
  for (const e of all) {
    const ours = disassemble(e.bytes, e.cuOffset === undefined ? {} : { cuOffset: e.cuOffset });
    // .debug_loc(lists) entries do not say their unit: readelf adds an offset we cannot know there.
    const norm = (s: string) => (e.cuOffset === undefined ? s.replace(/<0x[0-9a-f]+>/g, '<T>') : s);
    assert.equal(norm(ours), norm(e.text), `${e.where}: ${Buffer.from(e.bytes).toString('hex')}`);
    for (const m of e.text.matchAll(/DW_OP_\w+/g)) ops.add(m[0]);
  }
  return { count: all.length, ops };
}

for (const tc of GO_TOOLCHAINS) {
  test(`disassemble agrees with readelf for every location expression (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const fx = await buildFixture('lines', { toolchain: tc });
    const { count, ops } = await compareWithReadelf(fx.path);
    assert.ok(count > 10_000, `${count} expressions compared`);
    for (const op of ['DW_OP_call_frame_cfa', 'DW_OP_fbreg', 'DW_OP_piece', 'DW_OP_reg0', 'DW_OP_addr']) {
      assert.ok(ops.has(op), `the fixture exercises ${op}`);
    }
  });
}

for (const v of C_DWARF_VERSIONS) {
  test(`disassemble agrees with readelf for gcc -O2 expressions (DWARF ${v})`, async (t) => {
    const fx = await buildCFixture(v);
    if (!fx.path) return t.skip(fx.skip);
    const { count, ops } = await compareWithReadelf(fx.path);
    assert.ok(count > 40, `${count} expressions compared`);
    for (const op of ['DW_OP_breg7', 'DW_OP_stack_value', 'DW_OP_const1u', 'DW_OP_shra', 'DW_OP_consts']) {
      assert.ok(ops.has(op), `the fixture exercises ${op}`);
    }
    assert.ok(ops.has(v === 5 ? 'DW_OP_entry_value' : 'DW_OP_GNU_entry_value'), 'entry values');
  });
}
