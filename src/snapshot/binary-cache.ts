/**
 * Binaries are loaded once and shared by every process that runs them: the cache is keyed
 * by build ID (falling back to path + size + mtime when a binary has none).
 */
import { readFileSync, statSync } from 'node:fs';
import { ElfFile } from '../elf/elf-file.js';
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

/** The binary with this build ID, if one is loaded. */
export function cachedBinary(buildId: string): GoBinary | undefined {
  return cache.get(buildId);
}

/** Largest file `binaryAt` reads. */
const MAX_BINARY_BYTES = 2 ** 31;

/**
 * The binary at `path` if it is a regular file whose build ID is `buildId` (a binary that no
 * process runs any more, found where it ran from), loaded once per build ID; else undefined.
 */
export function binaryAt(path: string, buildId: string): GoBinary | undefined {
  const hit = cache.get(buildId);
  if (hit) return hit;
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_BINARY_BYTES) return undefined;
    const bytes = readFileSync(path);
    const elf = new ElfFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
    return elf.buildId() === buildId ? binaryFor(elf) : undefined;
  } catch {
    return undefined; // gone, unreadable or not an ELF file: not that binary
  }
}

/** Number of binaries held (for tests and reports). */
export function cachedBinaries(): number {
  return cache.size;
}
