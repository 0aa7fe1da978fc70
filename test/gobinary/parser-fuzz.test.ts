/**
 * Robustness of the binary parsers: a Go executable with random bytes changed in one of the
 * sections Periscope parses (DWARF, the pclntab, the build info) must either still load or fail
 * with a PeriscopeError that names the problem — never a TypeError, a RangeError, a hang or an
 * allocation of gigabytes. A target's binary on disk is outside our control (a partial
 * deployment, a corrupted image), and one bad binary must not take down the agent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkAddr } from '../../src/common/address.js';
import { PeriscopeError } from '../../src/common/errors.js';
import { openElf } from '../../src/elf/elf-file.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { buildFixture } from '../../support/go-fixtures.js';

/** Sections worth mutating: everything the loader and the unwinder parse from the file. */
const TARGETS = [
  '.debug_info',
  '.debug_abbrev',
  '.debug_line',
  '.debug_str',
  '.debug_ranges',
  '.debug_rnglists',
  '.debug_loc',
  '.debug_loclists',
  '.debug_addr',
  '.gopclntab',
  '.go.buildinfo',
  '.note.go.buildid',
];

/** A small deterministic PRNG (mulberry32), so a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uses every parser a snapshot or `inspect` would: functions, lines, DWARF functions and types, the runtime layout. */
async function exercise(path: string): Promise<void> {
  const bin = await GoBinary.open(path);
  void bin.goVersion;
  void bin.buildId;
  const fns = bin.symtab.pcln.functions();
  for (const f of fns) {
    if (!f.name.startsWith('main.') && f.index % 25 !== 0) continue;
    const g = bin.symtab.pcln.funcAt(f.index);
    bin.lineForPC(g.entry);
    bin.symtab.pcln.funcForPC(linkAddr(Number(g.entry) + 1));
  }
  if (!bin.dwarf) return;
  for (const name of bin.dwarf.functionNames()) {
    if (!name.startsWith('main.') && !name.startsWith('runtime.g')) continue;
    bin.findFunction(name);
  }
  for (const name of bin.dwarf.typeNames()) {
    if (!name.startsWith('main.') && !name.startsWith('runtime.')) continue;
    const t = bin.findType(name);
    if (t) bin.dwarf.underlying(t);
  }
  bin.runtimeLayout();
  bin.waitReasons();
}

test('a Go binary with random bytes changed in a parsed section loads or fails with a PeriscopeError, never a crash', async () => {
  // Uncompressed DWARF, so that a changed byte reaches the DWARF parsers rather than zlib.
  const { path } = await buildFixture('hello', { flags: ['-ldflags=-compressdwarf=false'] });
  const original = readFileSync(path);
  const elf = await openElf(path);
  const sections = elf.sections.filter(
    (s) => TARGETS.includes(s.name) && s.size > 0 && s.type !== 8 /* NOBITS */,
  );
  assert.ok(sections.length >= 6, `expected the parsed sections, found ${sections.map((s) => s.name)}`);
  await exercise(path); // the unchanged binary loads

  const dir = mkdtempSync(join(tmpdir(), 'periscope-fuzz-'));
  const failures: string[] = [];
  let loaded = 0;
  let refused = 0;
  const TRIALS = 120;
  try {
    for (let seed = 1; seed <= TRIALS; seed++) {
      const rand = rng(seed);
      const sec = sections[seed % sections.length]!;
      const bytes = Buffer.from(original);
      const flips = 1 + Math.floor(rand() * 8);
      // Half the trials change bytes near the start of the section (headers, the first unit),
      // where one byte decides lengths and offsets; the rest anywhere in it.
      const span = seed % 2 === 0 ? Math.min(sec.size, 256) : sec.size;
      for (let i = 0; i < flips; i++) {
        const at = Number(sec.offset) + Math.floor(rand() * span);
        bytes[at] = rand() < 0.3 ? 0xff : Math.floor(rand() * 256);
      }
      const file = join(dir, `fuzz-${seed}`);
      writeFileSync(file, bytes);
      try {
        await exercise(file);
        loaded++;
      } catch (e) {
        if (e instanceof PeriscopeError) {
          refused++;
          if (process.env.FUZZ_VERBOSE) console.log(`seed ${seed} ${sec.name}: ${e.message.slice(0, 150)}`);
        } else
          failures.push(
            `seed ${seed} (${sec.name}, ${flips} bytes): ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`,
          );
      }
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(failures, [], `${failures.length} of ${TRIALS} changed binaries crashed a parser`);
  // Both outcomes happen: the sweep really reaches the parsers and is not all refused at the door.
  assert.ok(loaded > 0 && refused > 0, `loaded ${loaded}, refused ${refused}`);
});
