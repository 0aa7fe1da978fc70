/**
 * The audit log of a data directory: `audit.jsonl`, one JSON entry per line, only ever appended
 * to (mode 0600; nothing in Periscope rewrites or truncates it). Each entry carries the SHA-256
 * of the line before it, so a line edited or removed afterwards breaks the chain, which
 * `verify` reports. Past a size the file is rotated (renamed, `audit-files.ts`) and the chain
 * goes on in a new one; listing, export and `verify` read all of them in order. User SQL cannot
 * read it: the server's DuckDB has no file access (see docs/security.md). Appends are
 * synchronous: the entry is on disk before the answer leaves.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { PeriscopeError } from '../common/errors.js';
import {
  AUDIT_FILE,
  DEFAULT_AUDIT_ROTATE_BYTES,
  lastLine,
  rotatedAuditFiles,
  rotatedAuditName,
} from './audit-files.js';
import type { AuditEntry, AuditFilter, AuditIntegrity, AuditRecord } from './audit-types.js';

export { AUDIT_FILE } from './audit-files.js';

/** Longest text (SQL, spec, selector) kept in one field; longer ones are cut and marked. */
export const MAX_AUDIT_TEXT = 64 * 1024;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A text for an entry: at most MAX_AUDIT_TEXT characters, with the original length when cut. */
export function auditText(text: string): { text: string; truncatedFrom?: number } {
  return text.length <= MAX_AUDIT_TEXT
    ? { text }
    : { text: text.slice(0, MAX_AUDIT_TEXT), truncatedFrom: text.length };
}

/** The actor of an action done on the data directory itself, by this machine's user. */
export function localActor(): { name: string } {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's random uid): keep "unknown"
  }
  return { name: `local:${user}` };
}

/** A rotated file deleted by retention, and the hash its successor's first entry chains to. */
export interface DroppedAuditFile {
  readonly file: string;
  readonly lastHash: string;
}

/** The append-only audit log of one data directory. */
export class AuditLog {
  readonly path: string;
  /** Size of the file after our last append, or -1 before we know it. */
  private knownSize = -1;
  private lastHash = '';
  private lastSeq = 0;
  private readonly rotateBytes: number;
  /** The current file, open for appends, and its inode (undefined: not open). */
  private fd: number | undefined;
  private ino = -1;

  /** `rotateBytes`: the current file is rotated before an append that would take it past this size. */
  constructor(
    readonly dataDir: string,
    opts: { readonly rotateBytes?: number } = {},
  ) {
    this.path = join(dataDir, AUDIT_FILE);
    this.rotateBytes = opts.rotateBytes ?? DEFAULT_AUDIT_ROTATE_BYTES;
  }

  /** Writes one entry (synchronously) and returns it as stored. */
  append(record: AuditRecord): AuditEntry {
    this.catchUp();
    const entry = this.nextEntry(record);
    const line = JSON.stringify(entry);
    const bytes = Buffer.from(`${line}\n`);
    // Rotated before the append that would pass the size (a single larger entry still goes in whole).
    if (this.knownSize > 0 && this.knownSize + bytes.length > this.rotateBytes) {
      renameSync(this.path, join(this.dataDir, rotatedAuditName(this.lastSeq)));
      this.closeFile();
      this.knownSize = 0;
    }
    writeSync(this.open(), bytes);
    this.lastHash = sha256(line);
    this.lastSeq = entry.seq;
    // What this append made of it: a later size that differs is another writer's entries.
    this.knownSize += bytes.length;
    return entry;
  }

  /** The current file's descriptor, opened (the directory made) when it is not open. */
  private open(): number {
    if (this.fd !== undefined) return this.fd;
    mkdirSync(this.dataDir, { recursive: true });
    const fd = openSync(this.path, 'a', 0o600);
    this.fd = fd;
    this.ino = fstatSync(fd).ino;
    return fd;
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.ino = -1;
  }

  /** Closes the file (the next append opens it again). */
  close(): void {
    this.closeFile();
  }

  private nextEntry(record: AuditRecord): AuditEntry {
    return {
      seq: this.lastSeq + 1,
      at: new Date().toISOString(),
      action: record.action,
      actor: record.actor,
      source: record.source,
      outcome: record.outcome,
      details: record.details,
      prev: this.lastHash,
    };
  }

  /** The entries that match, oldest first (the newest `limit` of them). */
  list(filter: AuditFilter = {}): { entries: AuditEntry[]; total: number } {
    const hits = this.entries().filter((e) => matches(e, filter));
    const limit = filter.limit ?? hits.length;
    return { entries: hits.slice(Math.max(0, hits.length - limit)), total: hits.length };
  }

  /** The files as stored, oldest first, one after the other, for export (verifiable with `verify` or by hand). */
  raw(): string {
    return this.files()
      .map((f) => readText(join(this.dataDir, f)))
      .join('');
  }

