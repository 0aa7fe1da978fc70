import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { AT, FORM, TAG } from '../../src/dwarf/constants.js';
import type { Die } from '../../src/dwarf/die.js';
import type { DwarfData } from '../../src/dwarf/dwarf-data.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { loadDwarf } from './dwarf-fixture.js';

const run = promisify(execFile);

/** One line of readelf's list dumps: its offset and begin/end (or base index / address). */
interface Row {
  offset: number;
  kind: 'pair' | 'basex' | 'base' | 'end';
  a: number;
  b: number;
}

/** Parses readelf --debug-dump=loc / =Ranges into lists keyed by the offset of their first entry. */
function parseLists(text: string): Map<number, Row[]> {
  const lists = new Map<number, Row[]>();
  let cur: Row[] | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s+([0-9a-f]{8}) (.*)$/.exec(line);
    if (!m) continue;
    const offset = Number.parseInt(m[1]!, 16);
    const rest = m[2]!;
    if (!cur) {
      cur = [];
      lists.set(offset, cur);
    }
    let row: Row;
    const hex = [...rest.matchAll(/\b([0-9a-f]{16})\b/g)].map((x) => Number.parseInt(x[1]!, 16));
    if (rest.startsWith('<End of list>')) row = { offset, kind: 'end', a: 0, b: 0 };
    else if (/index into \.debug_addr|base address index/.test(rest))
      row = { offset, kind: 'basex', a: hex[0]!, b: 0 };
    else if (/\(base address\)/.test(rest)) row = { offset, kind: 'base', a: hex[1]!, b: 0 };
    else row = { offset, kind: 'pair', a: hex[0]!, b: hex[1]! };
    cur.push(row);
    if (row.kind === 'end') cur = undefined;
  }
  return lists;
}

/**
 * objdump --dwarf=addr's first table. Go writes one .debug_addr table (one header) whose
 * slices the units share through DW_AT_addr_base; binutils expects a header per unit, so only
 * its first listing (the whole table, from the first unit's base) is meaningful.
 */
function parseAddr(text: string): number[] {
  const out: number[] = [];
  let tables = 0;
  for (const line of text.split('\n')) {
    if (/For compilation unit at offset/.test(line) && ++tables > 1) break;
    const e = /^\s+(\d+):\s+([0-9a-f]+)/.exec(line);
    if (e) out[Number(e[1])] = Number.parseInt(e[2]!, 16);
  }
  return out;
}

function ulebSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** The DIEs below a DIE, depth first. */
function descendants(dwarf: DwarfData, die: Die, out: Die[] = []): Die[] {
  for (const c of dwarf.children(die)) {
    out.push(c);
    descendants(dwarf, c, out);
  }
  return out;
}

