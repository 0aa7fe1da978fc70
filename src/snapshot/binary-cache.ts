/**
 * The Go binaries of the processes a thread snapshots, each loaded once and shared by every
 * process that runs it: keyed by build ID (path + size + mtime when a binary has none), and
 * found without reading the file again for a process whose executable has a known identity
 * (device, inode, size, mtime). Bounded: the least recently used binaries are dropped.
 */
import { statSync } from 'node:fs';
import { collectGarbageNow } from '../common/gc.js';
import { ElfFile } from '../elf/elf-file.js';
import { GoBinary } from '../gobinary/go-binary.js';
import { type ExecutableImage, executableImage } from '../proc/maps.js';
import { exeIdentity } from '../proc/process-info.js';
import type { BinaryDiskCache, StoredFacts } from './binary-disk-cache.js';
import {
  checkStoredFacts,
  factsKey,
  factsOfStored,
  factsSignature,
  mergeWithStored,
  seedStoredFrameHosts,
  storedFactsOf,
} from './stored-facts.js';

/** How much a BinaryCache holds. */
export interface BinaryCacheLimits {
  /** Most binaries held (default 16). */
  readonly maxBinaries?: number;
  /**
   * Most memory the binaries held may take, estimated from their files (estimatedMemory;
   * default DEFAULT_MAX_MEMORY_BYTES). The binary used last is kept even when it alone is larger.
   */
  readonly maxMemoryBytes?: number;
}

const DEFAULT_MAX_BINARIES = 16;
/** Largest file `binaryAt` reads. */
const MAX_BINARY_BYTES = 2 ** 31;

/**
 * Memory a loaded binary takes per byte of its file: measured 1.38–1.45x on a 176 MiB binary
 * with DWARF (bench/binary-memory.ts, docs/performance.md), rounded up.
 */
const MEMORY_PER_FILE_BYTE = 1.5;

/** The memory a binary whose file has `fileBytes` bytes takes once loaded (an estimate, rounded up). */
export function estimatedMemory(fileBytes: number): number {
  return Math.ceil(fileBytes * MEMORY_PER_FILE_BYTE);
}

/**
 * What the agent needs besides its binaries, for the default bound below: Node and the
 * capture thread (~100 MB) and a snapshot of 100k goroutines being decoded and encoded
 * (peak RSS ~480 MiB, bench/big-snapshot.ts), rounded up.
 */
export const AGENT_RUNTIME_BYTES = 640 << 20;

/**
 * The default bound on the binaries' estimated memory: two 233 MB binaries (the largest
 * service seen, old and new build side by side in a rollout: 2 x 1.5 x 233 MB = 667 MiB)
 * fit, and with AGENT_RUNTIME_BYTES stay under the systemd unit's MemoryMax (1536M,
 * deploy/periscope-agent.service; test/snapshot/binary-cache.test.ts checks both). It was
 * 1 GiB of files: at 1.4x that alone could pass the unit's limit.
 */
export const DEFAULT_MAX_MEMORY_BYTES = 768 << 20;

/** Go binaries by build ID, least recently used first, with a bound on their number and size. */
export class BinaryCache {
  readonly maxBinaries: number;
  readonly maxMemoryBytes: number;
  /** Build-ID key → binary; Map order is use order (oldest first). */
  private readonly binaries = new Map<string, GoBinary>();
  /** Executable identity → build-ID key of the binary read from it. */
  private readonly files = new Map<string, string>();
  /** Estimated memory of the binaries held. */
  private memoryBytes = 0;
  private disk: BinaryDiskCache | undefined;
  /** What of each binary is in the disk cache (factsSignature), to store only what is new. */
  private readonly storedAs = new WeakMap<GoBinary, string>();
  /** The sections each file's stored copy holds. */
  private readonly copiesHeld = new WeakMap<ElfFile, string[]>();

  constructor(limits: BinaryCacheLimits = {}) {
    this.maxBinaries = Math.max(1, limits.maxBinaries ?? DEFAULT_MAX_BINARIES);
    this.maxMemoryBytes = limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
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
    if (bin.elf === image.elf) return { bin, image };
    image.elf.close(); // a copy of a binary held already: its headers were all that was needed
    return { bin, image: { ...image, elf: bin.elf } };
  }

