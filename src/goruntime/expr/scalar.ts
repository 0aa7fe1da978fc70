/**
 * Scalars of evaluated values and their encoding back into Go values: integers as bigint
 * (wrapping to their type's size, as Go's arithmetic does), floats rounded to float32 or
 * float64, complex numbers as pairs, strings as bytes (computed strings are placed in the
 * evaluation's scratch memory), pointer-like words as numbers.
 */
import { type Address, hex } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, u64At } from '../values/bytes.js';
import type { ValueContext } from '../values/context.js';
import { interfaceParts } from '../values/interfaces.js';
import { HARD_LIMITS } from '../values/render-limits.js';
import { type Const, roundRat } from './constants.js';
import { isComplexKind } from './gotypes.js';
import { fieldOffset, INT_KINDS, isFloatKind, isIntKind, kindOf, POINTER_KINDS, typeName } from './types.js';
import { ExprEvalError, type GoVal, load, readMem, rvalue, scratch, type Val } from './values.js';

/** A scalar view of a value, for operators. */
export type Scalar =
  | { readonly c: 'int'; readonly v: bigint }
  | { readonly c: 'float'; readonly v: number }
  | { readonly c: 'complex'; readonly re: number; readonly im: number }
  | { readonly c: 'string'; readonly v: Uint8Array }
  | { readonly c: 'bool'; readonly v: boolean }
  | { readonly c: 'nil' }
  /** A pointer-like word (pointers, maps, chans, funcs, slices' data, interfaces' type word). */
  | { readonly c: 'word'; readonly v: number };

/** The scalar of a constant (floats rounded to float64). */
export function constScalar(c: Const): Scalar {
  if (c.k === 'bool') return { c: 'bool', v: c.v };
  if (c.k === 'string') return { c: 'string', v: c.v };
  if (c.im.n !== 0n) return { c: 'complex', re: roundRat(c.re, 53), im: roundRat(c.im, 53) };
  return c.re.d === 1n ? { c: 'int', v: c.re.n } : { c: 'float', v: roundRat(c.re, 53) };
}

/** The scalar of a value; strings are read in full up to the hard limit. */
export function scalarOf(ctx: ValueContext, v: Val): Scalar {
  if (v.k === 'const') return constScalar(v.c);
  if (v.k === 'bool') return { c: 'bool', v: v.v };
  if (v.k === 'nil') return { c: 'nil' };
  const d = ctx.dwarf;
  const k = kindOf(d, v.t);
  const b = load(ctx, v);
  if (isIntKind(k)) return { c: 'int', v: readInt(b, v.t.byteSize ?? 8, INT_KINDS[k]!) };
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (isFloatKind(k))
    return { c: 'float', v: k === 'float32' ? dv.getFloat32(0, true) : dv.getFloat64(0, true) };
  if (isComplexKind(k))
    return k === 'complex64'
      ? { c: 'complex', re: dv.getFloat32(0, true), im: dv.getFloat32(4, true) }
      : { c: 'complex', re: dv.getFloat64(0, true), im: dv.getFloat64(8, true) };
  if (k === 'bool') return { c: 'bool', v: b[0] !== 0 };
  if (k === 'string') return { c: 'string', v: stringBytes(ctx, v.t, b) };
  if (POINTER_KINDS.has(k)) return { c: 'word', v: ptrAt(b, 0) };
  if (k === 'slice') return { c: 'word', v: ptrAt(b, fieldOffset(d, v.t, 'array') ?? 0) };
  if (k === 'interface') return { c: 'word', v: interfaceParts(ctx, v.t, b).typeDescriptor };
  throw new ExprEvalError(`${typeName(v.t)} (kind ${k}) cannot be used as a scalar`);
}

/** The data pointer and length of a string value's header. */
export function stringHeader(ctx: ValueContext, v: GoVal): { ptr: Address; len: number } {
  const b = load(ctx, v);
  return {
    ptr: ptrAt(b, fieldOffset(ctx.dwarf, v.t, 'str') ?? 0),
    len: u64At(b, fieldOffset(ctx.dwarf, v.t, 'len') ?? 8),
  };
}

