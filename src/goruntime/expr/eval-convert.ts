/**
 * Conversions `T(x)` during evaluation, with Go's semantics: integers wrap to the new size,
 * floats truncate toward zero into integers (a float out of the integer's range is an error:
 * Go leaves the result to the platform), integers round into floats, strings to and from
 * byte and rune slices (a byte conversion reuses the memory it reads, rune conversions decode
 * UTF-8 into scratch memory), integers to one-rune strings, values boxed into interfaces;
 * otherwise the same bits under the new type. Also real and imag.
 */
import { addr, type LinkAddress } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, u64At } from '../values/bytes.js';
import type { ValueContext } from '../values/context.js';
import { interfaceParts, isDirectIface } from '../values/interfaces.js';
import { HARD_LIMITS } from '../values/render-limits.js';
import { rat, roundRat } from './constants.js';
import { isComplexKind } from './gotypes.js';
import { defaultType } from './operand.js';
import { constToGo, encodeNumber, newString, scalarOf, stringAt, stringHeader } from './scalar.js';
import { basicType } from './synthetic-types.js';
import { elemOf, fieldOffset, INT_KINDS, isFloatKind, isIntKind, kindOf, typeName } from './types.js';
import {
  addressOf,
  ExprEvalError,
  type GoVal,
  load,
  lvalue,
  readMem,
  requireGo,
  rvalue,
  scratch,
  type Val,
} from './values.js';

/** `T(x)`; `itab` is the runtime address of the itab when T is a non-empty interface and x concrete. */
export function convert(ctx: ValueContext, v: Val, t: DwarfType, itab: LinkAddress | undefined): GoVal {
  const d = ctx.dwarf;
  const tk = kindOf(d, t);
  if (v.k === 'nil') return rvalue(t, new Uint8Array(t.byteSize ?? 8));
  if (v.k === 'bool') return rvalue(t, Uint8Array.of(v.v ? 1 : 0));
  if (v.k === 'const')
    return tk === 'interface'
      ? box(ctx, constToGo(ctx, defaultType(d, v.base), v.c), t, itab)
      : constToGo(ctx, t, v.c);
  const vk = kindOf(d, v.t);
  if (tk === 'interface') return vk === 'interface' ? reboxInterface(ctx, v, t) : box(ctx, v, t, itab);
  const s = () => scalarOf(ctx, v);
  if (isIntKind(tk) && isIntKind(vk)) return encodeNumber(ctx, t, (s() as { v: bigint }).v);
  if (isFloatKind(tk) && isIntKind(vk))
    return encodeNumber(ctx, t, roundRat(rat((s() as { v: bigint }).v), tk === 'float32' ? 24 : 53));
  if (isFloatKind(tk) && isFloatKind(vk)) {
    const x = (s() as { v: number }).v;
    return encodeNumber(ctx, t, tk === 'float32' ? Math.fround(x) : x);
  }
  if (isIntKind(tk) && isFloatKind(vk)) return floatToInt(ctx, (s() as { v: number }).v, t, tk);
  if (isComplexKind(tk) && isComplexKind(vk)) {
    const c = s() as { re: number; im: number };
    const r = tk === 'complex64' ? Math.fround : (n: number) => n;
    return encodeNumber(ctx, t, r(c.re), r(c.im));
  }
  if (tk === 'string' && isIntKind(vk)) return newString(ctx, t, runeBytes((s() as { v: bigint }).v));
  if (tk === 'string' && vk === 'slice') return sliceToString(ctx, v, t);
  if (tk === 'slice' && vk === 'string') return stringToSlice(ctx, v, t);
  if (vk === 'slice' && (tk === 'array' || tk === 'ptr')) return sliceToArray(ctx, v, t, tk);
  // Identical underlying types, pointers to them, unsafe.Pointer: the same bits, another type.
  return v.address !== undefined && !v.bytes ? lvalue(t, v.address) : rvalue(t, load(ctx, v));
}

