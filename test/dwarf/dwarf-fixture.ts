/** Helpers shared by the .debug_info tests: open a binary's DWARF, find source lines. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DwarfData } from '../../src/dwarf/dwarf-data.js';
import { dwarfSectionsOf } from '../../src/dwarf/sections.js';
import { type ElfFile, openElf } from '../../src/elf/elf-file.js';
import { TESTDATA } from '../../support/go-fixtures.js';

/** Opens a binary and its DWARF (throws when it has none). */
export async function loadDwarf(path: string): Promise<{ elf: ElfFile; dwarf: DwarfData }> {
  const elf = await openElf(path);
  const sections = dwarfSectionsOf(elf);
  if (!sections) throw new Error(`${path} has no DWARF`);
  return { elf, dwarf: new DwarfData(sections) };
}

/** The 1-based line of testdata/<program>/main.go holding `text` (exactly one line must). */
export function sourceLine(program: string, text: string): number {
  const lines = readFileSync(join(TESTDATA, program, 'main.go'), 'utf8').split('\n');
  const hits = lines.flatMap((l, i) => (l.includes(text) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`"${text}" is on ${hits.length} lines of ${program}/main.go`);
  return hits[0]!;
}
