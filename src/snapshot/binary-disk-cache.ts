/**
 * What was learned about each binary, kept on disk between one-shot commands and agent
 * restarts: a second `periscope snapshot --pid` or `inspect` of the same binary starts from it
 * instead of reading and indexing the binary again. One file per binary (and one of its
 * inflated sections), named by a hash of its build ID, file size, mtime and the Periscope
 * version (and holding them, checked on load), in a directory only its owner may read (the
 * entries describe a binary's internals), bounded in bytes and entries (the least recently
 * used go first). An entry that is damaged, truncated, of another format or for another
 * binary is ignored and replaced; nothing here ever fails a command.
 *
 * Several writers share a directory (the agent's capture and probe threads, a one-shot
 * command beside the agent), each knowing part of what is known of a binary. A write is
 * read-merge-replace under the directory's lock (disk-cache-lock.ts): what the entry on disk
 * holds and the writer lacks is kept. Files are written whole beside the entry and renamed
 * over it, so a reader (never locked) sees the old entry or the new one, never half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
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
import { type HeldLock, LOCK_FILE, lockCacheDir } from './disk-cache-lock.js';
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
  /**
   * How long a write waits for another writer of the directory, ms (default 2000; a 176 MiB
   * binary's first entry, 13.9 + 49.6 MiB in two writes, took 0.2–0.3 s in all at load 15):
   * past it the write is skipped and returns false, and the caller's next store tries again.
   */
  readonly lockWaitMs?: number;
}

const SUFFIX = '.facts';
const SECTIONS = '.sections';
const TMP = '.tmp';
/** A file being written that is this old was left by a process that died writing it, ms. */
const STALE_TMP_MS = 10 * 60_000;
const DEFAULT_MAX_BYTES = 1 << 30;
const DEFAULT_MAX_ENTRIES = 64;
const DEFAULT_LOCK_WAIT_MS = 2000;

