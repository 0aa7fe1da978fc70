/**
 * What a compiled sub-expression is while its program runs: a Go value in target memory (its
 * address in a stack slot, plus a constant), a Go value's bytes in BPF memory (stack or
 * record), or a constant known now. Field selection and `len` of a string or slice are views
 * (no code); scalars are loaded into a register, widened to 64 bits as Go would compare them.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { INT_KINDS, kindOf } from '../../goruntime/expr/index.js';
import { R0, R10, type Reg } from '../bpf/isa.js';
import { type Emitter, type Place, Refusal } from './emitter.js';
import { CAPTURE } from './record-layout.js';

/** A constant operand. */
export type Const =
  | { readonly c: 'int'; readonly v: bigint }
  | { readonly c: 'bool'; readonly v: boolean }
  | { readonly c: 'string'; readonly v: Uint8Array }
  | { readonly c: 'nil' };

/** A compiled value. */
export type CVal =
  /** In target memory at *(u64 *)(r10 + slot) + add. */
  | { readonly k: 'mem'; readonly t: DwarfType; readonly slot: number; readonly add: number }
  /** Its bytes at a place in BPF memory. */
  | { readonly k: 'bytes'; readonly t: DwarfType; readonly at: Place }
  /** A constant; `t` is its type when the checker gave it one. */
  | { readonly k: 'const'; readonly v: Const; readonly t?: DwarfType };

/** A type's size in bytes. */
export function sizeOf(d: DwarfData, t: DwarfType): number {
  return t.byteSize ?? d.underlying(t).byteSize ?? 0;
}

/** The part of a value at byte `off`, of type `t` (no code). */
export function view(v: CVal, off: number, t: DwarfType): CVal {
  if (v.k === 'mem') return { k: 'mem', t, slot: v.slot, add: v.add + off };
  if (v.k === 'bytes') return { k: 'bytes', t, at: { base: v.at.base, off: v.at.off + off } };
  throw new Refusal('internal: a view of a constant');
}

/** A field's byte offset in a struct type (strings, slices and interfaces are structs in DWARF). */
export function fieldOff(d: DwarfData, t: DwarfType, name: string, fallback: number): number {
  return d.underlying(t).fields?.find((f) => f.name === name)?.offset ?? fallback;
}

const LDX_SIZE = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;

/**
 * Loads a scalar (integer, bool, pointer-like word) into `into` as 64 bits: signed integers
 * sign-extended, others zero-extended. A value in target memory is read first (a helper call:
 * r1–r5 are clobbered, so `into` should be r0 or r6–r9 when more code follows).
 */
export function loadScalar(e: Emitter, d: DwarfData, v: CVal, into: Reg): void {
  const a = e.a;
  if (v.k === 'const') {
    const c = v.v;
    if (c.c === 'int') a.ldImm64(into, c.v);
    else if (c.c === 'bool') a.mov64(into, c.v ? 1 : 0);
    else if (c.c === 'nil') a.mov64(into, 0);
    else throw new Refusal('internal: a string constant used as a number');
    return;
  }
  const size = sizeOf(d, v.t);
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8)
    throw new Refusal(`a ${size}-byte ${v.t.name ?? 'value'} cannot be used as a number in a probe`);
  let at: Place;
  if (v.k === 'mem') {
    const m = e.mark();
    const tmp = e.alloc(8);
    e.readInto({ base: 'stack', off: tmp }, size, v.slot, v.add);
    e.failUnlessRead(CAPTURE.unreadable, v.slot, v.add);
    e.release(m); // the slot stays valid until the next allocation, which comes after the load below
    at = { base: 'stack', off: tmp };
  } else at = v.at;
  const [base, off] = e.at(at);
  a.ldx(LDX_SIZE[size], into, base, off);
  const kind = kindOf(d, v.t);
  if (size < 8 && INT_KINDS[kind] === true) {
    const shift = 64 - 8 * size;
    a.alu64('lsh', into, shift).alu64('arsh', into, shift);
  }
}

/** Truncates a 64-bit result in `r` to integer type `t` and widens it again (Go's wrap-around). */
export function normalize(e: Emitter, d: DwarfData, t: DwarfType, r: Reg): void {
  const size = sizeOf(d, t);
  if (size >= 8 || size === 0) return;
  const shift = 64 - 8 * size;
  e.a.alu64('lsh', r, shift).alu64(INT_KINDS[kindOf(d, t)] === true ? 'arsh' : 'rsh', r, shift);
}

/** Stores register `r` in a new 8-byte stack slot as a value of type `t`. */
export function spill(e: Emitter, t: DwarfType, r: Reg): CVal {
  const slot = e.alloc(8);
  e.a.stx('dw', R10, slot, r);
  return { k: 'bytes', t, at: { base: 'stack', off: slot } };
}

/** Keeps an address held in `r` in a new stack slot: a value of type `t` at that address. */
export function atAddress(e: Emitter, t: DwarfType, r: Reg): CVal {
  const slot = e.alloc(8);
  e.a.stx('dw', R10, slot, r);
  return { k: 'mem', t, slot, add: 0 };
}

/** Dereferences a pointer-typed value: nil fails the step; the pointee of type `elem`. */
export function deref(e: Emitter, d: DwarfData, p: CVal, elem: DwarfType): CVal {
  loadScalar(e, d, p, R0);
  const ok = e.label('nonnil');
  e.a.jmp('jne', R0, 0, ok);
  e.fail(CAPTURE.nil);
  e.a.label(ok);
  return atAddress(e, elem, R0);
}
