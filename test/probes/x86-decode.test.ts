/**
 * The x86-64 decoder against two disassemblers on real binaries: every instruction boundary
 * of every Go function (several toolchains) must match `go tool objdump` (binutils where Go's
 * disassembler prints '?'), every boundary of gcc's C functions in a cgo binary must match
 * binutils' `objdump -d`, and the kind of every instruction must match binutils' mnemonic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex } from '../../src/common/address.js';
import { type ElfFile, openElf } from '../../src/elf/elf-file.js';
import { openGoSymtab } from '../../src/gobinary/pclntab-open.js';
import { instructionKind } from '../../src/probes/x86/classify.js';
import { decodeCode } from '../../src/probes/x86/code.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../support/go-fixtures.js';
import { ensureGoTool, STRINGER } from '../../support/go-tools.js';
import { addressesIn, type BinutilsListing, binutilsListing, goObjdump } from './x86-oracle.js';

const STT_FUNC = 2;

interface Tally {
  functions: number;
  cFunctions: number;
  instructions: number;
  byEncoding: Map<string, number>;
  /** Functions where go tool objdump printed '?' or disagreed with binutils. */
  goObjdumpWrong: number;
}

/** Entries of functions holding VEX/EVEX code (filled by decoded()). */
const hasVex = new Set<number>();

/** Compares one binary; returns the first mismatches (empty when all agree). */
async function compareBinary(path: string, tally: Tally): Promise<string[]> {
  const elf = await openElf(path);
  const { pcln } = openGoSymtab(elf);
  const [goFns, bin] = await Promise.all([goObjdump(path), binutilsListing(path)]);
  const bad: string[] = [];
  for (const f of pcln.functions()) {
    const code = elf.readAt(f.entry, f.end - f.entry);
    const ours = decoded(elf, f.entry, code.length, tally, bin, bad, f.name);
    const theirs = goFns.get(f.entry);
    if (!theirs) {
      bad.push(`${f.name}: go tool objdump lists no function at ${hex(f.entry)}`);
      continue;
    }
    // Go's disassembler (golang.org/x/arch) lacks AVX-512 and misreads some VEX code (c5 f9 ef
    // as OUTL, then loses its way without a '?'): where it disagrees with binutils, binutils is
    // the oracle, and the function must hold VEX/EVEX code that explains why.
    const binList = addressesIn(bin.addresses, f.entry, theirs.end);
    const goRight = !theirs.unknown && sameList(theirs.addresses, binList);
    const mine = ours.filter((a) => a < theirs.end);
    if (!sameList(mine, binList)) bad.push(`${f.name}: ${firstDifference(mine, binList)}`);
    if (!goRight) {
      tally.goObjdumpWrong++;
      if (!hasVex.has(f.entry))
        bad.push(`${f.name}: go tool objdump disagrees with binutils, no VEX/EVEX code here`);
    }
    tally.functions++;
  }
  // C functions (cgo): ELF function symbols outside the Go function table.
  for (const s of elf.symbols()) {
    if (s.type !== STT_FUNC || s.size === 0 || pcln.funcIndexForPC(s.value) >= 0) continue;
    if (!elf.segmentForAddress(s.value)) continue;
    const ours = decoded(elf, s.value, s.size, tally, bin, bad, s.name);
    const expected = addressesIn(bin.addresses, s.value, s.value + s.size);
    if (!sameList(ours, expected)) bad.push(`C ${s.name}: ${firstDifference(ours, expected)}`);
    tally.cFunctions++;
  }
  return bad.slice(0, 10);
}

/** Decodes [start, start+size) and checks each instruction's kind against binutils' mnemonic. */
function decoded(
  elf: ElfFile,
  start: number,
  size: number,
  tally: Tally,
  bin: BinutilsListing,
  bad: string[],
  name: string,
): number[] {
  const code = decodeCode(elf.readAt(start as never, size), start as never);
  if (code.failure) bad.push(`${name}: ${code.failure.error}`);
  for (const { address, insn } of code.instructions) {
    tally.instructions++;
    const enc = insn.encoding === 'legacy' ? `map${insn.map}` : `${insn.encoding}-map${insn.map}`;
    tally.byEncoding.set(enc, (tally.byEncoding.get(enc) ?? 0) + 1);
    if (insn.encoding !== 'legacy') hasVex.add(start);
    const theirKind = bin.kinds.get(address);
    if (theirKind !== undefined && theirKind !== instructionKind(insn) && bad.length < 10)
      bad.push(`${name} ${hex(address)}: kind ${instructionKind(insn)}, binutils says ${theirKind}`);
  }
  return code.instructions.map((i) => i.address);
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function firstDifference(ours: readonly number[], theirs: readonly number[]): string {
  const n = Math.min(ours.length, theirs.length);
  for (let i = 0; i < n; i++)
    if (ours[i] !== theirs[i]) return `ours ${hex(ours[i]!)} vs theirs ${hex(theirs[i]!)} (instruction ${i})`;
  return `ours has ${ours.length} instructions, theirs ${theirs.length}`;
}

function newTally(): Tally {
  return { functions: 0, cFunctions: 0, instructions: 0, byEncoding: new Map(), goObjdumpWrong: 0 };
}

test('every Go function of a fixture, built by each toolchain, decodes as go tool objdump sees it', async (t) => {
  for (const toolchain of GO_TOOLCHAINS) {
    const why = await toolchainUnavailable(toolchain);
    if (why) {
      t.diagnostic(`skipped ${toolchain}: ${why}`);
      continue;
    }
    const { path } = await buildFixture('hello', { toolchain });
    const tally = newTally();
    assert.deepEqual(await compareBinary(path, tally), [], toolchain);
    assert.ok(tally.functions > 1000, `${toolchain}: ${tally.functions} functions`);
    // The runtime's memmove/memclr/indexbyte use VEX (AVX2) and EVEX (AVX-512) code.
    assert.ok((tally.byEncoding.get('vex-map1') ?? 0) > 0, `${toolchain}: VEX instructions seen`);
    t.diagnostic(
      `${toolchain}: ${tally.functions} functions (${tally.goObjdumpWrong} where go tool objdump is wrong), ${tally.instructions} instructions`,
    );
  }
});

test('a cgo binary: Go functions, the standard library assembly, and gcc functions all agree', async (t) => {
  const { path } = await buildFixture('x86zoo', { env: { CGO_ENABLED: '1' } });
  // An externally linked binary starts .text with gcc's code: the Go table must start at runtime.text.
  const elf = await openElf(path);
  assert.equal(openGoSymtab(elf).pcln.textStart, elf.symbol('runtime.text')?.value, 'pclntab text start');
  const tally = newTally();
  assert.deepEqual(await compareBinary(path, tally), []);
  assert.ok(tally.cFunctions >= 2, `${tally.cFunctions} C functions`);
  for (const enc of [
    'map0',
    'map1',
    'map2',
    'map3',
    'vex-map1',
    'vex-map2',
    'vex-map3',
    'evex-map1',
    'evex-map2',
  ])
    assert.ok((tally.byEncoding.get(enc) ?? 0) > 0, `${enc} seen (${[...tally.byEncoding]})`);
  t.diagnostic(`${tally.functions} Go + ${tally.cFunctions} C functions, ${tally.instructions} instructions`);
});

test('a real binary with module dependencies (stringer) decodes as go tool objdump sees it', async (t) => {
  const { path } = await ensureGoTool(STRINGER);
  const tally = newTally();
  assert.deepEqual(await compareBinary(path, tally), []);
  t.diagnostic(`${tally.functions} functions, ${tally.instructions} instructions`);
});
