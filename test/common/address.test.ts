/**
 * The two kinds of address stay apart: a runtime address where a link-time one is wanted (or
 * the other way round) does not compile, and a LoadBias is how one becomes the other. The
 * `@ts-expect-error` lines are the check: should a mix compile again, the build fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Address,
  addr,
  type LinkAddress,
  LoadBias,
  linkAddr,
  NO_BIAS,
} from '../../src/common/address.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { buildFixture } from '../../support/go-fixtures.js';

test('a LoadBias converts between the two kinds, both ways', () => {
  const bias = new LoadBias(0x5555_0000_0000);
  const link = linkAddr(0x49_f840);
  const runtime: Address = bias.toRuntime(link);
  assert.equal(runtime, 0x5555_0049_f840);
  const back: LinkAddress = bias.toLink(runtime);
  assert.equal(back, link);
  assert.equal(NO_BIAS.toRuntime(link), link);
});

test('pc lookups in the binary take link-time addresses only', async () => {
  const { path } = await buildFixture('spinloop', { flags: ['-buildmode=pie'] });
  const bin = await GoBinary.open(path);
  const spin = bin.symtab.pcln.funcByName('main.spin')!;
  const bias = new LoadBias(0x5555_0000_0000);
  const pc = bias.toRuntime(spin.entry); // where a thread of a PIE process would be
  assert.equal(bin.symtab.pcln.funcForPC(bias.toLink(pc))?.name, 'main.spin');
  // @ts-expect-error a runtime pc is not a link-time one
  assert.equal(bin.symtab.pcln.funcForPC(pc), undefined);
  // @ts-expect-error nor is a bare number
  bin.symtab.pcln.funcForPC(0x49_f840);
  // @ts-expect-error the binary's addresses are not where memory is read in a process
  const readAt: Address = spin.entry;
  // @ts-expect-error a frame's pc does not index the line table
  bin.lineForPC(addr(pc));
  assert.ok(readAt);
});
