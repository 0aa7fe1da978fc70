/**
 * Facts about executables (is it Go, its Go version, build ID, whether it was stripped),
 * cached by file identity (device, inode, size, mtime) so that each binary is examined once
 * however many processes run it. A non-Go binary costs a few small reads (ELF and section
 * headers); only a Go binary is read whole, once.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { ElfFile } from '../elf/elf-file.js';
import { readBuildInfo } from '../gobinary/buildinfo.js';
import { goSections, looksLikeGo } from '../gobinary/go-check.js';

/** What discovery needs to know about an executable. */
export interface ExeFacts {
  readonly isGo: boolean;
  readonly goVersion?: string;
  readonly buildId?: string;
  /** No DWARF (built with -ldflags=-w or stripped): snapshots of it fail with BINARY_STRIPPED. */
  readonly stripped?: boolean;
}

const NOT_GO: ExeFacts = { isGo: false };
const MAX_ENTRIES = 4096;

/** Section names in an ELF file, read through a few positioned reads (no whole-file read). */
export function sectionNames(fd: number): string[] | undefined {
  const hdr = Buffer.alloc(64);
  if (readSync(fd, hdr, 0, 64, 0) < 64) return undefined;
  if (hdr.readUInt32BE(0) !== 0x7f454c46 || hdr[4] !== 2 || hdr[5] !== 1) return undefined;
  const shoff = Number(hdr.readBigUInt64LE(0x28));
  const shentsize = hdr.readUInt16LE(0x3a);
  let shnum = hdr.readUInt16LE(0x3c);
  const shstrndx = hdr.readUInt16LE(0x3e);
  if (shoff === 0 || shentsize < 64) return undefined;
  if (shnum === 0) {
    const first = Buffer.alloc(64);
    readSync(fd, first, 0, 64, shoff);
    shnum = Number(first.readBigUInt64LE(0x20));
  }
  if (shnum > 65536 || shstrndx >= shnum) return undefined;
  const table = Buffer.alloc(shnum * shentsize);
  if (readSync(fd, table, 0, table.length, shoff) < table.length) return undefined;
  const strOff = Number(table.readBigUInt64LE(shstrndx * shentsize + 0x18));
  const strSize = Math.min(Number(table.readBigUInt64LE(shstrndx * shentsize + 0x20)), 1 << 20);
  const strs = Buffer.alloc(strSize);
  readSync(fd, strs, 0, strSize, strOff);
  const names: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = table.readUInt32LE(i * shentsize);
    const end = strs.indexOf(0, at);
    names.push(strs.toString('latin1', at, end < 0 ? strSize : end));
  }
  return names;
}

/** Caches ExeFacts by file identity. */
export class ExeCache {
  private readonly entries = new Map<string, ExeFacts>();
  /** Whole binaries read so far (for tests: a binary is read once). */
  fullReads = 0;

  /** Facts about the executable of `pid`; undefined when it cannot be read (kernel thread, gone). */
  factsFor(pid: number): ExeFacts | undefined {
    const path = `/proc/${pid}/exe`;
    let id: string;
    try {
      const st = statSync(path);
      id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit); // most recently used last
      return hit;
    }
    const facts = this.examine(path);
    if (!facts) return undefined;
    this.entries.set(id, facts);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    return facts;
  }

  private examine(path: string): ExeFacts | undefined {
    let names: string[] | undefined;
    try {
      const fd = openSync(path, 'r');
      try {
        names = sectionNames(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
    if (!names || !goSections(names)) return NOT_GO;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return undefined; // the process exited meanwhile: nothing to cache
    }
    this.fullReads++;
    try {
      const elf = new ElfFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
      if (!looksLikeGo(elf)) return NOT_GO;
      const stripped = !names.includes('.debug_info') && !names.includes('.zdebug_info');
      let goVersion: string | undefined;
      try {
        goVersion = readBuildInfo(elf)?.goVersion;
      } catch {
        // Unreadable build info: the version label is left out.
      }
      return { isGo: true, goVersion, buildId: elf.buildId(), stripped };
    } catch {
      return NOT_GO;
    }
  }
}
