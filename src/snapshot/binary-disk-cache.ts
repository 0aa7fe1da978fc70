/**
 * What was learned about each binary, kept on disk between one-shot commands: a second
 * `periscope snapshot --pid` or `inspect` of the same binary starts from it instead of
 * reading and indexing the binary again. One file per binary, named by a hash of its build
 * ID, file size and mtime (and holding them, checked on load), in a directory only its owner
 * may read (the entries describe a binary's internals), bounded in bytes and entries (the
 * least recently used go first). An entry that is damaged, truncated, of another format or
 * for another binary is ignored and replaced; nothing here ever fails a command.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { LineIndexData } from '../dwarf/line-index.js';
import type { NameMapData } from '../dwarf/name-map.js';
import type { ElfSymbol } from '../elf/elf-file.js';
import type { RuntimeLayout } from '../gobinary/runtime-layout.js';
import type { HostRanges } from '../goruntime/goroutines/index.js';
import { decodeFacts, encodeFacts, type FactsKey } from './facts-file.js';
import { SectionsFile, writeSectionsFile } from './sections-file.js';

/** What an entry holds: the parts of gobinary/binary-facts.ts as stored, frame-host ranges and inlined-only answers. */
export interface StoredFacts {
  readonly nameIndex?: {
    readonly functions: NameMapData;
    readonly types: NameMapData;
    readonly pcLow: Float64Array;
    readonly pcHigh: Float64Array;
    readonly pcDie: Float64Array;
    readonly runtimeTypeValues: Float64Array;
    readonly runtimeTypeDies: Float64Array;
    readonly unitCount: number;
    readonly version: number;
  };
  readonly lines?: LineIndexData;
  readonly runtimeLayout?: RuntimeLayout;
  readonly waitReasons?: readonly string[];
  readonly symbols?: ReadonlyMap<string, ElfSymbol | null>;
  /** Frame-host ranges by name set (goroutines/frame-hosts.ts). */
  readonly frameHosts?: readonly (readonly [string, HostRanges])[];
  /** Whether functions absent from the pclntab exist inlined (snapshot/capture-plan.ts). */
  readonly inlinedOnly?: readonly (readonly [string, boolean])[];
  /** The import paths that qualify a type name (goruntime/expr/scope.ts). */
  readonly typePackages?: readonly string[];
}

/** Where and how much a BinaryDiskCache keeps. */
export interface DiskCacheOptions {
  /** The directory (created with mode 0700; refused when another user owns it). */
  readonly dir: string;
  /** Most bytes of entries (default 1 GiB). */
  readonly maxBytes?: number;
  /** Most entries (default 64). */
  readonly maxEntries?: number;
  /** Told what happens (hits, misses, entries ignored and why), for debugging. */
  readonly log?: (line: string) => void;
}

const SUFFIX = '.facts';
const SECTIONS = '.sections';
const TMP = '.tmp';
/** A file being written that is this old was left by a process that died writing it, ms. */
const STALE_TMP_MS = 10 * 60_000;
const DEFAULT_MAX_BYTES = 1 << 30;
const DEFAULT_MAX_ENTRIES = 64;

