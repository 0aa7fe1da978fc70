/**
 * Scalars to JSON: integers (numbers when exact, decimal strings beyond ±2^53), floats
 * (numbers; NaN and infinities as strings), complex numbers, booleans and the bytes of Go
 * strings (UTF-8, invalid bytes escaped as \xNN).
 */

/** A JSON-ready scalar. */
export type Scalar = number | string | boolean | { real: number | string; imag: number | string };

const SAFE = Number.MAX_SAFE_INTEGER;

/** A signed or unsigned integer of `size` bytes at `off`. */
export function decodeInt(b: Uint8Array, off: number, size: number, signed: boolean): number | string {
  const dv = new DataView(b.buffer, b.byteOffset + off, size);
  switch (size) {
    case 1:
      return signed ? dv.getInt8(0) : dv.getUint8(0);
    case 2:
      return signed ? dv.getInt16(0, true) : dv.getUint16(0, true);
    case 4:
      return signed ? dv.getInt32(0, true) : dv.getUint32(0, true);
    case 8: {
      const v = signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true);
      return v >= -SAFE && v <= SAFE ? Number(v) : v.toString();
    }
    default:
      return `?int${size * 8}`;
  }
}

/** The shortest decimal that reads back as the same float32 (so 0.1f renders as 0.1). */
function shortestFloat32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

/** A float as JSON: a number, or "NaN", "+Inf", "-Inf". */
export function floatJson(x: number): number | string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return x;
}

/** A float32 or float64 at `off`. */
export function decodeFloat(b: Uint8Array, off: number, size: number): number | string {
  const dv = new DataView(b.buffer, b.byteOffset + off, size);
  if (size === 4) {
    const x = dv.getFloat32(0, true);
    return Number.isFinite(x) ? shortestFloat32(x) : floatJson(x);
  }
  return floatJson(dv.getFloat64(0, true));
}

/** A complex64 or complex128 at `off`, as {real, imag}. */
export function decodeComplex(
  b: Uint8Array,
  off: number,
  size: number,
): { real: number | string; imag: number | string } {
  const half = size / 2;
  return { real: decodeFloat(b, off, half), imag: decodeFloat(b, off + half, half) };
}

/** Length in bytes of the UTF-8 sequence starting at `i`, or 0 if the bytes there are not valid UTF-8. */
function utf8SeqLen(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

const decoder = new TextDecoder('utf-8');

/**
 * The text of Go string bytes: valid UTF-8 as is, each invalid byte as the four
 * characters \xNN (as Go's %q would escape it). `complete` is false when `b` is a cut
 * prefix, so a sequence split by the cut is dropped rather than escaped.
 */
export function goStringText(b: Uint8Array, complete = true): string {
  let out = '';
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const n = utf8SeqLen(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (!complete && b.length - i < 4 && b[i]! >= 0xc2) break; // a sequence cut at the end
    out += decoder.decode(b.subarray(start, i));
    out += `\\x${b[i]!.toString(16).padStart(2, '0')}`;
    i++;
    start = i;
  }
  return out + decoder.decode(b.subarray(start, i));
}
