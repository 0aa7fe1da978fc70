import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { DwarfData } from '../../src/dwarf/dwarf-data.js';
import { type DwarfSections, dwarfSectionsOf } from '../../src/dwarf/sections.js';
import { openElf } from '../../src/elf/elf-file.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { prng } from '../../support/prng.js';

/** Uses the reader the way a debugger would; returns how many things it managed to read. */
function exercise(sections: DwarfSections): number {
  let n = 0;
  const d = new DwarfData(sections);
  n += d.units().length;
  d.index();
  for (const name of d.functionNames().slice(0, 40)) {
    const f = d.findFunction(name);
    if (f) n += f.variables.length + f.inlined.length + 1;
    if (f) d.functionAt(f.lowPc);
  }
  for (const name of d.typeNames().slice(0, 80)) {
    const t = d.findType(name);
    if (t) n += (t.fields?.length ?? 0) + 1;
    if (t) d.underlying(t);
  }
  const r = d.reader();
  // A walk of every entry: each next() consumes at least one byte of .debug_info.
  for (let i = 0; i <= sections.info.length; i++) {
    const e = r.next();
    if (e === undefined) break;
    if (e) e.attributes();
    n++;
  }
  return n;
}

function mustFailCleanly(what: string, sections: DwarfSections): void {
  try {
    exercise(sections);
  } catch (e) {
    assert.ok(e instanceof PeriscopeError, `${what}: threw ${e instanceof Error ? e.stack : String(e)}`);
  }
}

test('truncated or corrupted .debug_info / .debug_abbrev raise FormatError or give partial data', async () => {
  const { path } = await buildFixture('hello');
  const base = dwarfSectionsOf(await openElf(path))!;
  const sections: DwarfSections = { ...base };
  assert.ok(exercise(sections) > 1000, 'the intact binary reads');
  const started = Date.now();
  const rnd = prng(42);
  for (const frac of [0, 0.001, 0.1, 0.37, 0.5, 0.9, 0.9999]) {
    const cut = Math.floor(sections.info.length * frac);
    mustFailCleanly(`info cut at ${cut}`, { ...sections, info: sections.info.subarray(0, cut) });
    const acut = Math.floor(sections.abbrev.length * frac);
    mustFailCleanly(`abbrev cut at ${acut}`, { ...sections, abbrev: sections.abbrev.subarray(0, acut) });
  }
  for (let round = 0; round < 40; round++) {
    const target = round % 2 === 0 ? 'info' : 'abbrev';
    const bytes = Uint8Array.from(sections[target]);
    const flips = 1 + Math.floor(rnd() * 20);
    for (let k = 0; k < flips; k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
    mustFailCleanly(`${target} round ${round}`, { ...sections, [target]: bytes });
  }
  for (const empty of ['info', 'abbrev', 'str', 'addr', 'loclists', 'rnglists', 'loc', 'ranges'] as const)
    mustFailCleanly(`empty ${empty}`, { ...sections, [empty]: new Uint8Array(0) });
  assert.ok(Date.now() - started < 120_000, 'corrupt input never hangs the reader');
});

test('a unit whose DIEs are corrupt is skipped; the others stay readable', async () => {
  const { path } = await buildFixture('hello');
  const sections: DwarfSections = { ...dwarfSectionsOf(await openElf(path))! };
  const intact = new DwarfData(sections);
  const units = intact.units();
  const victim = units[Math.floor(units.length / 2)]!;
  const bytes = Uint8Array.from(sections.info);
  // An abbreviation code no table declares, right after the victim's root DIE header.
  bytes.fill(0xff, victim.offset + 12, Math.min(victim.end, victim.offset + 20));
  const d = new DwarfData({ ...sections, info: bytes });
  d.index();
  assert.ok(d.errors.length >= 1, 'the error is kept');
  assert.ok(d.findFunction('main.main'), 'other units still index');
  assert.ok(d.functionCount > intact.functionCount / 2);
});
