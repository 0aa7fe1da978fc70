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
 * Sections are decompressed lazily, on first access.
 */
export function dwarfSectionsOf(elf: ElfFile): DwarfSections | undefined {
  if (!elf.section('.debug_info') && !elf.section('.zdebug_info')) return undefined;
  const get = (name: string) => () => elf.sectionDataByName(name) ?? EMPTY;
  const lazy: Record<keyof DwarfSections, () => Uint8Array> = {
    info: get('.debug_info'),
    abbrev: get('.debug_abbrev'),
    str: get('.debug_str'),
    strOffsets: get('.debug_str_offsets'),
    addr: get('.debug_addr'),
    line: get('.debug_line'),
    lineStr: get('.debug_line_str'),
    loc: get('.debug_loc'),
    loclists: get('.debug_loclists'),
    ranges: get('.debug_ranges'),
    rnglists: get('.debug_rnglists'),
  };
  const out = {} as Record<keyof DwarfSections, Uint8Array>;
  for (const key of Object.keys(lazy) as (keyof DwarfSections)[]) {
    let v: Uint8Array | undefined;
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => {
        v ??= lazy[key]();
        return v;
      },
    });
  }
  return out;
}
