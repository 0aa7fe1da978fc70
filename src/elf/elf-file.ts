import { type FileOffset, fileOffset, hex, type LinkAddress, LoadBias, linkAddr } from '../common/address.js';
import { ByteReader, cstringAt, decodeUtf8 } from '../common/bytes.js';
import { FormatError, PeriscopeError } from '../common/errors.js';
import { decompressLegacy, decompressSection } from './elf-compression.js';
import * as C from './elf-constants.js';
import { PHDR_SIZE, readSectionHeaders, readSegments, SHDR_SIZE } from './elf-headers.js';
import { type FileSource, MemorySource, openFileSource } from './file-source.js';
import { type ElfSymbol, type StringTable, SymbolTable } from './symbol-table.js';

export type { ElfSymbol } from './symbol-table.js';

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
  /** Position in the program header table. */
  readonly index: number;
  readonly type: number;
  readonly flags: number;
  readonly offset: FileOffset;
  readonly vaddr: LinkAddress;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

const EHDR_SIZE = 64;
/** Static data is read and kept in chunks of this many bytes. */
const CHUNK = 64 << 10;
/** Symbol lookups remembered (a prepare makes a few dozen; checking expressions, more). */
export const MAX_REMEMBERED_SYMBOLS = 4096;

/**
 * A 64-bit little-endian ELF file, read on demand from a FileSource: the headers when it is
 * opened; each section on first use (decompressed once when compressed, then kept until
 * dropped); static data at an address (readAt) from a held section, else in 64 KiB chunks
 * kept once read; code only in the pieces asked for. The file is never read whole.
 */
export class ElfFile {
  readonly path: string;
  readonly type: number;
  readonly machine: number;
  readonly entry: LinkAddress;
  readonly sections: readonly Section[];
  readonly segments: readonly Segment[];
  private readonly source: FileSource;
  private readonly byName = new Map<string, Section>();
  private readonly dataCache = new Map<number, Uint8Array>();
  /** Sections of the image (SHF_ALLOC) held in dataCache, which readAt serves from. */
  private readonly heldImage: Section[] = [];
  /** Chunks of static data read by readAt, by file offset / CHUNK. */
  private readonly chunks = new Map<number, Uint8Array>();
  private symbolTable: SymbolTable | null | undefined;
  private readonly symbolAnswers = new Map<string, ElfSymbol | null>();
  private copies: ((name: string) => Uint8Array | undefined) | undefined;
  private buildIdCache: string | null | undefined;

