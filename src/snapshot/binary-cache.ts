/**
 * The Go binaries of the processes a thread snapshots, each loaded once and shared by every
 * process that runs it: keyed by build ID (path + size + mtime when a binary has none), and
 * found without reading the file again for a process whose executable has a known identity
 * (device, inode, size, mtime). Bounded: the least recently used binaries are dropped.
 */
import { statSync } from 'node:fs';
import type { ElfFile } from '../elf/elf-file.js';
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
