/**
 * The binary's runtime.firstmoduledata, found without a symbol table by scanning the data
 * segments for the moduledata that points at the pclntab, and what it tells: where text
 * starts (the pclntab header leaves it to a relocation in binaries the system linker linked,
 * i.e. with cgo) and the funcdata base (moduledata.gofunc, the `go:func.*` symbol), which
 * _func.funcdata values are offsets from.
 */
import { type LinkAddress, linkAddr } from '../common/address.js';
import { PF_W, PT_LOAD } from '../elf/elf-constants.js';
import type { ElfFile } from '../elf/elf-file.js';
import type { Pclntab } from './pclntab.js';
import type { PclnHeader } from './pclntab-header.js';

/** How the funcdata base was found. */
export interface FuncdataBase {
  readonly address: LinkAddress;
  readonly source: 'symbol' | 'moduledata';
}

/** The fields of a moduledata that opening a binary needs (link-time values, as the file holds them). */
export interface Moduledata {
  readonly address: LinkAddress;
  /** moduledata.text: the address _func entry offsets are relative to; undefined when unreadable. */
  readonly text: number | undefined;
  /** moduledata.gofunc; undefined when unreadable. */
  readonly gofunc: number | undefined;
}

// Offsets inside runtime.moduledata (64-bit): pcHeader, six slices, ftab, findfunctab,
// minpc, maxpc, then text at 176. gofunc follows rodata: Go 1.20 added covctrs/ecovctrs
// before it, so it moved from 304 to 320.
const MD_FUNCNAMETAB = 8;
const MD_TEXT = 176;
const MD_GOFUNC_118 = 304;
const MD_GOFUNC_120 = 320;

/** The moduledata that points at the pclntab at `pclnAddress`, if a scan of the writable segments finds it. */
export function findModuledata(
  elf: ElfFile,
  pclnAddress: LinkAddress,
  header: PclnHeader,
): Moduledata | undefined {
  const md = scanForModuledata(elf, pclnAddress, pclnAddress + header.funcnameOffset);
  if (md === undefined) return undefined;
  const off = header.format === '1.20' ? MD_GOFUNC_120 : MD_GOFUNC_118;
  const view = dataView(elf.readAt(md, off + 8));
  return { address: md, text: readU64(view, MD_TEXT), gofunc: readU64(view, off) };
}

/**
 * Finds the funcdata base of the binary whose pclntab is `pcln`: from the moduledata the
 * runtime itself uses (no symbol table needed, and cheaper than parsing one), else from the
 * go:func.* symbol.
 */
export function findFuncdataBase(
  elf: ElfFile,
  pcln: Pclntab,
  md: Moduledata | undefined = findModuledata(elf, pcln.address, pcln.header),
): FuncdataBase | undefined {
  return funcdataBaseFromModuledata(elf, pcln, md) ?? funcdataBaseFromSymbol(elf);
}

/** The go:func.* symbol (go.func.* before Go 1.20), if the binary has a symbol table. */
export function funcdataBaseFromSymbol(elf: ElfFile): FuncdataBase | undefined {
  for (const name of ['go:func.*', 'go.func.*']) {
    const s = elf.symbol(name);
    if (s) return { address: s.value, source: 'symbol' };
  }
  return undefined;
}

/** moduledata.gofunc, when the moduledata describes this pclntab's text and gofunc is mapped. */
function funcdataBaseFromModuledata(
  elf: ElfFile,
  pcln: Pclntab,
  md: Moduledata | undefined,
): FuncdataBase | undefined {
  if (md === undefined) return undefined;
  if (md.text !== pcln.textStart && md.text !== 0) return undefined;
  if (md.gofunc === undefined || !elf.segmentForAddress(linkAddr(md.gofunc))) return undefined;
  return { address: linkAddr(md.gofunc), source: 'moduledata' };
}

/** Looks in writable segments for {pcHeader = pclntab, funcnametab.ptr = pclntab + funcnameOffset}. */
function scanForModuledata(elf: ElfFile, want: number, wantNames: number): LinkAddress | undefined {
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || !(seg.flags & PF_W) || seg.filesz === 0) continue;
    const bytes = elf.segmentData(seg);
    const view = dataView(bytes);
    const lo = want % 0x1_0000_0000;
    for (let i = (8 - (seg.vaddr % 8)) % 8; i + MD_GOFUNC_120 + 8 <= bytes.length; i += 8) {
      if (view.getUint32(i, true) !== lo) continue;
      if (readU64(view, i) === want && readU64(view, i + MD_FUNCNAMETAB) === wantNames)
        return linkAddr(seg.vaddr + i);
    }
  }
  return undefined;
}

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function readU64(v: DataView, at: number): number | undefined {
  const hi = v.getUint32(at + 4, true);
  if (hi >= 0x20_0000) return undefined;
  return hi * 0x1_0000_0000 + v.getUint32(at, true);
}
