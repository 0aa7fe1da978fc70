/**
 * What is costly to learn about a Go binary and true of every copy of its bytes: the DWARF
 * name index, the line index, the runtime layout, the wait-reason strings and the symbols
 * looked up. A GoBinary gives what it learned (`facts()`); one opened from the same bytes
 * later starts from them (`GoBinary.fromElf(elf, facts)`), which is what makes a second
 * one-shot command on a large binary start at once (snapshot/binary-disk-cache.ts stores them).
 */

import type { LineIndexData } from '../dwarf/line-index.js';
import type { NameIndex } from '../dwarf/name-index.js';
import type { DwarfSections } from '../dwarf/sections.js';
import type { ElfSymbol } from '../elf/elf-file.js';
import type { RuntimeLayout } from './runtime-layout.js';

/** Facts to start a GoBinary from. */
export interface BinaryFacts {
  /** The DWARF name index over the binary's sections (given them, as its names stay there). */
  readonly nameIndex?: (sections: DwarfSections) => NameIndex;
  readonly lines?: LineIndexData;
  readonly runtimeLayout?: RuntimeLayout;
  readonly waitReasons?: readonly string[];
  /** Symbols looked up by name, and the answer (null: absent). */
  readonly symbols?: ReadonlyMap<string, ElfSymbol | null>;
}

/** What a GoBinary has learned so far; a part not learned yet is undefined. */
export interface LearnedFacts {
  readonly nameIndex: NameIndex | undefined;
  readonly lines: LineIndexData | undefined;
  readonly runtimeLayout: RuntimeLayout | undefined;
  readonly waitReasons: readonly string[] | undefined;
  readonly symbols: ReadonlyMap<string, ElfSymbol | null>;
}
