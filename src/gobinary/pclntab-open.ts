/**
 * Opening the Go symbol information of an ELF file: locate and index the pclntab, find
 * the funcdata base, and wire up inline expansion; a clear 'not-go' error when the file
 * is not a Go program at all.
 */
import type { Address } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { readBuildInfo } from './buildinfo.js';
import { type FuncdataBase, findFuncdataBase } from './funcdata-base.js';
import { type InlinedFrame, InlineExpander } from './inline-tree.js';
import { Pclntab } from './pclntab.js';
import { locatePclntab } from './pclntab-header.js';

/** A binary's pclntab with inline expansion ready to use. */
export interface GoSymtab {
  readonly pcln: Pclntab;
  readonly inline: InlineExpander;
  /** go:func.*; undefined if neither the symbol nor the moduledata could be found. */
  readonly funcdataBase: FuncdataBase | undefined;
  /** Where the pclntab was found. */
  readonly source: 'section' | 'symbol' | 'scan';
  /** Logical frames at pc, innermost first (see InlineExpander.framesAt). */
  inlinedFramesAt(pc: number): InlinedFrame[];
}

/** Loads the pclntab of a Go binary; throws PeriscopeError('not-go') when it has none. */
export function openGoSymtab(elf: ElfFile): GoSymtab {
  const loc = locatePclntab(elf);
  if (!loc) throw notGo(elf);
  const pcln = new Pclntab(loc, loc.data.length > 0 ? textStartFor(elf, loc.data) : undefined);
  const funcdataBase = findFuncdataBase(elf, pcln);
  const inline = new InlineExpander(pcln, funcdataBase?.address, (a, n) => elf.readAt(a, n));
  return {
    pcln,
    inline,
    funcdataBase,
    source: loc.source,
    inlinedFramesAt: (pc) => inline.framesAt(pc),
  };
}

/** The 'not-go' error for a file with neither Go build info nor a pclntab. */
export function notGo(elf: ElfFile): PeriscopeError {
  const hasBuildInfo = safely(() => readBuildInfo(elf) !== undefined);
  const why = hasBuildInfo
    ? 'it has Go build info but no pclntab (.gopclntab), so it is damaged'
    : 'no Go build info and no pclntab';
  return new PeriscopeError(
    'not-go',
    `${elf.path} is not a Go program (${why}); give the path of a binary built by the Go toolchain`,
  );
}

/**
 * The text start to use when the header's is 0 (dynamically linked binaries, e.g. with cgo,
 * leave it to a relocation): the runtime.text symbol, else the .text section. Not .text
 * first: an externally linked cgo binary starts .text with gcc's own code (crt1's _start and
 * friends, 0x100 bytes with Debian's gcc 12), so every Go function would be off by that much.
 * Parsing the symbol table costs tens of milliseconds on big binaries, only for these.
 */
function textStartFor(elf: ElfFile, data: Uint8Array): Address | undefined {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 32 || dv.getUint32(24, true) !== 0 || dv.getUint32(28, true) !== 0) return undefined;
  return elf.symbol('runtime.text')?.value ?? elf.section('.text')?.addr;
}

function safely(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}
