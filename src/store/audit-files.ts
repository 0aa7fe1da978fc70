/**
 * The files of an audit log: the current `audit.jsonl` and the ones rotated out of it, named
 * `audit.<last seq, 12 digits>.jsonl` so that names sort in the order they were written. The
 * first entry of each file holds the hash of the last entry of the file before it, so the chain
 * runs unbroken through all of them.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** The file that holds the newest audit entries inside a data directory. */
export const AUDIT_FILE = 'audit.jsonl';

/** The size past which the current file is rotated before the next append, when not configured. */
export const DEFAULT_AUDIT_ROTATE_BYTES = 64 * 1024 * 1024;

const ROTATED = /^audit\.(\d{12})\.jsonl$/;
const TAIL_CHUNK = 256 * 1024;

/** The name a file gets when it is rotated out, after the last entry it holds. */
export function rotatedAuditName(lastSeq: number): string {
  return `audit.${String(lastSeq).padStart(12, '0')}.jsonl`;
}

/** The last sequence number a rotated file's name says it holds, or undefined for other names. */
export function rotatedLastSeq(name: string): number | undefined {
  const m = ROTATED.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The rotated files of a data directory, oldest first (names only). */
export function rotatedAuditFiles(dataDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter((n) => ROTATED.test(n)).sort();
}

/** The last complete line of a file of `size` bytes (without its newline). */
export function lastLine(path: string, size: number): string {
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
