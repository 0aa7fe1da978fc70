/**
 * The bytes of one entry of the binary cache (binary-disk-cache.ts): what was learned about a
 * binary (gobinary/binary-facts.ts, plus the frame-host ranges of the specs compiled against
 * it), as a JSON part and the typed arrays beside it, loaded without parsing them:
 *
 *   "PSCPFACT"  u32 format version  u32 JSON length  JSON  (pad to 8)  arrays (each 8-aligned)
 *   u32 CRC-32 of everything before it
 *
 * The JSON names the binary the entry is for (build ID, file size and mtime) and where each
 * array is. Anything that does not check out (magic, version, checksum, bounds) is refused.
 */
import * as zlib from 'node:zlib';

/** zlib.crc32 where this Node.js has it (20.15 and later). */
const zlibCrc32 = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;

const MAGIC = 'PSCPFACT';
/** Bumped whenever what is stored, or how, changes: older entries are then ignored. */
export const FORMAT_VERSION = 1;
const HEAD = 16;

/** Which binary an entry describes, and which Periscope wrote it. */
export interface FactsKey {
  readonly buildId: string;
  readonly size: number;
  readonly mtimeMs: number;
  /**
   * The Periscope version that learned the facts: another version may store them otherwise
   * (or learn them otherwise), so its entries are ignored and replaced.
   */
  readonly periscope: string;
}

type ArrayKind = 'f64' | 'i32' | 'u8';
type StoredArray = Float64Array | Int32Array | Uint8Array;

interface ArrayRef {
  readonly kind: ArrayKind;
  readonly offset: number;
  readonly length: number;
}

interface Header {
  readonly key: FactsKey;
  readonly arrays: readonly ArrayRef[];
  readonly body: unknown;
}

/**
 * Encodes `body` (plain data: objects, arrays, strings, numbers, booleans, null, Maps and
 * typed arrays) for `key`.
 */
export function encodeFacts(key: FactsKey, body: unknown): Buffer {
  const arrays: StoredArray[] = [];
  const refs: ArrayRef[] = [];
  let offset = 0;
  const bodyJson = JSON.stringify(body, (_k, v: unknown) => {
    if (v instanceof Map) return { $map: [...v] };
    const kind = kindOf(v);
    if (!kind) return v;
    const a = v as StoredArray;
    refs.push({ kind, offset, length: a.length });
    arrays.push(a);
    offset += align8(a.byteLength);
    return { $array: refs.length - 1 };
  });
  // The array list is complete only once the body is written out.
  const json = `{"key":${JSON.stringify(key)},"arrays":${JSON.stringify(refs)},"body":${bodyJson}}`;
  const text = Buffer.from(json, 'utf8');
  const start = align8(HEAD + text.length);
  const out = Buffer.alloc(start + offset + 4);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(FORMAT_VERSION, 8);
  out.writeUInt32LE(text.length, 12);
  text.copy(out, HEAD);
  refs.forEach((r, i) => {
    const a = arrays[i]!;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), start + r.offset);
  });
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

/** Why bytes are not an entry for `key` (shown when debugging), or the entry's body. */
export type Decoded =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly why: string };

/** Decodes an entry, checking that it is whole and describes `key`. */
export function decodeFacts(bytes: Uint8Array, key: FactsKey): Decoded {
  if (bytes.length < HEAD + 4) return { ok: false, why: 'truncated' };
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.toString('latin1', 0, 8) !== MAGIC) return { ok: false, why: 'not a facts file' };
  const version = b.readUInt32LE(8);
  if (version !== FORMAT_VERSION)
    return { ok: false, why: `format version ${version}, not ${FORMAT_VERSION}` };
  if (b.readUInt32LE(b.length - 4) !== crc32(b.subarray(0, b.length - 4)))
    return { ok: false, why: 'checksum mismatch (truncated or damaged)' };
  const jsonLength = b.readUInt32LE(12);
  const start = align8(HEAD + jsonLength);
  if (start > b.length - 4) return { ok: false, why: 'truncated' };
  let header: Header;
  try {
    header = JSON.parse(b.toString('utf8', HEAD, HEAD + jsonLength)) as Header;
  } catch {
    return { ok: false, why: 'unreadable header' };
  }
  if (!sameKey(header.key, key)) return { ok: false, why: 'for another binary' };
  // Views need aligned offsets: copy the bytes once if the buffer itself is not aligned.
  const data = (b.byteOffset + start) % 8 === 0 ? b : Buffer.from(b);
  const arrays: StoredArray[] = [];
  for (const r of header.arrays ?? []) {
    const size = r.kind === 'f64' ? 8 : r.kind === 'i32' ? 4 : 1;
    const at = start + r.offset;
    if (
      !Number.isSafeInteger(r.offset) ||
      !Number.isSafeInteger(r.length) ||
      r.offset % 8 !== 0 ||
      r.length < 0
    )
      return { ok: false, why: 'bad array reference' };
    if (at + r.length * size > data.length - 4) return { ok: false, why: 'array past the end' };
    const base = data.byteOffset + at;
    arrays.push(
      r.kind === 'f64'
        ? new Float64Array(data.buffer, base, r.length)
        : r.kind === 'i32'
          ? new Int32Array(data.buffer, base, r.length)
          : new Uint8Array(data.buffer, base, r.length),
    );
  }
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (typeof o.$array === 'number') {
      const a = arrays[o.$array];
      if (!a) throw new RangeError('no such array');
      return a;
    }
    if (Array.isArray(o.$map)) return new Map(o.$map.map((e) => revive(e) as [unknown, unknown]));
    const out: Record<string, unknown> = {};
    for (const [kk, vv] of Object.entries(o)) out[kk] = revive(vv);
    return out;
  };
  try {
    return { ok: true, body: revive(header.body) };
  } catch {
    return { ok: false, why: 'bad array reference' };
  }
}

/** Whether a key read from a file is `key`. */
export function sameKey(k: FactsKey | undefined, key: FactsKey): boolean {
  return (
    !!k &&
    k.buildId === key.buildId &&
    k.size === key.size &&
    k.mtimeMs === key.mtimeMs &&
    k.periscope === key.periscope
  );
}

function kindOf(v: unknown): ArrayKind | undefined {
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint8Array) return 'u8';
  return undefined;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

let crcTable: Int32Array | undefined;

/** CRC-32 (zlib's; computed here on Node releases before 20.15, which lack zlib.crc32). */
export function crc32(b: Uint8Array): number {
  if (typeof zlibCrc32 === 'function') return zlibCrc32(b) >>> 0;
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