/** Binary facts on disk, keyed by build ID, file size and mtime. */
export class BinaryDiskCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly lockWaitMs: number;
  private readonly log: (line: string) => void;
  private usable: boolean | undefined;
  /** Said once: why this directory cannot be locked. */
  private saidUnlocked = false;

  constructor(opts: DiskCacheOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.lockWaitMs = Math.max(0, opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
    this.log = opts.log ?? (() => {});
  }

  /**
   * The path of the entry for a binary (its sections file is the same path with SECTIONS).
   * The Periscope version is part of the name: two versions side by side (an upgrade, a
   * one-shot command of another release beside the agent) keep an entry each instead of
   * replacing each other's.
   */
  entryPath(key: FactsKey): string {
    const h = createHash('sha256')
      .update(`${key.buildId}\n${key.size}\n${key.mtimeMs}\n${key.periscope}`)
      .digest('hex');
    return join(this.dir, `${h.slice(0, 40)}${SUFFIX}`);
  }

  /** The decompressed sections stored for a binary, if any (the file stays open until closed). */
  loadSections(key: FactsKey): SectionsFile | undefined {
    if (!this.ready()) return undefined;
    const path = this.sectionsPath(key);
    const ino = inoOf(path);
    const f = SectionsFile.open(path, key, (name) => this.log(`refused ${name} of ${path}: damaged`));
    if (typeof f === 'string') {
      if (f !== 'absent') {
        this.log(`ignored ${path}: ${f}`);
        this.removeBad(path, ino);
      }
      return undefined;
    }
    this.log(`sections ${path}: ${f.names.join(' ')}`);
    return f;
  }

  /**
   * Stores a binary's decompressed sections with those of the stored file that `sections`
   * lacks (each checked as it is copied), then evicts; false when not stored.
   */
  storeSections(key: FactsKey, sections: readonly (readonly [string, Uint8Array])[]): boolean {
    if (!this.ready() || sections.length === 0) return false;
    const path = this.sectionsPath(key);
    return this.replace(key, path, (tmp) => {
      const mine = new Set(sections.map(([name]) => name));
      const kept: [string, Uint8Array][] = [];
      const stored = SectionsFile.open(path, key);
      if (typeof stored !== 'string') {
        try {
          for (const name of stored.names) {
            const bytes = mine.has(name) ? undefined : stored.read(name);
            if (bytes) kept.push([name, bytes]);
          }
        } finally {
          stored.close();
        }
      }
      return writeSectionsFile(tmp, key, [...sections, ...kept]);
    });
  }

  private sectionsPath(key: FactsKey): string {
    return this.entryPath(key).slice(0, -SUFFIX.length) + SECTIONS;
  }

  /**
   * The stored facts of a binary; undefined when there are none that can be used. `check`
   * (e.g. of the entry's shape) throws when the entry cannot be used: it is then ignored, as
   * a damaged one is.
   */
  load(key: FactsKey, check: (body: unknown) => void = () => {}): StoredFacts | undefined {
    if (!this.ready()) return undefined;
    const path = this.entryPath(key);
    let file: OwnFile;
    try {
      file = readOwnFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      this.log(code === 'ENOENT' ? `miss ${path}` : `ignored ${path}: ${(e as Error).message}`);
      if (code !== 'ENOENT') this.removeBad(path, inoOf(path));
      return undefined;
    }
    const d = decodeFacts(file.bytes, key);
    let why = d.ok ? undefined : d.why;
    if (d.ok) {
      try {
        check(d.body);
      } catch (e) {
        why = (e as Error).message;
      }
    }
    if (!d.ok || why !== undefined) {
      this.log(`ignored ${path}: ${why}`);
      this.removeBad(path, file.ino);
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

  /**
   * Stores the facts of a binary, then evicts what is over the bounds; false when not stored.
   * With `merge`, what is stored is `merge(body)` of the entry on disk for the same binary
   * (unchecked: `merge` throws when it cannot be used, and `facts` is stored alone), read
   * under the lock that every writer of the directory takes.
   */
  store(key: FactsKey, facts: StoredFacts, merge?: (onDisk: unknown) => StoredFacts): boolean {
    if (!this.ready()) return false;
    const path = this.entryPath(key);
    return this.replace(key, path, (tmp) => {
      const bytes = encodeFacts(key, merge ? this.merged(path, key, facts, merge) : facts);
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
      return bytes.length;
    });
  }

  /** `merge` of the entry at `path`, or `facts` when there is none that can be used. */
  private merged(
    path: string,
    key: FactsKey,
    facts: StoredFacts,
    merge: (onDisk: unknown) => StoredFacts,
  ): StoredFacts {
    let file: OwnFile;
    try {
      file = readOwnFile(path);
    } catch {
      return facts; // none, or not ours: replaced
    }
    const d = decodeFacts(file.bytes, key);
    if (!d.ok) return facts;
    try {
      return merge(d.body);
    } catch (e) {
      this.log(`ignored ${path}: ${(e as Error).message}`);
      return facts;
    }
  }

  /**
   * Writes the file at `path` anew under the directory's lock: `write` fills a new file
   * beside it (returning its size), which is renamed over it; then evicts (still locked).
   */
  private replace(key: FactsKey, path: string, write: (tmp: string) => number): boolean {
    const lock = this.lock(path);
    if (lock === 'busy') return false;
    const tmp = tmpPath(path);
    try {
      const bytes = write(tmp);
      renameSync(tmp, path);
      this.log(`stored ${path} (${bytes} bytes)`);
      this.evict(this.entryPath(key));
      return true;
    } catch (e) {
      this.log(`not stored ${path}: ${(e as Error).message}`);
      this.remove(tmp);
      return false;
    } finally {
      lock?.release();
    }
  }

  /** The directory's lock, 'busy' (said), or undefined when it cannot be had here (said once). */
  private lock(path: string): HeldLock | 'busy' | undefined {
    const l = lockCacheDir(this.dir, this.lockWaitMs);
    if (l === 'busy') {
      this.log(
        `not stored ${path}: another writer held ${join(this.dir, LOCK_FILE)} for ${this.lockWaitMs} ms; skipped (a later write stores it)`,
      );
      return 'busy';
    }
    if ('unsupported' in l) {
      if (!this.saidUnlocked)
        this.log(
          `writing without a lock in ${this.dir} (${l.unsupported}): two writers at once may drop what one of them stored, which is then learned again`,
        );
      this.saidUnlocked = true;
      return undefined;
    }
    return l;
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
   * the cache is within its bounds; the entry whose facts are at `keep` stays. Called with
   * the directory's lock held.
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

  /**
   * Removes a file found unusable, if it is still that file (inode `ino`): not an entry
   * another writer has renamed into its place since. Skipped while a writer is at work: it
   * replaces the file anyway.
   */
  private removeBad(path: string, ino: number | undefined): void {
    const lock = lockCacheDir(this.dir, 0);
    if (lock === 'busy') return;
    try {
      if (ino !== undefined && inoOf(path) === ino) this.remove(path);
    } finally {
      if ('release' in lock) lock.release();
    }
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
 * Where an entry is written before it is renamed into place: named by process, thread and a
 * random part, so that no two writers (threads of one process, processes of two containers
 * with the same pids) ever take each other's file, even when one writes without the lock.
 */
function tmpPath(path: string): string {
  return `${path}.${process.pid}-${threadId}-${randomBytes(4).toString('hex')}${TMP}`;
}

/** A file's bytes and inode. */
interface OwnFile {
  readonly bytes: Buffer;
  readonly ino: number;
}

/** Reads a regular file this user owns and no one else may read (not through a symlink). */
function readOwnFile(path: string): OwnFile {
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
    return { bytes: out, ino: st.ino };
  } finally {
    closeSync(fd);
  }
}

/** The inode of the file (or symlink) at `path`; undefined when there is none. */
function inoOf(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}
