/**
 * The headers of an executable read through a few positioned reads, without reading the
 * file: its section names (is it Go at all?) and, for a Go binary, a sparse image holding
 * only what discovery's facts come from (ELF, program and section headers, the notes with
 * the build IDs, `.go.buildinfo`). A 40 MB Go binary then costs tens of kilobytes of reads
 * instead of 40 MB. The rest of the image is left uninitialised (zeroing 40 MB costs more
 * than the reads): it serves only those reads, which touch nothing else (a test fills the
 * rest with garbage and compares with the whole file).
 */
import { fstatSync, readSync } from 'node:fs';

const SHT_NOTE = 7;
const SHT_NOBITS = 8;
/** cmd/go's build info header: magic (14 bytes), pointer size, flags; flag 2: strings inline (Go 1.18+). */
const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const FLAG_INLINE_STRINGS = 0x2;
/** Larger sections are not "small" metadata: a whole read is the honest answer then. */
const MAX_SECTION = 1 << 20;

/** One section as the header table gives it. */
export interface PeekedSection {
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** What the headers of an ELF file say. */
export interface ElfPeek {
  readonly fileSize: number;
  /** ELF header and program headers: bytes from 0 to this offset. */
  readonly headersEnd: number;
  readonly shoff: number;
  readonly shtableSize: number;
  /** The section names' string table (.shstrtab). */
  readonly namesOffset: number;
  readonly namesSize: number;
  readonly sections: readonly PeekedSection[];
}

function readExact(fd: number, buf: Buffer, at: number): boolean {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, at + done);
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

/** Reads the headers of a 64-bit little-endian ELF file; undefined for anything else or a malformed table. */
export function peekElf(fd: number): ElfPeek | undefined {
  const fileSize = fstatSync(fd).size;
  const hdr = Buffer.alloc(64);
  if (!readExact(fd, hdr, 0)) return undefined;
  if (hdr.readUInt32BE(0) !== 0x7f454c46 || hdr[4] !== 2 || hdr[5] !== 1) return undefined;
  const phoff = Number(hdr.readBigUInt64LE(0x20));
  const shoff = Number(hdr.readBigUInt64LE(0x28));
  const phentsize = hdr.readUInt16LE(0x36);
  const phnum = hdr.readUInt16LE(0x38);
  const shentsize = hdr.readUInt16LE(0x3a);
  let shnum = hdr.readUInt16LE(0x3c);
  const shstrndx = hdr.readUInt16LE(0x3e);
  if (shoff === 0 || shentsize < 64 || shoff >= fileSize) return undefined;
  if (shnum === 0) {
    const first = Buffer.alloc(64);
    if (!readExact(fd, first, shoff)) return undefined;
    shnum = Number(first.readBigUInt64LE(0x20));
  }
  if (shnum > 65536 || shstrndx >= shnum || shoff + shnum * shentsize > fileSize) return undefined;
  const table = Buffer.alloc(shnum * shentsize);
  if (!readExact(fd, table, shoff)) return undefined;
  const field = (i: number, at: number): number => Number(table.readBigUInt64LE(i * shentsize + at));
  const strOff = field(shstrndx, 0x18);
  const strSize = Math.min(field(shstrndx, 0x20), 1 << 20, Math.max(0, fileSize - strOff));
  const strs = Buffer.alloc(strSize);
  if (!readExact(fd, strs, strOff)) return undefined;
  const sections: PeekedSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = table.readUInt32LE(i * shentsize);
    const end = strs.indexOf(0, at);
    sections.push({
      name: at < strSize ? strs.toString('latin1', at, end < 0 ? strSize : end) : '',
      type: table.readUInt32LE(i * shentsize + 4),
      offset: field(i, 0x18),
      size: field(i, 0x20),
    });
  }
  const headersEnd = Math.max(64, phoff + phnum * phentsize);
  return {
    fileSize,
    headersEnd,
    shoff,
    shtableSize: shnum * shentsize,
    namesOffset: strOff,
    namesSize: strSize,
    sections,
  };
}

/** Section names in an ELF file, read through a few positioned reads (no whole-file read). */
export function sectionNames(fd: number): string[] | undefined {
  return peekElf(fd)?.sections.map((s) => s.name);
}

/**
 * An image of the whole file in which only the headers, the section names, every note
 * section and `.go.buildinfo` were read: enough for the Go check, the build IDs and a build
 * info whose strings are inline (Go 1.18+). Undefined when that is not enough (no
 * `.go.buildinfo`, older build info that points into the data segment, odd sizes): read
 * the whole file then. The other bytes are uninitialised, or `fill` (for tests).
 */
export function buildInfoImage(fd: number, peek: ElfPeek, fill?: number): Uint8Array | undefined {
  const info = peek.sections.find((s) => s.name === '.go.buildinfo');
  if (!info || info.type === SHT_NOBITS || info.size < 32 || info.size > MAX_SECTION) return undefined;
  const ranges: [number, number][] = [
    [0, peek.headersEnd],
    [peek.shoff, peek.shtableSize],
    [peek.namesOffset, peek.namesSize],
    [info.offset, info.size],
  ];
  for (const s of peek.sections) {
    if (s.type !== SHT_NOTE) continue;
    if (s.size > MAX_SECTION) return undefined;
    ranges.push([s.offset, s.size]);
  }
  if (ranges.some(([at, n]) => at < 0 || at + n > peek.fileSize)) return undefined;
  const image =
    fill === undefined ? Buffer.allocUnsafeSlow(peek.fileSize) : Buffer.alloc(peek.fileSize, fill);
  for (const [at, n] of ranges) if (n > 0 && !readExact(fd, image.subarray(at, at + n), at)) return undefined;
  const head = image.subarray(info.offset, info.offset + 32);
  if (!head.subarray(0, BUILDINFO_MAGIC.length).equals(BUILDINFO_MAGIC)) return undefined;
  if ((head[15]! & FLAG_INLINE_STRINGS) === 0) return undefined;
  return new Uint8Array(image.buffer, image.byteOffset, image.length);
}
