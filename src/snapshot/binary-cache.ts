/**
 * Binaries are loaded once and shared by every process that runs them: the cache is keyed
 * by build ID (falling back to path + size + mtime when a binary has none).
 */
import { statSync } from 'node:fs';
import type { ElfFile } from '../elf/elf-file.js';
import { GoBinary } from '../gobinary/go-binary.js';

const cache = new Map<string, GoBinary>();

/** The GoBinary for an ELF image already read (e.g. from /proc/PID/exe), loaded once per build ID. */
export function binaryFor(elf: ElfFile): GoBinary {
  const key = elf.buildId() ?? fallbackKey(elf.path);
  let bin = cache.get(key);
  if (!bin) {
    bin = GoBinary.fromElf(elf);
    cache.set(key, bin);
  }
  return bin;
}

function fallbackKey(path: string): string {
  try {
    const s = statSync(path);
    return `${path}:${s.size}:${s.mtimeMs}`;
  } catch {
    return path;
  }
}

/** Number of binaries held (for tests and reports). */
export function cachedBinaries(): number {
  return cache.size;
}