/** Binary facts on disk, keyed by build ID, file size and mtime. */
export class BinaryDiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxEntries: number;
  private readonly log: (line: string) => void;
  private usable: boolean | undefined;

  constructor(opts: DiskCacheOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.log = opts.log ?? (() => {});
  }

  /** The path of the entry for a binary (its sections file is the same path with SECTIONS). */
  entryPath(key: FactsKey): string {
    const h = createHash('sha256').update(`${key.buildId}\n${key.size}\n${key.mtimeMs}`).digest('hex');
    return join(this.dir, `${h.slice(0, 40)}${SUFFIX}`);
  }

  /** The decompressed sections stored for a binary, if any (the file stays open until closed). */
  loadSections(key: FactsKey): SectionsFile | undefined {
    if (!this.ready()) return undefined;
    const path = this.sectionsPath(key);
    const f = SectionsFile.open(path, key, (name) => this.log(`refused ${name} of ${path}: damaged`));
    if (typeof f === 'string') {
      if (f !== 'absent') {
        this.log(`ignored ${path}: ${f}`);
        this.remove(path);
      }
      return undefined;
    }
    this.log(`sections ${path}: ${f.names.join(' ')}`);
    return f;
  }

  /** Stores a binary's decompressed sections (replacing what was stored), then evicts. */
  storeSections(key: FactsKey, sections: readonly (readonly [string, Uint8Array])[]): void {
    if (!this.ready() || sections.length === 0) return;
    const path = this.sectionsPath(key);
    const tmp = tmpPath(path);
    try {
      const bytes = writeSectionsFile(tmp, key, sections);
      renameSync(tmp, path);
      this.log(`stored ${path} (${bytes} bytes)`);
    } catch (e) {
      this.log(`not stored ${path}: ${(e as Error).message}`);
      this.remove(tmp);
      return;
    }
    this.evict(this.entryPath(key));
  }

  private sectionsPath(key: FactsKey): string {
    return this.entryPath(key).slice(0, -SUFFIX.length) + SECTIONS;
  }

  /** The stored facts of a binary; undefined when there are none that can be used. */
  load(key: FactsKey): StoredFacts | undefined {
    if (!this.ready()) return undefined;
    const path = this.entryPath(key);
    let bytes: Buffer;
    try {
      bytes = readOwnFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.log(code === 'ENOENT' ? `miss ${path}` : `ignored ${path}: ${(e as Error).message}`);
      if (code !== 'ENOENT') this.remove(path);
      return undefined;
    }
    const d = decodeFacts(bytes, key);
    if (!d.ok) {
      this.log(`ignored ${path}: ${d.why}`);
      this.remove(path);
      return undefined;
    }
    try {
      const now = new Date();
      utimesSync(path, now, statSync(path).mtime); // last use, for eviction (and to see a hit)
    } catch {
      // Gone meanwhile: it was read.
    }
    this.log(`hit ${path}`);
    return d.body as StoredFacts;
  }

  /** Removes a binary's entry that was loaded but turned out unusable (`why` is logged). */
  discard(key: FactsKey, why: string): void {
    const path = this.entryPath(key);
    this.log(`ignored ${path}: ${why}`);
    this.remove(path);
  }

  /** Stores the facts of a binary (replacing its entry), then evicts what is over the bounds. */
  store(key: FactsKey, facts: StoredFacts): void {
    if (!this.ready()) return;
    const path = this.entryPath(key);
    const tmp = tmpPath(path);
    try {
      const bytes = encodeFacts(key, facts);
      const fd = openSync(
        tmp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      this.log(`stored ${path} (${bytes.length} bytes)`);
    } catch (e) {
      this.log(`not stored ${path}: ${(e as Error).message}`);
      this.remove(tmp);
      return;
    }
    this.evict(path);
  }

  /** Whether the directory exists (or was created), is a directory, is ours and only ours. */
  private ready(): boolean {
    if (this.usable !== undefined) return this.usable;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(this.dir);
      const uid = process.getuid?.() ?? st.uid;
      if (!st.isDirectory()) throw new Error('not a directory');
      if (st.uid !== uid) throw new Error(`owned by uid ${st.uid}, not ${uid}`);
      if ((st.mode & 0o077) !== 0) throw new Error(`mode ${(st.mode & 0o777).toString(8)} lets others in`);
      this.usable = true;
    } catch (e) {
      this.log(`not using ${this.dir}: ${(e as Error).message}`);
      this.usable = false;
    }
    return this.usable;
  }

  /**
   * Drops the least recently used entries (facts and sections of one binary together) until
   * the cache is within its bounds; the entry whose facts are at `keep` stays.
   */
  private evict(keep: string): void {
    const stems = new Map<string, { size: number; used: number; files: string[] }>();
    try {
      for (const n of readdirSync(this.dir)) {
        if (n.endsWith(TMP)) {
          this.removeStale(join(this.dir, n));
          continue;
        }
        const suffix = n.endsWith(SUFFIX) ? SUFFIX : n.endsWith(SECTIONS) ? SECTIONS : undefined;
        if (!suffix) continue;
        const path = join(this.dir, n);
        const stem = path.slice(0, -suffix.length);
        try {
          const st = statSync(path);
          const e = stems.get(stem) ?? { size: 0, used: 0, files: [] };
          e.size += st.size;
          e.used = Math.max(e.used, st.atimeMs);
          e.files.push(path);
          stems.set(stem, e);
        } catch {
          // Gone meanwhile.
        }
      }
    } catch {
      return;
    }
    const entries = [...stems].sort((a, b) => a[1].used - b[1].used);
    let bytes = entries.reduce((n, [, e]) => n + e.size, 0);
    let count = entries.length;
    const keepStem = keep.slice(0, -SUFFIX.length);
    for (const [stem, e] of entries) {
      if (bytes <= this.maxBytes && count <= this.maxEntries) break;
      if (stem === keepStem) continue;
      for (const f of e.files) this.remove(f);
      this.log(`evicted ${stem}`);
      bytes -= e.size;
      count--;
    }
  }

  /** Removes a half-written entry left by a process that died (an agent killed mid-store). */
  private removeStale(path: string): void {
    try {
      if (Date.now() - lstatSync(path).mtimeMs < STALE_TMP_MS) return;
    } catch {
      return;
    }
    this.remove(path);
    this.log(`removed ${path}: left half-written`);
  }

  private remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // Gone already.
    }
  }
}

/**
 * Where an entry is written before it is renamed into place: named by process and thread, so
 * two threads of one process storing the same binary (the agent's capture and probe threads)
 * never take each other's file.
 */
function tmpPath(path: string): string {
  return `${path}.${process.pid}-${threadId}${TMP}`;
}

/** Reads a regular file this user owns and no one else may read (not through a symlink). */
function readOwnFile(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.() ?? st.uid;
    if (!st.isFile() || st.uid !== uid || (st.mode & 0o077) !== 0)
      throw new Error('not a private file of this user');
    const out = Buffer.allocUnsafe(st.size);
    for (let done = 0; done < st.size; ) {
      const n = readSync(fd, out, done, st.size - done, done);
      if (n === 0) throw new Error('shorter than its size');
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