  /** Reads the headers of an ELF file: its bytes in memory, or a FileSource (which it then owns). */
  constructor(from: Uint8Array | FileSource, path = '<memory>') {
    const source = from instanceof Uint8Array ? new MemorySource(from, path) : from;
    this.source = source;
    this.path = path;
    const head = source.read(0, Math.min(EHDR_SIZE, source.size), 'the ELF header');
    if (head.length < 4 || C.ELF_MAGIC.some((b, i) => head[i] !== b)) {
      throw new PeriscopeError(
        'not-elf',
        `${path} is not an ELF file (no \\x7fELF magic); give the path of a Go executable`,
      );
    }
    if (head.length < EHDR_SIZE)
      throw new PeriscopeError(
        'truncated',
        `${path} is truncated: the ELF header needs 64 bytes, the file has ${source.size}`,
      );
    if (head[4] !== C.ELFCLASS64 || head[5] !== C.ELFDATA2LSB) {
      throw new PeriscopeError(
        'unsupported',
        `${path} is a 32-bit or big-endian ELF file; Periscope reads 64-bit little-endian binaries (amd64, arm64)`,
      );
    }
    const r = new ByteReader(head, 'ELF header', 16);
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
    // Extended numbering: the real counts live in section header 0.
    if (shoff !== 0 && (shnum === 0 || shstrndx === 0xffff)) {
      const h0 = new ByteReader(source.read(shoff, SHDR_SIZE, 'section header 0'), 'section header 0');
      h0.skip(32);
      const size0 = h0.u64();
      const link0 = h0.u32();
      if (shnum === 0) shnum = size0;
      if (shstrndx === 0xffff) shstrndx = link0;
    }
    if (shoff === 0) shnum = 0;
    const shTable = source.read(shoff, shnum * SHDR_SIZE, 'section headers');
    const phTable = source.read(phoff, phoff === 0 ? 0 : phnum * PHDR_SIZE, 'program headers');
    this.segments = readSegments(phTable, phoff === 0 ? 0 : phnum);
    const raw = readSectionHeaders(shTable, shnum);
    const shstr = raw[shstrndx];
    if (shnum > 0 && !shstr)
      throw new FormatError('ELF header', 62, `section name table index ${shstrndx} is out of range`);
    const names = shstr ? source.read(shstr.offset, shstr.size, 'section name table') : new Uint8Array();
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

  /** Opens the ELF file at `path` for reading on demand (the descriptor stays open until close()). */
  static open(path: string): ElfFile {
    const source = openFileSource(path);
    try {
      return new ElfFile(source, path);
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /** Size of the file in bytes. */
  get fileSize(): number {
    return this.source.size;
  }

  /** Modification time of the file when it was opened (undefined when the bytes were handed in memory). */
  get fileMtimeMs(): number | undefined {
    return this.source.mtimeMs;
  }

  /** Reads from the file so far (0 when the bytes were handed in memory): for tests of what is read when. */
  get fileReads(): number {
    return this.source.reads;
  }

  /** Bytes read from the file so far. */
  get fileBytesRead(): number {
    return this.source.bytesRead;
  }

  /** Bytes this object holds: segments, sections and the symbol table read so far. */
  get residentBytes(): number {
    let n = this.symbolTable?.byteLength ?? 0;
    for (const b of this.chunks.values()) n += b.byteLength;
    for (const b of this.dataCache.values()) n += b.byteLength;
    return n;
  }

  /** Releases the file descriptor; data already read stays usable, nothing more can be read. */
  close(): void {
    this.source.close();
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

  /** The bytes of a section, decompressed if it is SHF_COMPRESSED (read once, then cached). */
  sectionData(sec: Section): Uint8Array {
    const cached = this.dataCache.get(sec.index);
    if (cached) return cached;
    const data = this.readSection(sec);
    this.dataCache.set(sec.index, data);
    if (isImage(sec)) this.heldImage.push(sec);
    return data;
  }

  /**
   * Forgets a section read earlier (its bytes are freed once no one else refers to them); a
   * later sectionData reads it again. For sections needed only while building an index or
   * compiling a spec.
   */
  dropSection(sec: Section): void {
    if (!this.dataCache.delete(sec.index)) return;
    const i = this.heldImage.indexOf(sec);
    if (i >= 0) this.heldImage.splice(i, 1);
  }

  /** Whether a section's bytes are held (read and not dropped). */
  holdsSection(sec: Section): boolean {
    return this.dataCache.has(sec.index);
  }

  /**
   * Where decompressed copies of compressed sections may be had without inflating them (a
   * cache of an earlier run); a copy it does not have, or refuses, is inflated as usual.
   */
  useDecompressedCopies(copies: (name: string) => Uint8Array | undefined): void {
    this.copies = copies;
  }

  /** The compressed sections held, decompressed (to store them for a later run). */
  decompressedSections(): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (const [i, data] of this.dataCache) {
      const sec = this.sections[i]!;
      if (isCompressed(sec)) out.push([sec.name, data]);
    }
    return out;
  }

  private readSection(sec: Section): Uint8Array {
    if (sec.type === C.SHT_NOBITS) return new Uint8Array(sec.size);
    if (isCompressed(sec)) {
      const copy = this.copies?.(sec.name);
      if (copy) return copy;
    }
    const raw = this.source.read(sec.offset, sec.size, `section ${sec.name}`);
    if (sec.flags & C.SHF_COMPRESSED) return decompressSection(sec, raw);
    if (sec.name.startsWith('.zdebug_')) return decompressLegacy(sec, raw);
    return raw;
  }

  /** Section bytes by name: `.debug_info` also finds a legacy `.zdebug_info`. */
  sectionDataByName(name: string): Uint8Array | undefined {
    const sec = this.sectionByName(name);
    return sec ? this.sectionData(sec) : undefined;
  }

  /** The section by name: `.debug_info` also finds a legacy `.zdebug_info`. */
  sectionByName(name: string): Section | undefined {
    return (
      this.section(name) ?? (name.startsWith('.debug_') ? this.section(`.z${name.slice(1)}`) : undefined)
    );
  }

  /** The section of the image that holds a link-time address, if any. */
  sectionForAddress(a: LinkAddress): Section | undefined {
    return this.sections.find((s) => isImage(s) && a >= s.addr && a < s.addr + s.size);
  }

  /**
   * The file-backed bytes of a loadable segment, read anew on each call (for scans of
   * binaries that lack the section or symbol that would say where to look).
   */
  segmentData(seg: Segment): Uint8Array {
    // A truncated file gives what it has: decoding then fails where the bytes are missing.
    const n = Math.max(0, Math.min(seg.filesz, this.source.size - seg.offset));
    return n === 0 ? new Uint8Array() : this.source.read(seg.offset, n, `segment ${seg.index}`);
  }

  /**
   * Reads the static data at [a, a + size) now and keeps it, so that later readAt calls there
   * never wait on the file (what a pause may read: inline trees, strings).
   */
  preload(a: LinkAddress, size: number): void {
    const s = this.segmentForAddress(a);
    if (!s || s.flags & C.PF_X) return;
    const from = s.offset + (a - s.vaddr);
    const to = Math.min(s.offset + s.filesz, from + size, this.source.size);
    for (let c = Math.floor(from / CHUNK); c * CHUNK < to; c++) this.chunk(c);
  }

  /** Chunk `c` of the file (CHUNK bytes at c * CHUNK, fewer at the end), read once and kept. */
  private chunk(c: number): Uint8Array {
    let b = this.chunks.get(c);
    if (!b) {
      const at = c * CHUNK;
      b = this.source.read(at, Math.min(CHUNK, this.source.size - at), `data at file offset ${hex(at)}`);
      this.chunks.set(c, b);
    }
    return b;
  }

  /** File bytes [off, off + n) of static data: from the chunks, read on first use. */
  private staticBytes(off: number, n: number, what: string): Uint8Array {
    if (off + n > this.source.size)
      throw new PeriscopeError(
        'truncated',
        `${this.path} is truncated or corrupt: ${what} (+${n} bytes) lies beyond the end of the file (${this.source.size} bytes)`,
      );
    const first = Math.floor(off / CHUNK);
    const last = Math.floor((off + n - 1) / CHUNK);
    if (first === last) return this.chunk(first).subarray(off - first * CHUNK, off - first * CHUNK + n);
    const out = new Uint8Array(n);
    for (let c = first; c <= last; c++) {
      const b = this.chunk(c);
      const lo = Math.max(off, c * CHUNK);
      const hi = Math.min(off + n, c * CHUNK + b.length);
      out.set(b.subarray(lo - c * CHUNK, hi - c * CHUNK), lo - off);
    }
    return out;
  }

  /** The symbol table (.symtab, else .dynsym), read on first use; undefined when there is none. */
  private symtab(): SymbolTable | undefined {
    if (this.symbolTable !== undefined) return this.symbolTable ?? undefined;
    const tab =
      this.sections.find((s) => s.type === C.SHT_SYMTAB) ??
      this.sections.find((s) => s.type === C.SHT_DYNSYM);
    if (!tab) {
      this.symbolTable = null;
      return undefined;
    }
    const strtab = this.sections[tab.link];
    if (!strtab) throw new FormatError(tab.name, 0, `string table index ${tab.link} is out of range`);
    this.symbolTable = new SymbolTable(this.readSection(tab), this.stringTable(strtab));
    return this.symbolTable;
  }

  /** A string table read in pieces (whole only when asked, and then not kept). */
  private stringTable(sec: Section): StringTable {
    if (sec.type === C.SHT_NOBITS || sec.flags & C.SHF_COMPRESSED || sec.name.startsWith('.zdebug')) {
      const bytes = this.readSection(sec); // compressed: held, as there is no reading it in pieces
      return {
        name: sec.name,
        size: bytes.length,
        read: (off, n) => bytes.subarray(off, off + n),
        whole: () => bytes,
      };
    }
    return {
      name: sec.name,
      size: sec.size,
      read: (off, n) =>
        this.source.read(sec.offset + off, Math.min(n, sec.size - off), `${sec.name} at ${hex(off)}`),
      whole: () => this.readSection(sec),
    };
  }

  /** All symbols of .symtab (or .dynsym if there is no .symtab), decoded anew on each call. */
  symbols(): readonly ElfSymbol[] {
    return this.symtab()?.all() ?? [];
  }

  /** Whether the file has a static symbol table (.symtab). */
  get hasSymtab(): boolean {
    return this.sections.some((s) => s.type === C.SHT_SYMTAB);
  }

  /**
   * The first symbol with this exact name: a hash lookup (the index is built on first use),
   * and the answer remembered, so that what a prepare looked up costs no read later (inside
   * a pause) nor, once stored, in the next process (see rememberSymbols).
   */
  symbol(name: string): ElfSymbol | undefined {
    const known = this.symbolAnswers.get(name);
    if (known !== undefined) return known ?? undefined;
    const found = this.symtab()?.lookup(name);
    if (this.symbolAnswers.size >= MAX_REMEMBERED_SYMBOLS) this.symbolAnswers.clear();
    this.symbolAnswers.set(name, found ?? null);
    return found;
  }

  /** The symbols looked up so far and the answers (null: no such symbol). */
  symbolsLookedUp(): ReadonlyMap<string, ElfSymbol | null> {
    return this.symbolAnswers;
  }

  /** Answers to lookups learned from another copy of the same bytes (see symbolsLookedUp). */
  rememberSymbols(answers: ReadonlyMap<string, ElfSymbol | null>): void {
    for (const [name, sym] of answers) this.symbolAnswers.set(name, sym);
  }

  /** The GNU build ID (hex), or the Go build ID, or undefined. */
  buildId(): string | undefined {
    if (this.buildIdCache === undefined) this.buildIdCache = this.gnuBuildId() ?? this.goBuildId() ?? null;
    return this.buildIdCache ?? undefined;
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

  /**
   * Bytes of the file image at a link-time address; zero-filled past the file-backed part
   * (.bss). A view of a held section (the pclntab) when it holds them; static data is read in
   * chunks kept for later calls; code is read anew (only probes read it).
   */
  readAt(a: LinkAddress, size: number): Uint8Array {
    const s = this.segmentForAddress(a);
    if (!s || a + size > s.vaddr + s.memsz)
      throw new PeriscopeError(
        'corrupt',
        `address ${hex(a)} (+${size}) is not mapped by any loadable segment of ${this.path}`,
      );
    for (const sec of this.heldImage) {
      if (a >= sec.addr && a + size <= sec.addr + sec.size) {
        const data = this.dataCache.get(sec.index)!;
        return data.subarray(a - sec.addr, a - sec.addr + size);
      }
    }
    const rel = a - s.vaddr;
    const fileBacked = Math.max(0, Math.min(size, s.filesz - rel));
    const what = `data at ${hex(a)}`;
    const part = (n: number): Uint8Array =>
      s.flags & C.PF_X
        ? this.source.read(s.offset + rel, n, what)
        : this.staticBytes(s.offset + rel, n, what);
    if (fileBacked === size) return part(size);
    const out = new Uint8Array(size);
    if (fileBacked > 0) out.set(part(fileBacked));
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

/** Whether a section's bytes are compressed in the file (SHF_COMPRESSED, or a legacy .zdebug_ one). */
function isCompressed(s: Section): boolean {
  return s.type !== C.SHT_NOBITS && ((s.flags & C.SHF_COMPRESSED) !== 0 || s.name.startsWith('.zdebug_'));
}

/** Whether a section is part of the loaded image, as the file holds it (not compressed, not .bss). */
function isImage(s: Section): boolean {
  return (s.flags & C.SHF_ALLOC) !== 0 && s.type !== C.SHT_NOBITS && !(s.flags & C.SHF_COMPRESSED);
}

function pageDown(x: number): number {
  return x - (x % 4096);
}

function align4(x: number): number {
  return (x + 3) & ~3;
}

/** Opens an ELF file for reading on demand, with a clear error if it cannot be read. */
export async function openElf(path: string): Promise<ElfFile> {
  return ElfFile.open(path);
}