for (const tc of GO_TOOLCHAINS) {
  test(`location lists and ranges of main.* agree with readelf (${tc})`, async (t) => {
    const reason = await toolchainUnavailable(tc);
    if (reason) return t.skip(reason);
    const { path, goVersion } = await buildFixture('types', { toolchain: tc });
    const { dwarf } = await loadDwarf(path);
    const v5 = dwarf.version >= 5;
    const dump = async (what: string) =>
      (await run('readelf', [`--debug-dump=${what}`, path], { maxBuffer: 1 << 28 })).stdout;
    const locs = parseLists(await dump('loc'));
    const ranges = parseLists(await dump('Ranges'));
    // readelf 2.40 rejects Go's .debug_addr header; objdump (same binutils, independent code path) reads it.
    const addrDump = v5 ? (await run('objdump', ['--dwarf=addr', path], { maxBuffer: 1 << 28 })).stdout : '';
    const addrs = parseAddr(addrDump);
    let checkedLoc = 0;
    let checkedRanges = 0;
    const mains = dwarf.functionNames().filter((n) => n.startsWith('main.'));
    for (const name of mains) {
      const f = dwarf.findFunction(name)!;
      const fdie = dwarf.dieAt(f.offset);
      for (const die of [fdie, ...descendants(dwarf, fdie)]) {
        const first = (dwarf.units()[0]?.bases.addr ?? 8) / 8;
        const table = addrs.slice(die.unit.bases.addr / 8 - first);
        const rv = die.value(AT.ranges);
        // binutils 2.40 stops after the first list of Go's .debug_rnglists: v5 ranges are checked below.
        if (typeof rv === 'number' && !v5) {
          const rows = ranges.get(rv);
          assert.ok(rows, `readelf has the range list at 0x${rv.toString(16)}`);
          const expected: { low: number; high: number }[] = [];
          let base = 0;
          for (const r of rows) {
            if (r.kind === 'basex') base = table[r.a]!;
            else if (r.kind === 'base') base = r.a;
            else if (r.kind === 'pair') {
              const [low, high] = v5 ? [base + r.a, base + r.b] : [r.a, r.b];
              if (high > low) expected.push({ low, high });
            }
          }
          const got = dwarf.ranges(die, rv, die.form(AT.ranges)!);
          assert.deepEqual(got, expected, `${name}: ranges at 0x${rv.toString(16)} (${goVersion})`);
          checkedRanges++;
        }
        if (die.tag !== TAG.formal_parameter && die.tag !== TAG.variable) continue;
        const form = die.form(AT.location);
        if (form !== FORM.sec_offset && form !== FORM.loclistx) continue;
        const lv = die.value(AT.location) as number;
        const rows = locs.get(lv);
        assert.ok(rows, `readelf has the location list at 0x${lv.toString(16)}`);
        const expected: { low: number; high: number; len: number }[] = [];
        let base = 0;
        for (let i = 0; i < rows.length; i++) {
          const r = rows[i]!;
          if (r.kind === 'basex') base = table[r.a]!;
          else if (r.kind === 'base') base = r.a;
          else if (r.kind === 'pair') {
            const size = rows[i + 1]!.offset - r.offset;
            // v4: two addresses and a 2-byte length; v5 offset pair: kind, two ULEBs, ULEB length.
            const len = v5 ? size - 1 - ulebSize(r.a) - ulebSize(r.b) : size - 18;
            expected.push(v5 ? { low: base + r.a, high: base + r.b, len } : { low: r.a, high: r.b, len });
          }
        }
        const got = dwarf.locationList(die, lv, form).map((e) => ({
          low: e.low as number,
          high: e.high as number,
          len: e.expr.length + (v5 ? ulebSize(e.expr.length) : 0),
        }));
        assert.deepEqual(got, expected, `${name}: location list at 0x${lv.toString(16)} (${goVersion})`);
        checkedLoc++;
      }
    }
    assert.ok(checkedLoc > 20, `checked ${checkedLoc} location lists`);
    assert.ok(v5 || checkedRanges > 3, `checked ${checkedRanges} range lists`);
  });

  test(`every range list of the main unit agrees with Go's debug/dwarf (${tc})`, async (t) => {
    const reason = await toolchainUnavailable(tc);
    if (reason) return t.skip(reason);
    const { path, goVersion } = await buildFixture('types', { toolchain: tc });
    const oracle = await buildFixture('types/dwarfranges');
    const expected = JSON.parse((await run(oracle.path, [path], { maxBuffer: 1 << 28 })).stdout) as Record<
      string,
      [number, number][]
    >;
    const { dwarf } = await loadDwarf(path);
    const offsets = Object.keys(expected);
    assert.ok(offsets.length > 5, 'the main unit has range lists');
    for (const key of offsets) {
      const die = dwarf.dieAt(Number(key) as never);
      const got = dwarf.ranges(die, die.value(AT.ranges) as number, die.form(AT.ranges)!);
      assert.deepEqual(
        got.map((r) => [r.low, r.high]),
        expected[key],
        `ranges of DIE 0x${Number(key).toString(16)} (${goVersion})`,
      );
    }
  });
}