function floatToInt(ctx: ValueContext, x: number, t: DwarfType, tk: string): GoVal {
  const n = Math.trunc(x);
  const bits = BigInt((t.byteSize ?? 8) * 8);
  const [lo, hi] = INT_KINDS[tk] ? [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n] : [0n, 2n ** bits - 1n];
  if (!Number.isFinite(n) || BigInt(n) < lo || BigInt(n) > hi)
    throw new ExprEvalError(
      `${x} is out of the range of ${typeName(t)} (Go's result for such a conversion depends on the platform)`,
    );
  return encodeNumber(ctx, t, BigInt(n));
}

/** UTF-8 of a code point; U+FFFD for values that are none (as Go's string(rune) gives). */
function runeBytes(v: bigint): Uint8Array {
  const ok = v >= 0n && v <= 0x10ffffn && !(v >= 0xd800n && v < 0xe000n);
  return new TextEncoder().encode(String.fromCodePoint(ok ? Number(v) : 0xfffd));
}

function sliceHeader(ctx: ValueContext, v: GoVal): { data: number; len: number; elem: DwarfType } {
  const d = ctx.dwarf;
  const b = load(ctx, v);
  const elem = elemOf(d, v.t);
  if (!elem) throw new ExprEvalError(`slice type ${typeName(v.t)} has no element type`);
  return {
    data: ptrAt(b, fieldOffset(d, v.t, 'array') ?? 0),
    len: u64At(b, fieldOffset(d, v.t, 'len') ?? 8),
    elem,
  };
}

function makeSlice(ctx: ValueContext, t: DwarfType, data: number, len: number): GoVal {
  const out = new Uint8Array(t.byteSize ?? 24);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(fieldOffset(ctx.dwarf, t, 'array') ?? 0, BigInt(data), true);
  dv.setBigUint64(fieldOffset(ctx.dwarf, t, 'len') ?? 8, BigInt(len), true);
  dv.setBigUint64(fieldOffset(ctx.dwarf, t, 'cap') ?? 16, BigInt(len), true);
  return rvalue(t, out);
}

function sliceToString(ctx: ValueContext, v: GoVal, t: DwarfType): GoVal {
  const { data, len, elem } = sliceHeader(ctx, v);
  if (kindOf(ctx.dwarf, elem) === 'uint8') return stringAt(ctx, t, len === 0 ? 0 : data, len);
  if (len > HARD_LIMITS.elements)
    throw new ExprEvalError(
      `[]rune of ${len} elements is longer than ${HARD_LIMITS.elements}, too long to convert`,
    );
  const runes = readMem(ctx, addr(data), len * 4);
  const dv = new DataView(runes.buffer, runes.byteOffset, runes.length);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < len; i++) parts.push(runeBytes(BigInt(dv.getInt32(i * 4, true))));
  return newString(ctx, t, Buffer.concat(parts));
}

function stringToSlice(ctx: ValueContext, v: GoVal, t: DwarfType): GoVal {
  const elem = elemOf(ctx.dwarf, t);
  const { ptr, len } = stringHeader(ctx, v);
  if (elem && kindOf(ctx.dwarf, elem) === 'uint8')
    return makeSlice(ctx, t, len === 0 ? scratch(ctx).alloc(new Uint8Array(0)) : ptr, len);
  if (len > HARD_LIMITS.stringBytes)
    throw new ExprEvalError(
      `string of ${len} bytes is longer than ${HARD_LIMITS.stringBytes}, too long to convert`,
    );
  const text = readMem(ctx, ptr, len);
  const runes: number[] = [];
  for (let i = 0; i < text.length; ) {
    const [cp, n] = decodeRune(text, i);
    runes.push(cp);
    i += n;
  }
  const out = new Uint8Array(runes.length * 4);
  const dv = new DataView(out.buffer);
  for (const [i, r] of runes.entries()) dv.setInt32(i * 4, r, true);
  return makeSlice(ctx, t, scratch(ctx).alloc(out), runes.length);
}

