/**
 * The decompressed DWARF sections of one binary, kept beside its facts in the binary disk
 * cache, so that the next one-shot command reads them instead of inflating them again (for a
 * 184 MB binary, 95 MB of sections inflated from 27 MB):
 *
 *   "PSCPSECT"  u32 format version  u32 JSON length  JSON  (pad to 8)  section bytes
 *
 * The JSON names the binary (as facts-file.ts does) and each section's place, size and CRC-32,
 * checked when the section is read: a damaged section is refused (and inflated from the
 * binary instead), the file is never read whole.
 */
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { FdSource } from '../elf/file-source.js';
import { crc32, type FactsKey, sameKey } from './facts-file.js';

const MAGIC = 'PSCPSECT';
const FORMAT_VERSION = 1;
const HEAD = 16;

interface SectionRef {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly crc: number;
}

/** Writes the sections to a new private file at `path` (which must not exist). */
export function writeSectionsFile(
  path: string,
  key: FactsKey,
  sections: readonly (readonly [string, Uint8Array])[],
): number {
  const refs: SectionRef[] = [];
  let offset = 0;
  for (const [name, bytes] of sections) {
    refs.push({ name, offset, size: bytes.length, crc: crc32(bytes) });
    offset += align8(bytes.length);
  }
  const text = Buffer.from(JSON.stringify({ key, sections: refs }), 'utf8');
  const head = Buffer.alloc(align8(HEAD + text.length));
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(FORMAT_VERSION, 8);
  head.writeUInt32LE(text.length, 12);
  text.copy(head, HEAD);
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    let at = 0;
    const put = (b: Uint8Array): void => {
      for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done, at + done);
      at += b.length;
    };
    put(head);
    const pad = new Uint8Array(8);
    for (const [, bytes] of sections) {
      put(bytes);
      put(pad.subarray(0, align8(bytes.length) - bytes.length));
    }
    return at;
  } finally {
    closeSync(fd);
  }
}

/** An open sections file: each section read (and checked) when asked for. */
export class SectionsFile {
  private readonly source: FdSource;
  private readonly refs: Map<string, SectionRef>;
  private readonly dataStart: number;
  private readonly refused: (name: string) => void;

  private constructor(
    source: FdSource,
    refs: Map<string, SectionRef>,
    dataStart: number,
    refused: (name: string) => void,
  ) {
    this.source = source;
    this.refs = refs;
    this.dataStart = dataStart;
    this.refused = refused;
  }

  /**
   * Opens the file at `path` if it holds sections of `key`'s binary; else says why not.
   * `refused` is told of each section whose bytes fail their check when read.
   */
  static open(
    path: string,
    key: FactsKey,
    refused: (name: string) => void = () => {},
  ): SectionsFile | string {
    let source: FdSource;
    try {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      const st = fstatSync(fd);
      const uid = process.getuid?.() ?? st.uid;
      if (!st.isFile() || st.uid !== uid || (st.mode & 0o077) !== 0) {
        closeSync(fd);
        return 'not a private file of this user';
      }
      source = new FdSource(fd, path);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : (e as Error).message;
    }
    try {
      if (source.size < HEAD) throw new Error('truncated');
      const head = Buffer.from(source.read(0, HEAD, 'header'));
      if (head.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a sections file');
      if (head.readUInt32LE(8) !== FORMAT_VERSION) throw new Error('another format version');
      const n = head.readUInt32LE(12);
      const parsed = JSON.parse(Buffer.from(source.read(HEAD, n, 'header')).toString('utf8')) as {
        key: FactsKey;
        sections: SectionRef[];
      };
      if (!sameKey(parsed.key, key)) throw new Error('for another binary');
      const dataStart = align8(HEAD + n);
      const refs = new Map<string, SectionRef>();
      for (const r of parsed.sections) {
        if (typeof r.name !== 'string' || !(r.offset >= 0) || !(r.size >= 0))
          throw new Error('bad section entry');
        if (dataStart + r.offset + r.size > source.size) throw new Error('truncated');
        refs.set(r.name, r);
      }
      return new SectionsFile(source, refs, dataStart, refused);
    } catch (e) {
      source.close();
      return (e as Error).message;
    }
  }

  /** The names of the sections held. */
  get names(): string[] {
    return [...this.refs.keys()];
  }

  /** A section's bytes, or undefined when the file lacks it or its bytes fail their check. */
  read(name: string): Uint8Array | undefined {
    const r = this.refs.get(name);
    if (!r) return undefined;
    try {
      const b = this.source.read(this.dataStart + r.offset, r.size, name);
      if (crc32(b) === r.crc) return b;
    } catch {
      // Shorter than it was: refused as damaged.
    }
    this.refused(name);
    return undefined;
  }

  /** Closes the file. */
  close(): void {
    this.source.close();
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
