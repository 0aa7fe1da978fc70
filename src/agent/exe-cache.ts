/**
 * Facts about executables (is it Go, its Go version, build ID, whether it was stripped),
 * cached by file identity (device, inode, size, mtime) so that each binary is examined once
 * however many processes run it. A non-Go binary costs a few small reads (ELF and section
 * headers); a Go binary its headers, notes and build info (`elf-peek.ts`), once; only one
 * whose build info predates Go 1.18 is read whole.
 */
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { ElfFile } from '../elf/elf-file.js';
import { readBuildInfo } from '../gobinary/buildinfo.js';
import { goSections, looksLikeGo } from '../gobinary/go-check.js';
import { buildInfoImage, type ElfPeek, peekElf } from './elf-peek.js';

export { sectionNames } from './elf-peek.js';

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

/**
 * The identity of the executable of `pid` (device, inode, size, mtime of /proc/PID/exe: one
 * stat); undefined when it cannot be read (kernel thread, gone, not ours to read).
 */
export function exeIdentity(pid: number): string | undefined {
  try {
    const st = statSync(`/proc/${pid}/exe`, { bigint: false, throwIfNoEntry: false });
    return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` : undefined;
  } catch {
    return undefined;
  }
}

/** Caches ExeFacts by file identity. */
export class ExeCache {
  private readonly entries = new Map<string, ExeFacts>();
  /** Go binaries read so far (headers and build info; for tests: a binary is read once). */
  reads = 0;
  /** Of those, the ones read whole (build info before Go 1.18). */
  wholeReads = 0;

  /** Facts about the executable of `pid`; undefined when it cannot be read (kernel thread, gone). */
  factsFor(pid: number): ExeFacts | undefined {
    const id = exeIdentity(pid);
    return id === undefined ? undefined : this.facts(pid, id);
  }

  /** Facts about the executable of `pid` whose identity is `id` (from exeIdentity); read only when the identity is new. */
  facts(pid: number, id: string): ExeFacts | undefined {
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit); // most recently used last
      return hit;
    }
    const facts = this.examine(`/proc/${pid}/exe`);
    if (!facts) return undefined;
    this.entries.set(id, facts);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    return facts;
  }

  private examine(path: string): ExeFacts | undefined {
    let peek: ElfPeek | undefined;
    let image: Uint8Array | undefined;
    try {
      const fd = openSync(path, 'r');
      try {
        peek = peekElf(fd);
        if (peek && goSections(peek.sections.map((s) => s.name))) image = buildInfoImage(fd, peek);
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined; // the process exited meanwhile: nothing to cache
    }
    if (!peek) return NOT_GO;
    const names = peek.sections.map((s) => s.name);
    if (!goSections(names)) return NOT_GO;
    if (!image) {
      try {
        const bytes = readFileSync(path);
        image = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      } catch {
        return undefined;
      }
      this.wholeReads++;
    }
    this.reads++;
    try {
      const elf = new ElfFile(image, path);
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
