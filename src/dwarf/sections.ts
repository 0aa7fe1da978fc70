import type { Brand } from '../common/address.js';
import type { ElfFile } from '../elf/elf-file.js';

/** Offsets typed per section, so that an offset into one section cannot index another. */
export type InfoOffset = Brand<number, 'InfoOffset'>;
export type AbbrevOffset = Brand<number, 'AbbrevOffset'>;
export type LineOffset = Brand<number, 'LineOffset'>;

/** The raw (decompressed) DWARF sections of one binary; a missing section is an empty array. */
export interface DwarfSections {
  readonly info: Uint8Array;
  readonly abbrev: Uint8Array;
  readonly str: Uint8Array;
  readonly strOffsets: Uint8Array;
  readonly addr: Uint8Array;
  readonly line: Uint8Array;
  readonly lineStr: Uint8Array;
  readonly loc: Uint8Array;
  readonly loclists: Uint8Array;
  readonly ranges: Uint8Array;
  readonly rnglists: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * The DWARF sections of an ELF file, or undefined when it has no .debug_info (stripped).
 * Each access asks the ElfFile, which reads (and decompresses) a section on first use and
 * keeps it until it is dropped (see `LIST_SECTIONS`).
 */
export function dwarfSectionsOf(elf: ElfFile): DwarfSections | undefined {
  if (!elf.section('.debug_info') && !elf.section('.zdebug_info')) return undefined;
  const out = {} as Record<keyof DwarfSections, Uint8Array>;
  for (const [key, name] of Object.entries(SECTION_NAMES) as [keyof DwarfSections, string][]) {
    Object.defineProperty(out, key, { enumerable: true, get: () => elf.sectionDataByName(name) ?? EMPTY });
  }
  return out;
}

/** The section each field of DwarfSections is read from. */
const SECTION_NAMES: Record<keyof DwarfSections, string> = {
  info: '.debug_info',
  abbrev: '.debug_abbrev',
  str: '.debug_str',
  strOffsets: '.debug_str_offsets',
  addr: '.debug_addr',
  line: '.debug_line',
  lineStr: '.debug_line_str',
  loc: '.debug_loc',
  loclists: '.debug_loclists',
  ranges: '.debug_ranges',
  rnglists: '.debug_rnglists',
};

/**
 * Sections read only while functions are compiled (their variables' locations and ranges):
 * what they describe is copied into the FunctionInfo that needs it, so they can be dropped
 * after a prepare and read again by the next one.
 */
export const LIST_SECTIONS: readonly string[] = [
  '.debug_loc',
  '.debug_loclists',
  '.debug_ranges',
  '.debug_rnglists',
];