/** One UTF-8 sequence at i: its code point and length; an invalid byte is U+FFFD of length 1 (Go's rule). */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c = b[i]!;
  if (c < 0x80) return [c, 1];
  const [n, first] =
    c >= 0xc2 && c <= 0xdf
      ? [2, c & 0x1f]
      : c >= 0xe0 && c <= 0xef
        ? [3, c & 0x0f]
        : c >= 0xf0 && c <= 0xf4
          ? [4, c & 0x07]
          : [0, 0];
  if (n === 0 || i + n > b.length) return [0xfffd, 1];
  let cp = first;
  for (let k = 1; k < n; k++) {
    const x = b[i + k]!;
    if ((x & 0xc0) !== 0x80) return [0xfffd, 1];
    cp = (cp << 6) | (x & 0x3f);
  }
  const bad =
    (n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
    (n === 4 && (cp < 0x10000 || cp > 0x10ffff));
  return bad ? [0xfffd, 1] : [cp, n];
}

function sliceToArray(ctx: ValueContext, v: GoVal, t: DwarfType, tk: string): GoVal {
  const d = ctx.dwarf;
  const arr = tk === 'ptr' ? elemOf(d, t) : t;
  const n = arr ? (d.underlying(arr).count ?? 0) : 0;
  const { data, len } = sliceHeader(ctx, v);
  if (len < n)
    throw new ExprEvalError(
      `cannot convert slice with length ${len} to array or pointer to array with length ${n}`,
    );
  if (tk === 'ptr') {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(data), true);
    return rvalue(t, out);
  }
  if (!arr) throw new ExprEvalError(`array type ${typeName(t)} has no element type`);
  return n === 0 ? rvalue(t, new Uint8Array(0)) : lvalue(t, addr(data));
}

/** A concrete value boxed in an interface of type t: the type word (or itab) and the data word. */
function box(ctx: ValueContext, v: GoVal, t: DwarfType, itab: LinkAddress | undefined): GoVal {
  const d = ctx.dwarf;
  const nonEmpty = (d.underlying(t).fields ?? []).some((f) => f.name === 'tab');
  let word0: number;
  if (nonEmpty) {
    if (itab === undefined)
      throw new ExprEvalError(`the binary has no itab for ${typeName(v.t)} as ${typeName(t)}`);
    word0 = ctx.bias.toRuntime(itab);
  } else {
    const rt = d.runtimeAddressOf(v.t);
    if (rt === undefined)
      throw new ExprEvalError(
        `type ${typeName(v.t)} has no runtime type descriptor in this binary: it cannot be boxed`,
      );
    word0 = ctx.typesBase + rt;
  }
  const data = isDirectIface(ctx, v.t) ? ptrAt(load(ctx, v), 0) : addressOf(ctx, v);
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(word0), true);
  dv.setBigUint64(8, BigInt(data), true);
  return rvalue(t, out);
}

/** An interface value as another interface type (to `any`, or to an identical one). */
function reboxInterface(ctx: ValueContext, v: GoVal, t: DwarfType): GoVal {
  const d = ctx.dwarf;
  const nonEmpty = (d.underlying(t).fields ?? []).some((f) => f.name === 'tab');
  const from = (d.underlying(v.t).fields ?? []).some((f) => f.name === 'tab');
  if (nonEmpty === from) return rvalue(t, load(ctx, v));
  if (nonEmpty)
    throw new ExprEvalError(`converting ${typeName(v.t)} to ${typeName(t)} needs a run-time type check`);
  const p = interfaceParts(ctx, v.t, load(ctx, v));
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(p.typeDescriptor), true);
  dv.setBigUint64(8, BigInt(p.data), true);
  return rvalue(t, out);
}

/** `real(c)` or `imag(c)` of a complex value. */
export function realImag(ctx: ValueContext, fn: 'real' | 'imag', v: Val): GoVal {
  const g = requireGo(v, fn);
  const s = scalarOf(ctx, g);
  if (s.c !== 'complex')
    throw new ExprEvalError(`invalid argument: ${typeName(g.t)} for ${fn}: not a complex number`);
  const ft = basicType(ctx.dwarf, kindOf(ctx.dwarf, g.t) === 'complex64' ? 'float32' : 'float64');
  return encodeNumber(ctx, ft, fn === 'real' ? s.re : s.im);
}
