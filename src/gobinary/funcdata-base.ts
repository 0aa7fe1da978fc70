/**
 * The funcdata base (moduledata.gofunc, the `go:func.*` symbol): _func.funcdata values
 * are offsets from it. Found through the symbol when the binary has a symbol table,
 * or through runtime.firstmoduledata, found by scanning the data segments for the
 * moduledata that points at the pclntab.
 */
import { type Address, addr } from '../common/address.js';
import { PF_W, PT_LOAD } from '../elf/elf-constants.js';
import type { ElfFile } from '../elf/elf-file.js';
import type { Pclntab } from './pclntab.js';

/** How the funcdata base was found. */
export interface FuncdataBase {
  readonly address: Address;
  readonly source: 'symbol' | 'moduledata';
}

// Offsets inside runtime.moduledata (64-bit): pcHeader, six slices, ftab, findfunctab,
// minpc, maxpc, then text at 176. gofunc follows rodata: Go 1.20 added covctrs/ecovctrs
// before it, so it moved from 304 to 320.
const MD_FUNCNAMETAB = 8;
const MD_TEXT = 176;
const MD_GOFUNC_118 = 304;
const MD_GOFUNC_120 = 320;

/**
 * Finds the funcdata base of the binary whose pclntab is `pcln`: from the moduledata the
 * runtime itself uses (a scan of the data segments; no symbol table needed, and cheaper
 * than parsing one), else from the go:func.* symbol.
 */
export function findFuncdataBase(elf: ElfFile, pcln: Pclntab): FuncdataBase | undefined {
  return funcdataBaseFromModuledata(elf, pcln) ?? funcdataBaseFromSymbol(elf);
}

/** The go:func.* symbol (go.func.* before Go 1.20), if the binary has a symbol table. */
export function funcdataBaseFromSymbol(elf: ElfFile): FuncdataBase | undefined {
  for (const name of ['go:func.*', 'go.func.*']) {
    const s = elf.symbol(name);
    if (s) return { address: s.value, source: 'symbol' };
  }
  return undefined;
}

/** moduledata.gofunc, with the moduledata found by scanning for the one that points at the pclntab. */
export function funcdataBaseFromModuledata(elf: ElfFile, pcln: Pclntab): FuncdataBase | undefined {
  const md = scanForModuledata(elf, pcln);
  if (md === undefined) return undefined;
  const off = pcln.header.format === '1.20' ? MD_GOFUNC_120 : MD_GOFUNC_118;
  const view = dataView(elf.readAt(md, off + 8));
  const gofunc = readU64(view, off);
  const text = readU64(view, MD_TEXT);
  // Sanity: the moduledata must describe this pclntab's text, and gofunc must be mapped.
  if (text !== pcln.textStart && text !== 0) return undefined;
  if (gofunc === undefined || !elf.segmentForAddress(addr(gofunc))) return undefined;
  return { address: addr(gofunc), source: 'moduledata' };
}

/** Looks in writable segments for {pcHeader = pclntab, funcnametab.ptr = pclntab + funcnameOffset}. */
function scanForModuledata(elf: ElfFile, pcln: Pclntab): Address | undefined {
  const want = pcln.address;
  const wantNames = pcln.address + pcln.header.funcnameOffset;
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || !(seg.flags & PF_W) || seg.filesz === 0) continue;
    const bytes = elf.bytes.subarray(seg.offset, Math.min(elf.bytes.length, seg.offset + seg.filesz));
    const view = dataView(bytes);
    const lo = want % 0x1_0000_0000;
    for (let i = (8 - (seg.vaddr % 8)) % 8; i + MD_GOFUNC_120 + 8 <= bytes.length; i += 8) {
      if (view.getUint32(i, true) !== lo) continue;
      if (readU64(view, i) === want && readU64(view, i + MD_FUNCNAMETAB) === wantNames)
        return addr(seg.vaddr + i);
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
