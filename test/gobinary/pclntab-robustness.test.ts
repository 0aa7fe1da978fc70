import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LinkAddress, linkAddr } from '../../src/common/address.js';
import { PeriscopeError } from '../../src/common/errors.js';
import { openElf } from '../../src/elf/elf-file.js';
import { InlineExpander } from '../../src/gobinary/inline-tree.js';
import { findFuncdataBase } from '../../src/gobinary/moduledata.js';
import { Pclntab } from '../../src/gobinary/pclntab.js';
import { locatePclntab, parsePclnHeader } from '../../src/gobinary/pclntab-header.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { prng } from '../../support/prng.js';

/** Runs every query on a (possibly damaged) table; returns the error if one was thrown. */
function exercise(
  data: Uint8Array,
  address: LinkAddress,
  base: LinkAddress,
  pcs: LinkAddress[],
  read: (a: LinkAddress, n: number) => Uint8Array,
): unknown {
  try {
    const pcln = new Pclntab({ data, address, source: 'section' });
    pcln.functions();
    const inline = new InlineExpander(pcln, base, read);
    for (const pc of pcs) {
      pcln.lineForPC(pc);
      pcln.spDeltaAt(pc);
      inline.framesAt(pc);
    }
    return undefined;
  } catch (e) {
    return e;
  }
}

test('damaged pclntab bytes give FormatError or PeriscopeError, never a crash or a hang', async () => {
  const { path } = await buildFixture('inlining');
  const elf = await openElf(path);
  const loc = locatePclntab(elf)!;
  const good = new Pclntab(loc);
  const base = findFuncdataBase(elf, good)!.address;
  const read = (a: LinkAddress, n: number) => elf.readAt(a, n);
  const rand = prng(1234);
  const fns = good.functions();
  const pcs = Array.from({ length: 40 }, () => {
    const f = fns[Math.floor(rand() * fns.length)]!;
    return linkAddr(f.entry + Math.floor(rand() * (f.end - f.entry)));
  });
  assert.equal(exercise(loc.data, loc.address, base, pcs, read), undefined, 'the intact table works');

  const check = (data: Uint8Array, what: string) => {
    const err = exercise(data, loc.address, base, pcs, read);
    if (err !== undefined)
      assert.ok(err instanceof PeriscopeError, `${what}: ${(err as Error).stack ?? String(err)}`);
    return err;
  };
  // Truncations, including inside the header and the function table.
  const h = parsePclnHeader(loc.data);
  const cuts = [0, 3, 8, 40, 71, 72, h.funcnameOffset + 10, h.pctabOffset + 100, h.pclnOffset + 20];
  cuts.push(loc.data.length - 1, Math.floor(loc.data.length / 2));
  let failed = 0;
  for (const n of cuts) if (check(loc.data.subarray(0, n), `truncated to ${n}`)) failed++;
  assert.ok(failed >= cuts.length - 1, 'truncation is noticed');

  // Random damage: a few bytes at a time in each region of the table.
  const regions: [string, number, number][] = [
    ['header', 0, 72],
    ['funcnametab', h.funcnameOffset, h.cuOffset],
    ['cutab', h.cuOffset, h.filetabOffset],
    ['pctab', h.pctabOffset, h.pclnOffset],
    ['functab', h.pclnOffset, loc.data.length],
  ];
  for (const [name, lo, hi] of regions) {
    for (let trial = 0; trial < 60; trial++) {
      const copy = Uint8Array.from(loc.data);
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++)
        copy[lo + Math.floor(rand() * (hi - lo))] = Math.floor(rand() * 256);
      check(copy, `${name} trial ${trial}`);
    }
  }
  // Every pc-value table byte set to 0xff: varints that never end must be caught.
  const ff = Uint8Array.from(loc.data);
  ff.fill(0xff, h.pctabOffset, h.pclnOffset);
  assert.ok(check(ff, 'pctab all 0xff') instanceof PeriscopeError);
});
