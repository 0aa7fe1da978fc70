/**
 * Intermediate values of expression evaluation and the scalar operations on them. A Go
 * value keeps its address when it has one (an lvalue) and reads its bytes only when needed,
 * so `a.b.c` reads only `c`; constants and computed results carry their value directly.
 */
import { type Address, addr, hex } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { MemoryError } from '../../proc/memory.js';
import { ptrAt, u64At } from '../values/bytes.js';
import type { ValueContext } from '../values/context.js';
import { interfaceParts } from '../values/interfaces.js';
import { type MissingBytes, missingIn, missingText, missingWithin } from '../values/missing.js';
import { HARD_LIMITS } from '../values/render-limits.js';
import { fieldOffset, INT_KINDS, isFloatKind, isIntKind, kindOf, POINTER_KINDS, typeName } from './types.js';

/** An intermediate value: a typed Go value (lazily read) or an untyped constant / computed scalar. */
export type Val =
  | {
      readonly k: 'go';
      readonly t: DwarfType;
      readonly address: Address | undefined;
      bytes: Uint8Array | undefined;
      /** Parts of `bytes` the variable's location did not give (see values/missing.ts). */
      readonly missing?: readonly MissingBytes[];
    }
  | { readonly k: 'int'; readonly v: bigint }
  | { readonly k: 'float'; readonly v: number }
  | { readonly k: 'string'; readonly v: Uint8Array }
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'nil' };

/** A failure that ends the evaluation with a message (index out of range, nil dereference, ...). */
export class ExprEvalError extends Error {
  /** True when the cause is a value not available at this PC (the result is null with the reason). */
  readonly unavailable: boolean;
  constructor(message: string, unavailable = false) {
    super(message);
    this.unavailable = unavailable;
  }
}

/** A Go value at an address (nothing read yet). */
export function lvalue(t: DwarfType, address: Address): Val {
  return { k: 'go', t, address, bytes: undefined };
}

/** A Go value held in bytes (from registers, a computation, or an interface's data word). */
export function rvalue(t: DwarfType, bytes: Uint8Array): Val {
  return { k: 'go', t, address: undefined, bytes };
}

/** The bytes of a Go value, read from memory on first use; unavailable when some are missing. */
export function load(ctx: ValueContext, v: Val & { k: 'go' }): Uint8Array {
  const gap = v.missing?.[0];
  if (gap)
    throw new ExprEvalError(
      `part of this ${typeName(v.t)} is not available: ${missingText(gap, v.t.byteSize ?? 0)}`,
      true,
    );
  if (v.bytes) return v.bytes;
  const size = v.t.byteSize ?? 0;
  if (v.address === undefined)
    throw new ExprEvalError(`value of type ${typeName(v.t)} has neither bytes nor address`);
  v.bytes = readMem(ctx, v.address, size);
  return v.bytes;
}

/** Reads target memory, turning unreadable ranges into an ExprEvalError that names the address. */
export function readMem(ctx: ValueContext, a: Address, size: number): Uint8Array {
  if (a === 0) throw new ExprEvalError('nil pointer dereference');
  try {
    return ctx.memory.read(a, size);
  } catch (e) {
    if (e instanceof MemoryError)
      throw new ExprEvalError(`cannot read ${size} bytes at ${hex(a)}: target memory is unreadable`);
    throw e;
  }
}

/** A sub-value at `offset` of type `t`: an lvalue when the parent has an address, else a slice of its bytes. */
export function part(ctx: ValueContext, v: Val & { k: 'go' }, offset: number, t: DwarfType): Val {
  if (v.address !== undefined && !v.bytes) return lvalue(t, addr(v.address + offset));
  const size = t.byteSize ?? 0;
  if (v.missing && v.bytes) {
    // A part of a partly available variable: available unless its own bytes are missing.
    const gap = missingIn(v.missing, offset, size);
    if (gap && gap.offset <= offset && gap.offset + gap.size >= offset + size)
      throw new ExprEvalError(
        `the ${typeName(t)} at offset ${offset} of ${typeName(v.t)}: ${gap.reason}`,
        true,
      );
    const missing = missingWithin(v.missing, offset, size);
    const bytes = v.bytes.subarray(offset, offset + size);
    return { k: 'go', t, address: undefined, bytes, ...(missing.length > 0 ? { missing } : {}) };
  }
  const b = load(ctx, v);
  if (offset + size > b.length)
    throw new ExprEvalError(`field at offset ${offset} lies outside its ${typeName(v.t)}`);
  const sub = b.subarray(offset, offset + size);
  return { k: 'go', t, address: v.address === undefined ? undefined : addr(v.address + offset), bytes: sub };
}

