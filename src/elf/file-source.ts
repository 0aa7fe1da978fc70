/**
 * Where the bytes of an ELF file come from: positioned reads (pread) of a file descriptor kept
 * open, or bytes already in memory. A binary is never read whole: its headers first, then each
 * part on first use. Keeping the descriptor, not the path, means a binary that was deleted or
 * replaced since it was opened (through /proc/PID/exe) is still the one read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PeriscopeError } from '../common/errors.js';

/** The bytes of one file, read on demand. */
export interface FileSource {
  /** Size of the file in bytes. */
  readonly size: number;
  /** Modification time of the file (ms since the epoch) when opened; undefined for bytes in memory. */
  readonly mtimeMs: number | undefined;
  /**
   * `length` bytes at `offset`: a view for bytes in memory, a new buffer for a file. Throws
   * 'truncated' when the file ends before `offset + length`.
   */
  read(offset: number, length: number, what: string): Uint8Array;
  /** Reads from the file so far (0 for bytes in memory): tests use it to see what was read when. */
  readonly reads: number;
  /** Bytes read from the file so far. */
  readonly bytesRead: number;
  /** Releases the file (later reads throw); bytes in memory stay readable. */
  close(): void;
}

/** A FileSource over bytes already in memory (a test's edited copy, a file read by someone else). */
export class MemorySource implements FileSource {
  readonly mtimeMs = undefined;
  readonly reads = 0;
  readonly bytesRead = 0;
  private readonly bytes: Uint8Array;
  private readonly path: string;

  constructor(bytes: Uint8Array, path: string) {
    this.bytes = bytes;
    this.path = path;
  }

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, length: number, what: string): Uint8Array {
    checkRange(this.path, this.bytes.length, offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }

  close(): void {}
}

/** Descriptors of FdSources that were dropped without close(): closed when collected. */
const unclosed = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
});

/** A FileSource reading an open file descriptor with pread; it owns the descriptor. */
export class FdSource implements FileSource {
  readonly size: number;
  readonly mtimeMs: number;
  reads = 0;
  bytesRead = 0;
  private fd: number | undefined;
  private readonly path: string;

  /** Takes ownership of `fd` (closed by close(), or when this object is collected). */
  constructor(fd: number, path: string) {
    this.fd = fd;
    this.path = path;
    const st = fstatSync(fd);
    this.size = st.size;
    this.mtimeMs = st.mtimeMs;
    unclosed.register(this, fd, this);
  }

  read(offset: number, length: number, what: string): Uint8Array {
    checkRange(this.path, this.size, offset, length, what);
    const fd = this.fd;
    if (fd === undefined)
      throw new PeriscopeError(
        'not-found',
        `${this.path} was closed before ${what} was read; open the binary again`,
      );
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, offset + done);
      if (n === 0)
        throw new PeriscopeError(
          'truncated',
          `${this.path} ended while reading ${what}: it was truncated after it was opened`,
        );
      done += n;
    }
    this.reads++;
    this.bytesRead += length;
    return new Uint8Array(out.buffer, out.byteOffset, length);
  }

  close(): void {
    if (this.fd === undefined) return;
    unclosed.unregister(this);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Opens a file for positioned reads, with a one-line error naming what went wrong. */
export function openFileSource(path: string, displayPath = path): FdSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw openError(displayPath, e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      throw new PeriscopeError('not-elf', `${displayPath} is a directory; give the path of a Go executable`);
    if (!st.isFile())
      throw new PeriscopeError(
        'not-elf',
        `${displayPath} is not a regular file; give the path of a Go executable`,
      );
    return new FdSource(fd, displayPath);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The PeriscopeError for a file that cannot be opened. */
export function openError(path: string, e: unknown): PeriscopeError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PeriscopeError('not-found', `${path}: no such file`);
  if (code === 'EISDIR')
    return new PeriscopeError('not-elf', `${path} is a directory; give the path of a Go executable`);
  if (code === 'EACCES')
    return new PeriscopeError('not-found', `${path}: permission denied; run as a user who can read it`);
  return new PeriscopeError('not-found', `${path}: cannot read (${code ?? (e as Error).message})`);
}

function checkRange(path: string, size: number, offset: number, length: number, what: string): void {
  if (offset < 0 || length < 0 || !Number.isSafeInteger(offset + length) || offset + length > size) {
    throw new PeriscopeError(
      'truncated',
      `${path} is truncated or corrupt: ${what} at 0x${offset.toString(16)} (+${length} bytes) lie beyond the end of the file (${size} bytes)`,
    );
  }
}
