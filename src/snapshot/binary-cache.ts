/**
 * The Go binaries of the processes a thread snapshots, each loaded once and shared by every
 * process that runs it: keyed by build ID (path + size + mtime when a binary has none), and
 * found without reading the file again for a process whose executable has a known identity
 * (device, inode, size, mtime). Bounded: the least recently used binaries are dropped.
 */
import { readFileSync, statSync } from 'node:fs';
import { ElfFile } from '../elf/elf-file.js';
import { GoBinary } from '../gobinary/go-binary.js';
import { type ExecutableImage, executableImage } from '../proc/maps.js';
import { exeIdentity } from '../proc/process-info.js';

/** How much a BinaryCache holds. */
export interface BinaryCacheLimits {
  /** Most binaries held (default 16). */
  readonly maxBinaries?: number;
  /**
   * Most bytes of executable files held (default 1 GiB; the indexes built from them come on
   * top). The binary used last is kept even when it alone is larger.
   */
  readonly maxFileBytes?: number;
}

const DEFAULT_MAX_BINARIES = 16;
/** Largest file `binaryAt` reads. */
const MAX_BINARY_BYTES = 2 ** 31;
const DEFAULT_MAX_FILE_BYTES = 1 << 30;

/** Go binaries by build ID, least recently used first, with a bound on their number and size. */
export class BinaryCache {
  readonly maxBinaries: number;
  readonly maxFileBytes: number;
  /** Build-ID key → binary; Map order is use order (oldest first). */
  private readonly binaries = new Map<string, GoBinary>();
  /** Executable identity → build-ID key of the binary read from it. */
  private readonly files = new Map<string, string>();
  private fileBytes = 0;

  constructor(limits: BinaryCacheLimits = {}) {
    this.maxBinaries = Math.max(1, limits.maxBinaries ?? DEFAULT_MAX_BINARIES);
    this.maxFileBytes = limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  /** The binary process `pid` runs and its image in that process (path, mappings, load bias). */
  forProcess(pid: number): { readonly bin: GoBinary; readonly image: ExecutableImage } {
    const identity = exeIdentity(pid);
    const key = this.files.get(identity);
    const known = key === undefined ? undefined : this.use(key);
    if (known) return { bin: known, image: executableImage(pid, known.elf) };
    const image = executableImage(pid);
    const bin = this.binaryFor(image.elf);
    this.files.set(identity, this.keyOf(image.elf));
    // Each binary is usually run from one file; a few more identities per binary at most.
    if (this.files.size > 4 * this.maxBinaries) this.files.delete(this.files.keys().next().value as string);
    return { bin, image: bin.elf === image.elf ? image : { ...image, elf: bin.elf } };
  }

  /** The GoBinary for an ELF image already read, loaded once per build ID. */
  binaryFor(elf: ElfFile): GoBinary {
    const key = this.keyOf(elf);
    const hit = this.use(key);
    if (hit) return hit;
    const bin = GoBinary.fromElf(elf);
    this.binaries.set(key, bin);
    this.fileBytes += elf.bytes.length;
    this.evict();
    return bin;
  }

  /** The binary with this build ID, if one is held. */
  cached(buildId: string): GoBinary | undefined {
    return this.use(buildId);
  }

  /**
   * The binary at `path` if it is a regular file whose build ID is `buildId` (a binary that no
   * process runs any more, found where it ran from), loaded once per build ID; else undefined.
   */
  binaryAt(path: string, buildId: string): GoBinary | undefined {
    const hit = this.use(buildId);
    if (hit) return hit;
    try {
      const st = statSync(path);
      if (!st.isFile() || st.size > MAX_BINARY_BYTES) return undefined;
      const bytes = readFileSync(path);
      const elf = new ElfFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
      return elf.buildId() === buildId ? this.binaryFor(elf) : undefined;
    } catch {
      return undefined; // gone, unreadable or not an ELF file: not that binary
    }
  }

  /** Number of binaries held. */
  get size(): number {
    return this.binaries.size;
  }

  /** Drops every binary (they are freed once no prepared process refers to them). */
  clear(): void {
    this.binaries.clear();
    this.files.clear();
    this.fileBytes = 0;
  }

  private keyOf(elf: ElfFile): string {
    return elf.buildId() ?? fallbackKey(elf.path);
  }

  /** The binary under `key`, marked as used last. */
  private use(key: string): GoBinary | undefined {
    const bin = this.binaries.get(key);
    if (bin) {
      this.binaries.delete(key);
      this.binaries.set(key, bin);
    }
    return bin;
  }

  private evict(): void {
    while (
      this.binaries.size > 1 &&
      (this.binaries.size > this.maxBinaries || this.fileBytes > this.maxFileBytes)
    ) {
      const [key, bin] = this.binaries.entries().next().value as [string, GoBinary];
      this.binaries.delete(key);
      this.fileBytes -= bin.elf.bytes.length;
      for (const [identity, k] of this.files) if (k === key) this.files.delete(identity);
    }
  }
}

function fallbackKey(path: string): string {
  try {
    const s = statSync(path);
    return `${path}:${s.size}:${s.mtimeMs}`;
  } catch {
    return path;
  }
}

/**
 * The binaries of this thread's snapshots, for callers that do not hold a cache of their own
 * (the agent's capture thread, a CLI run): it lives as long as the thread.
 */
export const threadBinaries = new BinaryCache();

/** Number of binaries this thread's cache holds (for reports). */
export function cachedBinaries(): number {
  return threadBinaries.size;
}

/** threadBinaries.binaryFor: the GoBinary for an ELF image already read. */
export function binaryFor(elf: ElfFile): GoBinary {
  return threadBinaries.binaryFor(elf);
}

/** threadBinaries.cached: the binary with this build ID, if this thread holds it. */
export function cachedBinary(buildId: string): GoBinary | undefined {
  return threadBinaries.cached(buildId);
}

/** threadBinaries.binaryAt: the binary at `path` if its build ID is `buildId`. */
export function binaryAt(path: string, buildId: string): GoBinary | undefined {
  return threadBinaries.binaryAt(path, buildId);
}
