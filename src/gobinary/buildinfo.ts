/**
 * Go build info: the blob the linker writes at the start of `.go.buildinfo` (or, without
 * section headers, at a 16-aligned spot of a writable segment) holding the Go version and
 * the module-info text; `runtime.buildVersion` is the fallback for the version alone.
 */
import { linkAddr } from '../common/address.js';
import { ByteReader, decodeUtf8 } from '../common/bytes.js';
import { FormatError } from '../common/errors.js';
import { PF_W, PT_LOAD } from '../elf/elf-constants.js';
import type { ElfFile } from '../elf/elf-file.js';
import { type GoModule, type ModuleInfo, parseModuleInfo } from './buildinfo-text.js';
import { readGoString, readGoStringBytes } from './go-strings.js';
import { type GoVersion, tryParseGoVersion } from './go-version.js';

export type { BuildSetting, GoModule, ModuleInfo } from './buildinfo-text.js';

/** What a Go binary says about how it was built. */
export interface BuildInfo extends ModuleInfo {
  /** The toolchain's version string, e.g. "go1.24.13" (may carry " X:experiment"). */
  readonly goVersion: string;
  /** The parsed version, undefined for an unrecognisable string. */
  readonly version: GoVersion | undefined;
  /** Where it came from: the build-info blob, or only runtime.buildVersion. */
  readonly source: 'buildinfo' | 'runtime.buildVersion';
}

/** "\xff Go buildinf:" as bytes. */
const MAGIC_BYTES = Uint8Array.from([0xff, ...new TextEncoder().encode(' Go buildinf:')]);
const HEADER_SIZE = 32;
const FLAG_INLINE_STRINGS = 0x2;
const FLAG_BIG_ENDIAN = 0x1;
const SECTION = '.go.buildinfo';
// cmd/go brackets the module info with two 16-byte sentinels.
const SENTINEL_LEN = 16;

/** Reads a binary's build info; undefined when it has neither the blob nor runtime.buildVersion. */
export function readBuildInfo(elf: ElfFile): BuildInfo | undefined {
  const blob = findBlob(elf);
  if (blob) return decodeBlob(elf, blob.data, blob.offset);
  const sym = elf.symbol('runtime.buildVersion');
  if (!sym) return undefined;
  const goVersion = readGoString(elf, sym.value, 'runtime.buildVersion');
  return {
    goVersion,
    version: tryParseGoVersion(goVersion),
    source: 'runtime.buildVersion',
    path: '',
    main: undefined,
    deps: [],
    settings: [],
  };
}

/** The value of one build setting (e.g. "vcs.revision", "-ldflags"), if present. */
export function buildSetting(info: ModuleInfo, key: string): string | undefined {
  return info.settings.find((s) => s.key === key)?.value;
}

/** The module that is actually used for m: its replacement if it has one. */
export function effectiveModule(m: GoModule): GoModule {
  return m.replace ?? m;
}

function findBlob(elf: ElfFile): { data: Uint8Array; offset: number } | undefined {
  const sec = elf.section(SECTION);
  if (sec) {
    const data = elf.sectionData(sec);
    if (hasMagicAt(data, 0)) return { data, offset: 0 };
  }
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || !(seg.flags & PF_W)) continue;
    const data = elf.segmentData(seg);
    // The blob is 16-aligned in memory; segments are page-aligned, so offsets keep the alignment.
    const skew = (16 - (seg.vaddr % 16)) % 16;
    for (let i = data.indexOf(0xff, skew); i >= 0 && i < data.length; i = data.indexOf(0xff, i + 1)) {
      if ((i - skew) % 16 === 0 && hasMagicAt(data, i)) return { data, offset: i };
    }
  }
  return undefined;
}

function hasMagicAt(data: Uint8Array, at: number): boolean {
  if (at + HEADER_SIZE > data.length) return false;
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (data[at + i] !== MAGIC_BYTES[i]) return false;
  return true;
}

function decodeBlob(elf: ElfFile, data: Uint8Array, at: number): BuildInfo | undefined {
  const r = new ByteReader(data, SECTION, at + MAGIC_BYTES.length);
  const ptrSize = r.u8();
  const flags = r.u8();
  let version: Uint8Array;
  let mod: Uint8Array;
  if (flags & FLAG_INLINE_STRINGS) {
    r.seek(at + HEADER_SIZE);
    version = r.take(r.uleb());
    mod = r.take(r.uleb());
  } else {
    // Before Go 1.18: two pointers to string headers.
    if (ptrSize !== 8 || flags & FLAG_BIG_ENDIAN)
      throw new FormatError(SECTION, at + 14, `unsupported pointer size ${ptrSize} or byte order`);
    const vp = r.u64();
    const mp = r.u64();
    version = headerBytes(elf, vp, 'Go version string');
    mod = headerBytes(elf, mp, 'Go module info');
  }
  const goVersion = decodeUtf8(version);
  if (goVersion === '') return undefined;
  if (mod.length >= 2 * SENTINEL_LEN + 1 && mod[mod.length - SENTINEL_LEN - 1] === 0x0a)
    mod = mod.subarray(SENTINEL_LEN, mod.length - SENTINEL_LEN);
  return {
    goVersion,
    version: tryParseGoVersion(goVersion),
    source: 'buildinfo',
    ...parseModuleInfo(decodeUtf8(mod)),
  };
}

function headerBytes(elf: ElfFile, header: number, what: string): Uint8Array {
  if (header === 0) return new Uint8Array();
  const r = new ByteReader(elf.readAt(linkAddr(header), 16), what);
  const ptr = r.u64();
  const len = r.u64();
  return readGoStringBytes(elf, linkAddr(ptr), len, what);
}