  /**
   * Checks the chain of hashes over every file, oldest first. When retention deleted older
   * files, the oldest entry kept chains to a hash no longer on disk: that is accepted (and
   * reported as `startsAfter`) only when a later `retention.delete` entry names it as the last
   * hash of a file it deleted; otherwise the first line counts as the break.
   */
  verify(): AuditIntegrity {
    const files = this.files().map((file) => ({
      file,
      lines: splitLines(readText(join(this.dataDir, file))),
    }));
    const entries = files.reduce((n, f) => n + f.lines.length, 0);
    const first = files.find((f) => f.lines.length > 0);
    let prev = '';
    try {
      prev = String((JSON.parse(first?.lines[0] ?? '{}') as { prev?: unknown }).prev ?? '');
    } catch {
      // reported below as a break at that line
    }
    const startsAfter = prev === '' ? undefined : prev;
    const anchors = new Set<string>();
    for (const { file, lines } of files) {
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] ?? '';
        let entry: Partial<AuditEntry>;
        try {
          entry = JSON.parse(line) as Partial<AuditEntry>;
        } catch {
          return { ok: false, entries, brokenAtLine: i + 1, file };
        }
        if (entry.prev !== prev) return { ok: false, entries, brokenAtLine: i + 1, file };
        prev = sha256(line);
        if (entry.action === 'retention.delete') for (const h of droppedHashes(entry)) anchors.add(h);
      }
    }
    if (startsAfter === undefined) return { ok: true, entries };
    if (!anchors.has(startsAfter))
      return { ok: false, entries, brokenAtLine: 1, file: first?.file ?? AUDIT_FILE };
    return { ok: true, entries, startsAfter };
  }

  /**
   * The rotated files whose newest entry is older than `cutoff` (never the current file),
   * oldest first, each with the hash the next file's first entry chains to; a file that does
   * not parse ends the list (it is evidence: kept with everything after it).
   */
  rotatedBefore(cutoff: Date): DroppedAuditFile[] {
    const out: DroppedAuditFile[] = [];
    for (const file of rotatedAuditFiles(this.dataDir)) {
      const path = join(this.dataDir, file);
      const last = lastLine(path, statSync(path).size);
      let at = '';
      try {
        at = String((JSON.parse(last) as { at?: unknown }).at ?? '');
      } catch {
        break;
      }
      if (at === '' || at >= cutoff.toISOString()) break;
      out.push({ file, lastHash: sha256(last) });
    }
    return out;
  }

  /** Deletes rotated files that `rotatedBefore` listed (after an entry naming them was appended). */
  drop(files: readonly DroppedAuditFile[]): void {
    for (const f of files) rmSync(join(this.dataDir, f.file), { force: true });
  }

  /** The names of the log's files, oldest first: the rotated ones, then the current one. */
  private files(): string[] {
    return [...rotatedAuditFiles(this.dataDir), AUDIT_FILE];
  }

  private lines(): string[] {
    return splitLines(this.raw());
  }

  private entries(): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (const line of this.lines()) {
      try {
        out.push(JSON.parse(line) as AuditEntry);
      } catch {
        // a damaged line is reported by verify(); listing shows the rest
      }
    }
    return out;
  }

  /**
   * Reads the last line's hash and seq when the file changed since our last append (another
   * writer); a file that is not the one held open (rotated or removed by another process) is
   * closed, and the path opened on the append.
   */
  private catchUp(): void {
    const st = statSync(this.path, { throwIfNoEntry: false });
    const same = st !== undefined && this.fd !== undefined && st.ino === this.ino;
    if (!same) this.closeFile();
    const size = st?.size ?? 0;
    if (same && size === this.knownSize) return;
    this.knownSize = size;
    const last = size === 0 ? this.lastRotatedLine() : lastLine(this.path, size);
    if (last === '') {
      this.lastHash = '';
      this.lastSeq = 0;
      return;
    }
    let seq: unknown;
    try {
      seq = (JSON.parse(last) as { seq?: unknown }).seq;
    } catch {
      throw new PeriscopeError(
        'corrupt',
        `the last line of ${this.path} is not an audit entry; move the file away (keep it: it is evidence) to start a new log`,
      );
    }
    this.lastHash = sha256(last);
    this.lastSeq = typeof seq === 'number' ? seq : 0;
  }

  /** The last line of the newest rotated file ('' when there is none): a new current file chains to it. */
  private lastRotatedLine(): string {
    const newest = rotatedAuditFiles(this.dataDir).at(-1);
    if (newest === undefined) return '';
    const path = join(this.dataDir, newest);
    const size = statSync(path).size;
    return size === 0 ? '' : lastLine(path, size);
  }
}

/** The last hashes of the audit files a `retention.delete` entry says it deleted. */
function droppedHashes(entry: Partial<AuditEntry>): string[] {
  const files = entry.details?.auditFilesDeleted;
  if (!Array.isArray(files)) return [];
  return files.flatMap((f: unknown) => {
    const h = (f as { lastHash?: unknown } | null)?.lastHash;
    return typeof h === 'string' ? [h] : [];
  });
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

function splitLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function matches(e: AuditEntry, f: AuditFilter): boolean {
  if (f.since && e.at < f.since) return false;
  if (f.until && e.at > f.until) return false;
  if (f.actions && f.actions.length > 0 && !f.actions.includes(e.action)) return false;
  if (f.actor && e.actor.name !== f.actor && e.actor.tokenId !== f.actor) return false;
  return true;
}
