/**
 * Intermediate values of expression evaluation. A Go value keeps its address when it has one
 * (an lvalue) and reads its bytes only when needed, so `a.b.c` reads only `c`; computed
 * values carry their bytes (and, for strings and slices, point into the evaluation's scratch
 * memory). Untyped constants stay exact until an operation gives them a type.
 */
import { type Address, addr, hex } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { MemoryError } from '../../proc/memory.js';
import type { ValueContext } from '../values/context.js';
import { type MissingBytes, missingIn, missingText, missingWithin } from '../values/missing.js';
import type { Const } from './constants.js';
import type { UntypedBase } from './operand.js';
import { ScratchMemory } from './scratch.js';
import { typeName } from './types.js';

/** An intermediate value: a typed Go value (lazily read), an untyped constant, an untyped bool, or nil. */
export type Val =
  | {
      readonly k: 'go';
      readonly t: DwarfType;
      readonly address: Address | undefined;
      bytes: Uint8Array | undefined;
      /** Parts of `bytes` the variable's location did not give (see values/missing.ts). */
      readonly missing?: readonly MissingBytes[];
    }
  | { readonly k: 'const'; readonly c: Const; readonly base: UntypedBase }
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'nil' };

/** A typed Go value. */
export type GoVal = Val & { k: 'go' };

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
export function lvalue(t: DwarfType, address: Address): GoVal {
  return { k: 'go', t, address, bytes: undefined };
}

/** A Go value held in bytes (from registers, a computation, or an interface's data word). */
export function rvalue(t: DwarfType, bytes: Uint8Array): GoVal {
  return { k: 'go', t, address: undefined, bytes };
}

/** The value as a typed Go value, or an error naming what was expected. */
export function requireGo(v: Val, what: string): GoVal {
  if (v.k !== 'go') throw new ExprEvalError(`cannot ${what} an untyped ${v.k === 'const' ? v.base : v.k}`);
  return v;
}

/** The bytes of a Go value, read from memory on first use; unavailable when some are missing. */
export function load(ctx: ValueContext, v: GoVal): Uint8Array {
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
  if (a === 0) throw new ExprEvalError('invalid memory address or nil pointer dereference');
  if (size === 0) return new Uint8Array(0);
  try {
    return ctx.memory.read(a, size);
  } catch (e) {
    if (e instanceof MemoryError)
      throw new ExprEvalError(`cannot read ${size} bytes at ${hex(a)}: target memory is unreadable`);
    throw e;
  }
}

/** A sub-value at `offset` of type `t`: an lvalue when the parent has an address, else a slice of its bytes. */
export function part(ctx: ValueContext, v: GoVal, offset: number, t: DwarfType): GoVal {
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

/** The evaluation's scratch memory (for computed strings, slices and boxed values). */
export function scratch(ctx: ValueContext): ScratchMemory {
  if (!(ctx.memory instanceof ScratchMemory))
    throw new ExprEvalError('no scratch memory for computed values');
  return ctx.memory;
}

/** A value's address, placing a computed value in scratch memory when it has none (to slice or box it). */
export function addressOf(ctx: ValueContext, v: GoVal): Address {
  if (v.address !== undefined) return v.address;
  return scratch(ctx).alloc(load(ctx, v));
}
