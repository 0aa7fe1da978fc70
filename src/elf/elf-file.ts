import { type FileOffset, fileOffset, hex, type LinkAddress, LoadBias, linkAddr } from '../common/address.js';
import { ByteReader, cstringAt, decodeUtf8 } from '../common/bytes.js';
import { FormatError, PeriscopeError } from '../common/errors.js';
import { decompressLegacy, decompressSection } from './elf-compression.js';
import * as C from './elf-constants.js';
import { PHDR_SIZE, readSectionHeaders, readSegments, SHDR_SIZE } from './elf-headers.js';

/** One section header, with its name resolved. */
export interface Section {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: LinkAddress;
  readonly offset: FileOffset;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

/** One program header (segment). */
export interface Segment {
  readonly type: number;
  readonly flags: number;
  readonly offset: FileOffset;
  readonly vaddr: LinkAddress;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

/** One symbol table entry. */
export interface ElfSymbol {
  readonly name: string;
  readonly value: LinkAddress;
  readonly size: number;
  readonly type: number;
  readonly bind: number;
  readonly sectionIndex: number;
}

const SYM_SIZE = 24;

/**
 * A 64-bit little-endian ELF file held in memory. Headers are parsed up front (cheap);
 * symbols, notes and section contents (decompressed when SHF_COMPRESSED) on demand.
 */
export class ElfFile {
  readonly bytes: Uint8Array;
  readonly path: string;
  readonly type: number;
  readonly machine: number;
  readonly entry: LinkAddress;
  readonly sections: readonly Section[];
  readonly segments: readonly Segment[];
  private readonly byName = new Map<string, Section>();
  private readonly dataCache = new Map<number, Uint8Array>();
  private symbolsCache: ElfSymbol[] | undefined;

  constructor(bytes: Uint8Array, path = '<memory>') {
    this.bytes = bytes;
    this.path = path;
    if (bytes.length < 4 || C.ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
      throw new PeriscopeError(
        'not-elf',
        `${path} is not an ELF file (no \\x7fELF magic); give the path of a Go executable`,
      );
    }
    if (bytes.length < 64)
      throw new PeriscopeError(
        'truncated',
        `${path} is truncated: the ELF header needs 64 bytes, the file has ${bytes.length}`,
      );
    if (bytes[4] !== C.ELFCLASS64 || bytes[5] !== C.ELFDATA2LSB) {
      throw new PeriscopeError(
        'unsupported',
        `${path} is a 32-bit or big-endian ELF file; Periscope reads 64-bit little-endian binaries (amd64, arm64)`,
      );
    }
    const r = new ByteReader(bytes, 'ELF header', 16);
    this.type = r.u16();
    this.machine = r.u16();
    r.u32(); // version
    this.entry = linkAddr(r.u64());
    const phoff = r.u64();
    const shoff = r.u64();
    r.u32(); // flags
    r.u16(); // ehsize
    const phentsize = r.u16();
    const phnum = r.u16();
    const shentsize = r.u16();
    let shnum = r.u16();
    let shstrndx = r.u16();
    if (this.type !== C.ET_EXEC && this.type !== C.ET_DYN) {
      throw new PeriscopeError(
        'unsupported',
        `${path} is an ELF object of type ${this.type}, not an executable`,
      );
    }
    if (shoff !== 0 && shentsize !== SHDR_SIZE)
      throw new FormatError('ELF header', 58, `section header size ${shentsize} is not ${SHDR_SIZE}`);
    if (phoff !== 0 && phnum > 0 && phentsize !== PHDR_SIZE)
      throw new FormatError('ELF header', 54, `program header size ${phentsize} is not ${PHDR_SIZE}`);
    this.checkRange('section headers', shoff, 0);
    // Extended numbering: the real counts live in section header 0.
    if (shoff !== 0 && (shnum === 0 || shstrndx === 0xffff)) {
      const h0 = new ByteReader(bytes, 'section header 0', shoff);
      this.checkRange('section header 0', shoff, SHDR_SIZE);
      h0.skip(32);
      const size0 = h0.u64();
      const link0 = h0.u32();
      if (shnum === 0) shnum = size0;
      if (shstrndx === 0xffff) shstrndx = link0;
    }
    this.checkRange('section headers', shoff, shnum * SHDR_SIZE);
    this.checkRange('program headers', phoff, phnum * PHDR_SIZE);
    this.segments = readSegments(bytes, phoff, phnum);
    const raw = readSectionHeaders(bytes, shoff, shnum);
    const shstr = raw[shstrndx];
    if (shnum > 0 && !shstr)
      throw new FormatError('ELF header', 62, `section name table index ${shstrndx} is out of range`);
    if (shstr) this.checkRange('section name table', shstr.offset, shstr.size);
    const names = shstr ? bytes.subarray(shstr.offset, shstr.offset + shstr.size) : new Uint8Array();
    this.sections = raw.map((s, index) => {
      const name = s.nameOff < names.length ? cstringAt(names, s.nameOff, '.shstrtab') : '';
      const sec: Section = {
        index,
        name,
        type: s.type,
        flags: s.flags,
        addr: linkAddr(s.addr),
        offset: fileOffset(s.offset),
        size: s.size,
        link: s.link,
        info: s.info,
        addralign: s.addralign,
        entsize: s.entsize,
      };
      if (!this.byName.has(name)) this.byName.set(name, sec);
      return sec;
    });
  }