/** A scalar view of a value, for operators. */
export type Scalar =
  | { readonly c: 'int'; readonly v: bigint }
  | { readonly c: 'float'; readonly v: number }
  | { readonly c: 'string'; readonly v: Uint8Array }
  | { readonly c: 'bool'; readonly v: boolean }
  | { readonly c: 'nil' }
  /** A pointer-like word (pointers, maps, chans, funcs, slices' data, interfaces' type word). */
  | { readonly c: 'word'; readonly v: number };

/** The scalar of a value; strings are read in full up to the hard limit. */
export function scalarOf(ctx: ValueContext, v: Val): Scalar {
  switch (v.k) {
    case 'int':
      return { c: 'int', v: v.v };
    case 'float':
      return { c: 'float', v: v.v };
    case 'string':
      return { c: 'string', v: v.v };
    case 'bool':
      return { c: 'bool', v: v.v };
    case 'nil':
      return { c: 'nil' };
  }
  const d = ctx.dwarf;
  const k = kindOf(d, v.t);
  const b = load(ctx, v);
  if (isIntKind(k)) return { c: 'int', v: readInt(b, v.t.byteSize ?? 8, INT_KINDS[k]!) };
  if (isFloatKind(k)) {
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    return { c: 'float', v: k === 'float32' ? dv.getFloat32(0, true) : dv.getFloat64(0, true) };
  }
  if (k === 'bool') return { c: 'bool', v: b[0] !== 0 };
  if (k === 'string') return { c: 'string', v: stringBytes(ctx, v.t, b) };
  if (POINTER_KINDS.has(k)) return { c: 'word', v: ptrAt(b, 0) };
  if (k === 'slice') return { c: 'word', v: ptrAt(b, fieldOffset(d, v.t, 'array') ?? 0) };
  if (k === 'interface') return { c: 'word', v: interfaceParts(ctx, v.t, b).typeDescriptor };
  throw new ExprEvalError(`${typeName(v.t)} (kind ${k}) cannot be used as a scalar`);
}

/** The bytes of a Go string value, read in full (an error beyond the hard limit). */
export function stringBytes(ctx: ValueContext, t: DwarfType, b: Uint8Array): Uint8Array {
  const d = ctx.dwarf;
  const ptr = ptrAt(b, fieldOffset(d, t, 'str') ?? 0);
  const len = u64At(b, fieldOffset(d, t, 'len') ?? 8);
  if (len === 0) return new Uint8Array(0);
  if (len > HARD_LIMITS.stringBytes)
    throw new ExprEvalError(
      `string of ${len} bytes is longer than ${HARD_LIMITS.stringBytes}, too long to compare`,
    );
  return readMem(ctx, ptr, len);
}

/** A little-endian integer of `size` bytes as a bigint. */
export function readInt(b: Uint8Array, size: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = Math.min(size, b.length) - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

/** Encodes a number as a value of integer or float type `t` (ints wrap as Go's do). */
export function encodeNumber(ctx: ValueContext, t: DwarfType, n: bigint | number): Val {
  const k = kindOf(ctx.dwarf, t);
  const size = t.byteSize ?? 8;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  if (isFloatKind(k)) {
    const x = typeof n === 'bigint' ? Number(n) : n;
    if (size === 4) dv.setFloat32(0, x, true);
    else dv.setFloat64(0, x, true);
  } else {
    if (typeof n === 'number' && !Number.isInteger(n))
      throw new ExprEvalError(`${n} is not an integer and cannot be a ${typeName(t)}`);
    let v = BigInt.asUintN(size * 8, BigInt(n));
    for (let i = 0; i < size; i++) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return rvalue(t, out);
}

/** The JS key mapLookup wants for a key value. */
export function mapKeyOf(ctx: ValueContext, v: Val): string | bigint | boolean {
  const s = scalarOf(ctx, v);
  if (s.c === 'string') return new TextDecoder().decode(s.v);
  if (s.c === 'int' || s.c === 'bool') return s.v;
  throw new ExprEvalError(`map key must be a string, an integer or a bool, not ${s.c}`);
}

/** An index value as a safe integer (bounds are checked by the caller). */
export function indexOf(ctx: ValueContext, v: Val): number {
  const s = scalarOf(ctx, v);
  if (s.c !== 'int') throw new ExprEvalError(`index must be an integer, not ${s.c}`);
  if (s.v < 0n) throw new ExprEvalError(`index ${s.v} is negative`);
  return s.v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(s.v);
}

/** Renders a scalar for messages. */
export function scalarText(s: Scalar): string {
  if (s.c === 'string') return JSON.stringify(new TextDecoder().decode(s.v));
  if (s.c === 'nil') return 'nil';
  if (s.c === 'word') return hex(s.v);
  return String(s.v);
}