/** The bytes of a Go string value, read in full (an error beyond the hard limit). */
export function stringBytes(ctx: ValueContext, t: DwarfType, b: Uint8Array): Uint8Array {
  const d = ctx.dwarf;
  const ptr = ptrAt(b, fieldOffset(d, t, 'str') ?? 0);
  const len = u64At(b, fieldOffset(d, t, 'len') ?? 8);
  if (len === 0) return new Uint8Array(0);
  if (len > HARD_LIMITS.stringBytes)
    throw new ExprEvalError(
      `string of ${len} bytes is longer than ${HARD_LIMITS.stringBytes}, too long to compute with`,
    );
  return readMem(ctx, ptr, len);
}

/** A string value of type `t` whose header points at `ptr` (target or scratch memory). */
export function stringAt(ctx: ValueContext, t: DwarfType, ptr: number, len: number): GoVal {
  const out = new Uint8Array(t.byteSize ?? 16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(fieldOffset(ctx.dwarf, t, 'str') ?? 0, BigInt(ptr), true);
  dv.setBigUint64(fieldOffset(ctx.dwarf, t, 'len') ?? 8, BigInt(len), true);
  return rvalue(t, out);
}

/** A computed string of type `t` (its bytes go to scratch memory). */
export function newString(ctx: ValueContext, t: DwarfType, bytes: Uint8Array): GoVal {
  return stringAt(ctx, t, scratch(ctx).alloc(bytes), bytes.length);
}

/** A little-endian integer of `size` bytes as a bigint. */
export function readInt(b: Uint8Array, size: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = Math.min(size, b.length) - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

/** Encodes a number as a value of integer, float or complex type `t` (integers wrap as Go's do). */
export function encodeNumber(ctx: ValueContext, t: DwarfType, n: bigint | number, im = 0): GoVal {
  const k = kindOf(ctx.dwarf, t);
  const size = t.byteSize ?? 8;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  const x = typeof n === 'bigint' ? Number(n) : n;
  if (isFloatKind(k) || isComplexKind(k)) {
    const half = isComplexKind(k) ? size / 2 : size;
    if (half === 4) {
      dv.setFloat32(0, x, true);
      if (half !== size) dv.setFloat32(4, im, true);
    } else {
      dv.setFloat64(0, x, true);
      if (half !== size) dv.setFloat64(8, im, true);
    }
    return rvalue(t, out);
  }
  if (typeof n === 'number' && !Number.isInteger(n))
    throw new ExprEvalError(`${n} is not an integer and cannot be a ${typeName(t)}`);
  let v = BigInt.asUintN(size * 8, BigInt(n));
  for (let i = 0; i < size; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return rvalue(t, out);
}

/** A constant as a value of type `t` (it fits: the checker or the caller made sure). */
export function constToGo(ctx: ValueContext, t: DwarfType, c: Const): GoVal {
  const k = kindOf(ctx.dwarf, t);
  if (c.k === 'bool') return rvalue(t, Uint8Array.of(c.v ? 1 : 0));
  if (c.k === 'string') return newString(ctx, t, c.v);
  if (isFloatKind(k) || isComplexKind(k)) {
    const bits = k === 'float32' || k === 'complex64' ? 24 : 53;
    return encodeNumber(ctx, t, roundRat(c.re, bits), roundRat(c.im, bits));
  }
  if (!isIntKind(k)) throw new ExprEvalError(`a constant cannot be a ${typeName(t)}`);
  if (c.re.d !== 1n || c.im.n !== 0n)
    throw new ExprEvalError(`constant is not an integer: cannot be a ${typeName(t)}`);
  return encodeNumber(ctx, t, c.re.n);
}

/** An integer value (typed or constant) as a bigint, for indexes and shift counts. */
export function intValue(ctx: ValueContext, v: Val, what: string): bigint {
  const s = scalarOf(ctx, v);
  if (s.c !== 'int') throw new ExprEvalError(`${what} must be an integer, not ${scalarText(s)}`);
  return s.v;
}

/** Renders a scalar for messages. */
export function scalarText(s: Scalar): string {
  if (s.c === 'string') return JSON.stringify(new TextDecoder().decode(s.v));
  if (s.c === 'nil') return 'nil';
  if (s.c === 'word') return hex(s.v);
  if (s.c === 'complex') return `(${s.re}+${s.im}i)`;
  return String(s.v);
}
