/**
 * Whether a file is a Go program: from its ELF image (the build info section or the Go
 * build ID note), or, before reading the whole file, from its section names alone.
 */
import type { ElfFile } from '../elf/elf-file.js';

/** Whether an ELF image is a Go program (quick check; `openGoSymtab` does the full one). */
export function looksLikeGo(elf: ElfFile): boolean {
  return elf.section('.go.buildinfo') !== undefined || elf.goBuildId() !== undefined;
}

/** Whether these section names belong to a Go executable. */
export function goSections(names: readonly string[]): boolean {
  return (
    names.includes('.go.buildinfo') || names.includes('.note.go.buildid') || names.includes('.gopclntab')
  );
}
