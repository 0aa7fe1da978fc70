/**
 * Opening the Go symbol information of an ELF file: locate and index the pclntab, find
 * the funcdata base, and wire up inline expansion; a clear 'not-go' error when the file
 * is not a Go program at all.
 */
import { type LinkAddress, linkAddr } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { ElfFile } from '../elf/elf-file.js';
import { readBuildInfo } from './buildinfo.js';
import { type InlinedFrame, InlineExpander } from './inline-tree.js';
import { type FuncdataBase, findFuncdataBase, findModuledata, type Moduledata } from './moduledata.js';
import { Pclntab } from './pclntab.js';
import { locatePclntab, parsePclnHeader } from './pclntab-header.js';

/** A binary's pclntab with inline expansion ready to use. */
export interface GoSymtab {
  readonly pcln: Pclntab;
  readonly inline: InlineExpander;
  /** go:func.*; undefined if neither the symbol nor the moduledata could be found. */
  readonly funcdataBase: FuncdataBase | undefined;
  /** Where the pclntab was found. */
  readonly source: 'section' | 'symbol' | 'scan';
  /** Logical frames at pc, innermost first (see InlineExpander.framesAt). */
  inlinedFramesAt(pc: LinkAddress): InlinedFrame[];
}

/** Loads the pclntab of a Go binary; throws PeriscopeError('not-go') when it has none. */
export function openGoSymtab(elf: ElfFile): GoSymtab {
  const loc = locatePclntab(elf);
  if (!loc) throw notGo(elf);
  const header = parsePclnHeader(loc.data);
  const md = findModuledata(elf, loc.address, header);
  const pcln = new Pclntab(loc, header.textStart === 0 ? textStartFor(elf, md) : undefined);
  const funcdataBase = findFuncdataBase(elf, pcln, md);
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
 * The text start to use when the header's is 0: the system linker (cgo with C code of its
 * own) leaves it to a relocation, and starts .text with gcc's own code (crt1's _start and
 * friends, 0x100 bytes with Debian's gcc 12) before runtime.text, so .text would put every Go
 * function off by that much. The moduledata's text field (the file holds its link-time
 * value; found without a symbol table, so stripped binaries work too), else the runtime.text
 * symbol (parsing the symbol table costs tens of milliseconds on big binaries), else .text.
 */
function textStartFor(elf: ElfFile, md: Moduledata | undefined): LinkAddress | undefined {
  if (md?.text) return linkAddr(md.text);
  return elf.symbol('runtime.text')?.value ?? elf.section('.text')?.addr;
}

function safely(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}
