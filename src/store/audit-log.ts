/**
 * The audit log of a data directory: `audit.jsonl`, one JSON entry per line, only ever appended
 * to (mode 0600; nothing in Periscope rewrites or truncates it). Each entry carries the SHA-256
 * of the line before it, so a line edited or removed afterwards breaks the chain, which
 * `verify` reports. User SQL cannot read it: the server's DuckDB has no file access (see
 * docs/security.md). Appends are synchronous: the entry is on disk before the answer leaves.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { PeriscopeError } from '../common/errors.js';
import type { AuditEntry, AuditFilter, AuditIntegrity, AuditRecord } from './audit-types.js';

/** The file that holds the audit log inside a data directory. */
export const AUDIT_FILE = 'audit.jsonl';

/** Longest text (SQL, spec, selector) kept in one field; longer ones are cut and marked. */
export const MAX_AUDIT_TEXT = 64 * 1024;

const TAIL_CHUNK = 256 * 1024;

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

/** The append-only audit log of one data directory. */
export class AuditLog {
  readonly path: string;
  /** Size of the file after our last append, or -1 before we know it. */
  private knownSize = -1;
  private lastHash = '';
  private lastSeq = 0;

  constructor(readonly dataDir: string) {
    this.path = join(dataDir, AUDIT_FILE);
  }

  /** Writes one entry (synchronously) and returns it as stored. */
  append(record: AuditRecord): AuditEntry {
    mkdirSync(this.dataDir, { recursive: true });
    const fd = openSync(this.path, 'a', 0o600);
    try {
      this.catchUp();
      const entry: AuditEntry = {
        seq: this.lastSeq + 1,
        at: new Date().toISOString(),
        action: record.action,
        actor: record.actor,
        source: record.source,
        outcome: record.outcome,
        details: record.details,
        prev: this.lastHash,
      };
      const line = JSON.stringify(entry);
      const bytes = Buffer.from(`${line}\n`);
      writeSync(fd, bytes);
      this.lastHash = sha256(line);
      this.lastSeq = entry.seq;
      this.knownSize = statSync(this.path).size;
      return entry;
    } finally {
      closeSync(fd);
    }
  }

  /** The entries that match, oldest first (the newest `limit` of them). */
  list(filter: AuditFilter = {}): { entries: AuditEntry[]; total: number } {
    const hits = this.entries().filter((e) => matches(e, filter));
    const limit = filter.limit ?? hits.length;
    return { entries: hits.slice(Math.max(0, hits.length - limit)), total: hits.length };
  }

  /** The file as stored, for export (verifiable with `verify` or by hand). */
  raw(): string {
    try {
      return readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  }

  /** Checks the chain of hashes over the whole file. */
  verify(): AuditIntegrity {
    const lines = this.lines();
    let prev = '';
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      let entry: Partial<AuditEntry>;
      try {
        entry = JSON.parse(line) as Partial<AuditEntry>;
      } catch {
        return { ok: false, entries: lines.length, brokenAtLine: i + 1 };
      }
      if (entry.prev !== prev) return { ok: false, entries: lines.length, brokenAtLine: i + 1 };
      prev = sha256(line);
    }
    return { ok: true, entries: lines.length };
  }

  private lines(): string[] {
    return this.raw()
      .split('\n')
      .filter((l) => l !== '');
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

  /** Reads the last line's hash and seq when the file changed since our last append (another writer). */
  private catchUp(): void {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      size = 0;
    }
    if (size === this.knownSize) return;
    this.knownSize = size;
    const last = size === 0 ? '' : lastLine(this.path, size);
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
}

/** The last complete line of a file (without its newline). */
function lastLine(path: string, size: number): string {
  const fd = openSync(path, 'r');
  try {
    for (let chunk = Math.min(size, TAIL_CHUNK); ; chunk = Math.min(size, chunk * 4)) {
      const buf = Buffer.alloc(chunk);
      readSync(fd, buf, 0, chunk, size - chunk);
      const text = buf.toString('utf8').replace(/\n$/, '');
      const nl = text.lastIndexOf('\n');
      if (nl >= 0 || chunk === size) return text.slice(nl + 1);
    }
  } finally {
    closeSync(fd);
  }
}

function matches(e: AuditEntry, f: AuditFilter): boolean {
  if (f.since && e.at < f.since) return false;
  if (f.until && e.at > f.until) return false;
  if (f.actions && f.actions.length > 0 && !f.actions.includes(e.action)) return false;
  if (f.actor && e.actor.name !== f.actor && e.actor.tokenId !== f.actor) return false;
  return true;
}
