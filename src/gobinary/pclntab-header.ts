/**
 * Finding the pclntab (Go's function/line table) in an ELF file and parsing its header
 * (runtime.pcHeader, Go 1.18+).
 */
import { hex, type LinkAddress, linkAddr } from '../common/address.js';
import { ByteReader } from '../common/bytes.js';
import { FormatError, PeriscopeError } from '../common/errors.js';
import { PT_LOAD } from '../elf/elf-constants.js';
import type { ElfFile } from '../elf/elf-file.js';

/** Header magic of the Go 1.18 and 1.19 format. */
export const PCLN_MAGIC_118 = 0xfffffff0;
/** Header magic of the Go 1.20+ format (adds _func.startLine, new inlinedCall layout). */
export const PCLN_MAGIC_120 = 0xfffffff1;
const OLD_MAGICS: Record<number, string> = {
  4294967291: 'Go 1.2 to 1.15',
  4294967290: 'Go 1.16 and 1.17',
};

/** The parsed runtime.pcHeader; offsets are relative to the start of the pclntab. */
export interface PclnHeader {
  readonly magic: number;
  /** '1.18' for Go 1.18/1.19, '1.20' for Go 1.20 and later. */
  readonly format: '1.18' | '1.20';
  /** Instruction size quantum (1 on amd64, 4 on arm64). */
  readonly quantum: number;
  readonly ptrSize: number;
  readonly nfunc: number;
  readonly nfiles: number;
  /** Link-time address that _func.entryOff values are relative to. */
  readonly textStart: LinkAddress;
  readonly funcnameOffset: number;
  readonly cuOffset: number;
  readonly filetabOffset: number;
  readonly pctabOffset: number;
  readonly pclnOffset: number;
}

/** Where the pclntab bytes were found. */
export interface PclntabLocation {
  readonly data: Uint8Array;
  readonly address: LinkAddress;
  readonly source: 'section' | 'symbol' | 'scan';
}

const SECTION = '.gopclntab';

/** Parses and sanity-checks the pclntab header; rejects pre-1.18 formats with a clear message. */
export function parsePclnHeader(data: Uint8Array): PclnHeader {
  const r = new ByteReader(data, SECTION);
  const magic = r.u32();
  const old = OLD_MAGICS[magic];
  if (old)
    throw new PeriscopeError(
      'unsupported',
      `the pclntab has the ${old} format (magic ${hex(magic)}); Periscope reads binaries built by Go 1.18 or later`,
    );
  if (magic !== PCLN_MAGIC_118 && magic !== PCLN_MAGIC_120)
    throw new FormatError(SECTION, 0, `unknown pclntab magic ${hex(magic)}`);
  const pad1 = r.u8();
  const pad2 = r.u8();
  const quantum = r.u8();
  const ptrSize = r.u8();
  if (pad1 !== 0 || pad2 !== 0) r.fail('header padding is not zero', 4);
  if (quantum !== 1 && quantum !== 2 && quantum !== 4) r.fail(`bad instruction quantum ${quantum}`, 6);
  if (ptrSize !== 8) r.fail(`pointer size ${ptrSize} is not supported (64-bit binaries only)`, 7);
  const h: PclnHeader = {
    magic,
    format: magic === PCLN_MAGIC_118 ? '1.18' : '1.20',
    quantum,
    ptrSize,
    nfunc: r.u64(),
    nfiles: r.u64(),
    textStart: linkAddr(r.u64()),
    funcnameOffset: r.u64(),
    cuOffset: r.u64(),
    filetabOffset: r.u64(),
    pctabOffset: r.u64(),
    pclnOffset: r.u64(),
  };
  const headerEnd = r.pos;
  const offsets: [string, number][] = [
    ['funcnametab', h.funcnameOffset],
    ['cutab', h.cuOffset],
    ['filetab', h.filetabOffset],
    ['pctab', h.pctabOffset],
    ['functab', h.pclnOffset],
  ];
  for (const [name, off] of offsets) {
    if (off < headerEnd || off > data.length) r.fail(`${name} offset ${hex(off)} lies outside the table`, 8);
  }
  // The function table holds nfunc+1 {entryOff, funcOff} pairs of 4 bytes each.
  if (h.nfunc * 8 + 8 > data.length - h.pclnOffset)
    r.fail(`${h.nfunc} functions do not fit in the function table`, 8);
  return h;
}

/** Finds the pclntab: the .gopclntab section, the runtime.pclntab symbol range, or a header scan. */
export function locatePclntab(elf: ElfFile): PclntabLocation | undefined {
  const sec = elf.section(SECTION);
  if (sec && sec.size > 0) return { data: elf.sectionData(sec), address: sec.addr, source: 'section' };
  const start = elf.symbol('runtime.pclntab');
  const end = elf.symbol('runtime.epclntab');
  if (start && end && end.value > start.value) {
    const off = elf.addressToFileOffset(start.value);
    if (off !== undefined) {
      const size = end.value - start.value;
      return { data: elf.readAt(start.value, size), address: start.value, source: 'symbol' };
    }
  }
  return scanForPclntab(elf);
}

/** Looks for a plausible 1.18+ header at 8-aligned offsets of the read-only loadable segments. */
function scanForPclntab(elf: ElfFile): PclntabLocation | undefined {
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || seg.filesz === 0) continue;
    const data = elf.segmentData(seg);
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i + 64 <= data.length; i += 8) {
      if (data[i] !== 0xf0 && data[i] !== 0xf1) continue;
      const m = dv.getUint32(i, true);
      if ((m !== PCLN_MAGIC_118 && m !== PCLN_MAGIC_120) || dv.getUint16(i + 4, true) !== 0) continue;
      try {
        parsePclnHeader(data.subarray(i));
        return { data: data.subarray(i), address: linkAddr(seg.vaddr + i), source: 'scan' };
      } catch {
        // Not a header after all: keep scanning.
      }
    }
  }
  return undefined;
}
