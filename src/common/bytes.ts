import { FormatError } from './errors.js';

const TWO32 = 0x1_0000_0000;

/**
 * A little-endian cursor over a byte view. All reads are bounds-checked and throw a
 * FormatError naming the section and offset; 64-bit values are returned as numbers when
 * they fit in 53 bits (addresses always do) — use u64big() when they might not.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly section: string;
  private readonly view: DataView;
  pos: number;

  constructor(bytes: Uint8Array, section: string, pos = 0) {
    this.bytes = bytes;
    this.section = section;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }

  get length(): number {
    return this.bytes.length;
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** Throws a FormatError at the current (or given) offset. */
  fail(message: string, at = this.pos): never {
    throw new FormatError(this.section, at, message);
  }

  private need(n: number): void {
    if (this.pos < 0 || this.pos + n > this.bytes.length) {
      this.fail(`needs ${n} byte(s) but only ${Math.max(0, this.bytes.length - this.pos)} remain`);
    }
  }

  seek(pos: number): this {
    if (pos < 0 || pos > this.bytes.length) this.fail(`seek to 0x${pos.toString(16)} is out of bounds`, pos);
    this.pos = pos;
    return this;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  i8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 3;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** Unsigned 64-bit as a number; throws if it does not fit in 53 bits. */
  u64(): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi >= 0x20_0000)
      this.fail(`64-bit value 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} exceeds 53 bits`);
    this.pos += 8;
    return hi * TWO32 + lo;
  }
  /** Signed 64-bit as a number; precision is lost only beyond 2^53. */
  i64(): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getInt32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO32 + lo;
  }
  u64big(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** Unsigned integer of 1, 2, 4 or 8 bytes. */
  uint(size: number): number {
    switch (size) {
      case 1:
        return this.u8();
      case 2:
        return this.u16();
      case 4:
        return this.u32();
      case 8:
        return this.u64();
      default:
        return this.fail(`unsupported integer size ${size}`);
    }
  }

  /** Unsigned LEB128 (exact up to 2^53). */
  uleb(): number {
    let result = 0;
    let mul = 1;
    const b = this.bytes;
    for (;;) {
      if (this.pos >= b.length) this.fail('truncated ULEB128');
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) return result;
      mul *= 128;
      if (mul > 2 ** 70) this.fail('ULEB128 is too long');
    }
  }
  /** Signed LEB128 (exact within ±2^53). */
  sleb(): number {
    let result = 0;
    let mul = 1;
    let byte: number;
    const b = this.bytes;
    do {
      if (this.pos >= b.length) this.fail('truncated SLEB128');
      byte = b[this.pos++]!;
      result += (byte & 0x7f) * mul;
      mul *= 128;
      if (mul > 2 ** 70) this.fail('SLEB128 is too long');
    } while (byte & 0x80);
    if (byte & 0x40) result -= mul;
    return result;
  }

  /** A NUL-terminated string (UTF-8). */
  cstring(): string {
    const b = this.bytes;
    const start = this.pos;
    const end = b.indexOf(0, start);
    if (end < 0) this.fail('unterminated string', start);
    this.pos = end + 1;
    return utf8.decode(b.subarray(start, end));
  }
  /** n raw bytes as a view (no copy). */
  take(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

const utf8 = new TextDecoder('utf-8');

/** Reads a NUL-terminated string at an offset of a byte view. */
export function cstringAt(bytes: Uint8Array, offset: number, section: string): string {
  if (offset < 0 || offset >= bytes.length)
    throw new FormatError(section, offset, 'string offset out of bounds');
  const end = bytes.indexOf(0, offset);
  if (end < 0) throw new FormatError(section, offset, 'unterminated string');
  return utf8.decode(bytes.subarray(offset, end));
}

/** Decodes bytes as UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}