  private checkRange(what: string, offset: number, size: number): void {
    if (offset < 0 || size < 0 || offset + size > this.bytes.length) {
      throw new PeriscopeError(
        'truncated',
        `${this.path} is truncated or corrupt: ${what} at ${hex(offset)} (+${size} bytes) lie beyond the end of the file (${this.bytes.length} bytes)`,
      );
    }
  }

  /** Whether the binary is position independent (loaded at a bias chosen at run time). */
  get isPIE(): boolean {
    return this.type === C.ET_DYN;
  }

  /** The architecture name as Go spells it. */
  get arch(): string {
    if (this.machine === C.EM_X86_64) return 'amd64';
    if (this.machine === C.EM_AARCH64) return 'arm64';
    return `elf-machine-${this.machine}`;
  }

  /** The first section with this name, if any. */
  section(name: string): Section | undefined {
    return this.byName.get(name);
  }

  /** The bytes of a section, decompressed if it is SHF_COMPRESSED (cached). */
  sectionData(sec: Section): Uint8Array {
    const cached = this.dataCache.get(sec.index);
    if (cached) return cached;
    let data: Uint8Array;
    if (sec.type === C.SHT_NOBITS) data = new Uint8Array(sec.size);
    else {
      this.checkRange(`section ${sec.name}`, sec.offset, sec.size);
      data = this.bytes.subarray(sec.offset, sec.offset + sec.size);
      if (sec.flags & C.SHF_COMPRESSED) data = decompressSection(sec, data);
      else if (sec.name.startsWith('.zdebug_')) data = decompressLegacy(sec, data);
    }
    this.dataCache.set(sec.index, data);
    return data;
  }

  /** Section bytes by name: `.debug_info` also finds a legacy `.zdebug_info`. */
  sectionDataByName(name: string): Uint8Array | undefined {
    const sec =
      this.section(name) ?? (name.startsWith('.debug_') ? this.section(`.z${name.slice(1)}`) : undefined);
    return sec ? this.sectionData(sec) : undefined;
  }

  /** All symbols of .symtab (or .dynsym if there is no .symtab). */
  symbols(): readonly ElfSymbol[] {
    if (this.symbolsCache) return this.symbolsCache;
    const tab =
      this.sections.find((s) => s.type === C.SHT_SYMTAB) ??
      this.sections.find((s) => s.type === C.SHT_DYNSYM);
    this.symbolsCache = tab ? this.readSymbols(tab) : [];
    return this.symbolsCache;
  }

  /** Whether the file has a static symbol table (.symtab). */
  get hasSymtab(): boolean {
    return this.sections.some((s) => s.type === C.SHT_SYMTAB);
  }

  private readSymbols(tab: Section): ElfSymbol[] {
    const strtab = this.sections[tab.link];
    if (!strtab) throw new FormatError(tab.name, 0, `string table index ${tab.link} is out of range`);
    const strs = this.sectionData(strtab);
    const data = this.sectionData(tab);
    const r = new ByteReader(data, tab.name);
    const n = Math.floor(data.length / SYM_SIZE);
    const out: ElfSymbol[] = [];
    for (let i = 1; i < n; i++) {
      r.seek(i * SYM_SIZE);
      const nameOff = r.u32();
      const info = r.u8();
      r.u8();
      const sectionIndex = r.u16();
      const value = r.u64();
      const size = r.u64();
      const name = nameOff < strs.length ? cstringAt(strs, nameOff, strtab.name) : '';
      out.push({ name, value: linkAddr(value), size, type: info & 0xf, bind: info >> 4, sectionIndex });
    }
    return out;
  }

  /** The first symbol with this exact name. */
  symbol(name: string): ElfSymbol | undefined {
    return this.symbols().find((s) => s.name === name);
  }