  /**
   * Keeps what is learned about each binary in `disk` too, and starts each binary not held
   * yet from what `disk` has for it (undefined: no more).
   */
  useDisk(disk: BinaryDiskCache | undefined): void {
    this.disk = disk;
  }

  /** The GoBinary for an ELF image already read, loaded once per build ID. */
  binaryFor(elf: ElfFile): GoBinary {
    const key = this.keyOf(elf);
    const hit = this.use(key);
    if (hit) return hit;
    const stored = this.loadStored(elf);
    this.loadCopies(elf);
    const bin = GoBinary.fromElf(elf, stored && factsOfStored(stored));
    if (stored) {
      seedStoredFrameHosts(bin, stored);
      this.storedAs.set(bin, factsSignature(stored));
    } else {
      bin.loadIndexes();
      // Loading leaves tens of megabytes of garbage: collected now, before a prepare adds its own.
      collectGarbageNow(0, 0);
    }
    this.binaries.set(key, bin);
    this.memoryBytes += estimatedMemory(elf.fileSize);
    this.evict();
    return bin;
  }

  /** The Go binary at `path` (opened for reading on demand), loaded once per build ID. */
  open(path: string): GoBinary {
    const elf = ElfFile.open(path);
    try {
      const bin = this.binaryFor(elf);
      if (bin.elf !== elf) elf.close();
      return bin;
    } catch (e) {
      elf.close();
      throw e;
    }
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
      const elf = ElfFile.open(path);
      if (elf.buildId() === buildId) return this.binaryFor(elf);
      elf.close();
      return undefined;
    } catch {
      return undefined; // gone, unreadable or not an ELF file: not that binary
    }
  }

  /**
   * Stores in the disk cache (if one is used) what was learned about `bin` since it was
   * loaded or last stored (indexes, the frame hosts of the specs compiled), merged with what
   * the entry on disk holds (another thread or process may have stored what this one has
   * not learned): call after a prepare or a command's queries. What could not be stored
   * (another writer held the cache for too long) is tried again at the next call. Never throws.
   */
  persist(bin: GoBinary): void {
    const disk = this.disk;
    const key = disk && factsKey(bin.elf);
    if (!disk || !key) return;
    try {
      const facts = storedFactsOf(bin);
      const signature = factsSignature(facts);
      if (this.storedAs.get(bin) !== signature) {
        if (disk.store(key, facts, mergeWithStored(facts))) this.storedAs.set(bin, signature);
      }
      const held = bin.elf.decompressedSections();
      const have = this.copiesHeld.get(bin.elf) ?? [];
      if (held.some(([name]) => !have.includes(name)) && disk.storeSections(key, held))
        this.copiesHeld.set(
          bin.elf,
          held.map(([name]) => name),
        );
    } catch {
      // A cache: a binary it cannot store is read again next time.
    }
  }

  /** Points `elf` at the decompressed sections stored for it, if any. */
  private loadCopies(elf: ElfFile): void {
    const key = this.disk && factsKey(elf);
    const file = key && this.disk?.loadSections(key);
    if (!file) return;
    const held = file.names;
    elf.useDecompressedCopies((name) => {
      const copy = file.read(name);
      // A copy refused (damaged) is inflated from the binary, and the file stored again.
      if (!copy && held.includes(name)) held.splice(held.indexOf(name), 1);
      return copy;
    });
    this.copiesHeld.set(elf, held);
  }

  private loadStored(elf: ElfFile): StoredFacts | undefined {
    const key = this.disk && factsKey(elf);
    if (!this.disk || !key) return undefined;
    return this.disk.load(key, checkStoredFacts);
  }

  /** Number of binaries held. */
  get size(): number {
    return this.binaries.size;
  }

  /** Drops every binary (they are freed once no prepared process refers to them). */
  clear(): void {
    this.binaries.clear();
    this.files.clear();
    this.memoryBytes = 0;
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
      (this.binaries.size > this.maxBinaries || this.memoryBytes > this.maxMemoryBytes)
    ) {
      const [key, bin] = this.binaries.entries().next().value as [string, GoBinary];
      this.binaries.delete(key);
      this.memoryBytes -= estimatedMemory(bin.elf.fileSize);
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
