/** Compressed ELF sections: SHF_COMPRESSED (zlib; zstd is refused with advice) and legacy `.zdebug_*`. */
import { inflateSync } from 'node:zlib';
import { ByteReader, decodeUtf8 } from '../common/bytes.js';
import { FormatError, PeriscopeError } from '../common/errors.js';
import * as C from './elf-constants.js';
import type { Section } from './elf-file.js';

/** Inflates an SHF_COMPRESSED section (ELF Chdr header, then zlib data). */
export function decompressSection(sec: Section, data: Uint8Array): Uint8Array {
  const r = new ByteReader(data, sec.name);
  const chType = r.u32();
  r.u32(); // reserved
  const size = r.u64();
  r.u64(); // addralign
  if (chType === C.ELFCOMPRESS_ZSTD) {
    throw new PeriscopeError(
      'unsupported',
      `section ${sec.name} is zstd-compressed, which this Node.js cannot inflate; rebuild with -ldflags=-compressdwarf=false or zlib compression`,
    );
  }
  if (chType !== C.ELFCOMPRESS_ZLIB) throw new FormatError(sec.name, 0, `unknown compression type ${chType}`);
  return inflateChecked(sec.name, data.subarray(24), size);
}

/** Inflates a legacy `.zdebug_*` section ("ZLIB" + big-endian size + zlib data). */
export function decompressLegacy(sec: Section, data: Uint8Array): Uint8Array {
  if (data.length < 12 || decodeUtf8(data.subarray(0, 4)) !== 'ZLIB') return data;
  const size = new DataView(data.buffer, data.byteOffset + 4, 8).getBigUint64(0, false);
  return inflateChecked(sec.name, data.subarray(12), Number(size));
}

/** Largest output chunk zlib accepts (buffer.kMaxLength bounds it; 1 GiB is far above any section). */
const MAX_CHUNK = 1 << 30;
const SPARE = 64;

function inflateChecked(name: string, compressed: Uint8Array, size: number): Uint8Array {
  let out: Buffer;
  try {
    // One output chunk a little larger than the announced size: zlib fills that one buffer
    // and stops with room to spare. With the default 16 KiB chunks, or a chunk of exactly
    // the size (zlib then asks for another one), the section was held twice for a moment.
    out = inflateSync(compressed, {
      maxOutputLength: size + SPARE,
      chunkSize: Math.min(size + SPARE, MAX_CHUNK),
    });
  } catch (e) {
    throw new FormatError(name, 0, `cannot decompress: ${(e as Error).message}`);
  }
  if (out.length !== size)
    throw new FormatError(name, 0, `decompressed to ${out.length} bytes, header says ${size}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