  /** The GNU build ID (hex), or the Go build ID, or undefined. */
  buildId(): string | undefined {
    return this.gnuBuildId() ?? this.goBuildId();
  }

  /** The GNU build ID note as lowercase hex. */
  gnuBuildId(): string | undefined {
    const n = this.notes().find((x) => x.name === 'GNU' && x.type === C.NT_GNU_BUILD_ID);
    return n ? Buffer.from(n.desc).toString('hex') : undefined;
  }

  /** The Go build ID note (`.note.go.buildid`), as the string the go tool prints. */
  goBuildId(): string | undefined {
    const n = this.notes().find((x) => x.name === 'Go' && x.type === C.NT_GO_BUILD_ID);
    return n ? decodeUtf8(n.desc) : undefined;
  }

  /** All notes of all SHT_NOTE sections. */
  notes(): { name: string; type: number; desc: Uint8Array }[] {
    const out: { name: string; type: number; desc: Uint8Array }[] = [];
    for (const sec of this.sections) {
      if (sec.type !== C.SHT_NOTE) continue;
      const r = new ByteReader(this.sectionData(sec), sec.name);
      while (r.remaining >= 12) {
        const namesz = r.u32();
        const descsz = r.u32();
        const type = r.u32();
        const nameBytes = r.take(namesz);
        r.seek(Math.min(r.length, align4(r.pos)));
        const desc = r.take(descsz);
        r.seek(Math.min(r.length, align4(r.pos)));
        const end = nameBytes.indexOf(0);
        out.push({ name: decodeUtf8(end >= 0 ? nameBytes.subarray(0, end) : nameBytes), type, desc });
      }
    }
    return out;
  }

  /** The loadable segment that maps this link-time address, if any. */
  segmentForAddress(a: LinkAddress): Segment | undefined {
    return this.segments.find((s) => s.type === C.PT_LOAD && a >= s.vaddr && a < s.vaddr + s.memsz);
  }

  /** File offset of a link-time address (for uprobes and for reading static data). */
  addressToFileOffset(a: LinkAddress): FileOffset | undefined {
    const s = this.segmentForAddress(a);
    if (!s || a - s.vaddr >= s.filesz) return undefined;
    return fileOffset(s.offset + (a - s.vaddr));
  }

  /** Bytes of the file image at a link-time address; zero-filled past the file-backed part (.bss). */
  readAt(a: LinkAddress, size: number): Uint8Array {
    const s = this.segmentForAddress(a);
    if (!s || a + size > s.vaddr + s.memsz)
      throw new PeriscopeError(
        'corrupt',
        `address ${hex(a)} (+${size}) is not mapped by any loadable segment of ${this.path}`,
      );
    const rel = a - s.vaddr;
    if (rel + size <= s.filesz) {
      this.checkRange(`data at ${hex(a)}`, s.offset + rel, size);
      return this.bytes.subarray(s.offset + rel, s.offset + rel + size);
    }
    const out = new Uint8Array(size);
    const fileBacked = Math.max(0, s.filesz - rel);
    if (fileBacked > 0) out.set(this.bytes.subarray(s.offset + rel, s.offset + rel + fileBacked));
    return out;
  }

  /**
   * The load bias of a running process given one of its mappings of this file
   * (start address and file offset from /proc/PID/maps): runtime address = link address + bias.
   */
  loadBias(mapStart: number, mapFileOffset: number): LoadBias {
    const s = this.segments.find(
      (x) =>
        x.type === C.PT_LOAD &&
        mapFileOffset >= pageDown(x.offset) &&
        mapFileOffset < x.offset + Math.max(x.filesz, 1),
    );
    if (!s)
      throw new PeriscopeError(
        'corrupt',
        `no loadable segment of ${this.path} covers file offset ${hex(mapFileOffset)}`,
      );
    return new LoadBias(mapStart - (pageDown(s.vaddr) + (mapFileOffset - pageDown(s.offset))));
  }
}

function pageDown(x: number): number {
  return x - (x % 4096);
}

function align4(x: number): number {
  return (x + 3) & ~3;
}

/** Reads an ELF file from disk, with a clear error if it cannot be read. */
export async function openElf(path: string): Promise<ElfFile> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PeriscopeError('not-found', `${path}: no such file`);
    if (code === 'EISDIR')
      throw new PeriscopeError('not-elf', `${path} is a directory; give the path of a Go executable`);
    if (code === 'EACCES')
      throw new PeriscopeError('not-found', `${path}: permission denied; run as a user who can read it`);
    throw new PeriscopeError('not-found', `${path}: cannot read (${code ?? (e as Error).message})`);
  }
  return new ElfFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
}
