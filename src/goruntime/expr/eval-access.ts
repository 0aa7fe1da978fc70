/**
 * Reaching into values during evaluation: field selection (through pointers, embedded
 * fields and interfaces), indexing of arrays, slices, strings and maps with bounds checks,
 * len and cap, dereference, and type assertions on interfaces.
 */
import { addr } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, u64At } from '../values/bytes.js';
import type { ValueContext } from '../values/context.js';
import { interfaceParts, isDirectIface } from '../values/interfaces.js';
import { mapLength, mapLookup } from '../values/maps.js';
import { elemOf, fieldOffset, kindOf, lookupField, typeName } from './types.js';
import {
  ExprEvalError,
  encodeNumber,
  indexOf,
  load,
  lvalue,
  mapKeyOf,
  part,
  readMem,
  rvalue,
  scalarOf,
  type Val,
} from './values.js';

type GoVal = Val & { k: 'go' };

function requireGo(v: Val, what: string): GoVal {
  if (v.k !== 'go') throw new ExprEvalError(`cannot ${what} an untyped ${v.k}`);
  return v;
}

/** `*p`: the value a pointer points at (an error for nil). */
export function dereference(ctx: ValueContext, v: Val): Val {
  const g = requireGo(v, 'dereference');
  if (kindOf(ctx.dwarf, g.t) !== 'ptr')
    throw new ExprEvalError(`cannot dereference ${typeName(g.t)}: not a pointer`);
  const elem = elemOf(ctx.dwarf, g.t);
  if (!elem) throw new ExprEvalError(`pointer type ${typeName(g.t)} has no element type`);
  const p = ptrAt(load(ctx, g), 0);
  if (p === 0) throw new ExprEvalError(`nil pointer dereference (a nil ${typeName(g.t)})`);
  return lvalue(elem, p);
}

/** The dynamic value held by an interface (an error for a nil interface or an unknown type). */
export function unbox(ctx: ValueContext, v: GoVal): GoVal {
  const parts = interfaceParts(ctx, v.t, load(ctx, v));
  if (parts.typeDescriptor === 0) throw new ExprEvalError(`the ${typeName(v.t)} interface is nil`);
  const dt = parts.dynamicType;
  if (!dt)
    throw new ExprEvalError(
      `the dynamic type of this ${typeName(v.t)} is not described in the binary's DWARF`,
    );
  if (isDirectIface(ctx, dt)) {
    const word = new Uint8Array(8);
    new DataView(word.buffer).setBigUint64(0, BigInt(parts.data), true);
    return rvalue(dt, word.subarray(0, dt.byteSize ?? 8)) as GoVal;
  }
  if (parts.data === 0) throw new ExprEvalError(`the ${typeName(v.t)} interface holds a nil data pointer`);
  return lvalue(dt, parts.data) as GoVal;
}

/** `x.name`: a field, through pointers, embedded fields and interfaces. */
export function selectField(ctx: ValueContext, v: Val, name: string): Val {
  let g = requireGo(v, `select field ${name} of`);
  const d = ctx.dwarf;
  for (let hops = 0; hops < 8; hops++) {
    const k = kindOf(d, g.t);
    if (k === 'interface') g = unbox(ctx, g);
    else if (k === 'ptr') g = dereference(ctx, g) as GoVal;
    else break;
  }
  if (kindOf(d, g.t) !== 'struct')
    throw new ExprEvalError(`${typeName(g.t)} is not a struct: it has no field ${name}`);
  const f = lookupField(d, g.t, name);
  if (!f.ok)
    throw new ExprEvalError(
      `${f.reason === 'ambiguous' ? 'ambiguous selector' : 'no field'} ${name} in ${typeName(g.t)}`,
    );
  let cur: Val = g;
  for (const step of f.steps) {
    if (step.deref) cur = dereference(ctx, cur);
    cur = part(ctx, cur as GoVal, step.offset, step.type);
  }
  return cur;
}

/** `x[i]` for arrays, pointers to arrays, slices, strings and maps. */
export function indexValue(ctx: ValueContext, xv: Val, iv: Val): Val {
  const d = ctx.dwarf;
  if (xv.k === 'string') {
    const i = indexOf(ctx, iv);
    if (i >= xv.v.length)
      throw new ExprEvalError(`index ${i} out of range [0:${xv.v.length}] of a string constant`);
    return { k: 'int', v: BigInt(xv.v[i]!) };
  }
  let x = requireGo(xv, 'index');
  let k = kindOf(d, x.t);
  if (k === 'ptr' && kindOf(d, elemOf(d, x.t) ?? x.t) === 'array') {
    x = dereference(ctx, x) as GoVal;
    k = 'array';
  }
  if (k === 'map') {
    const key = mapKeyOf(ctx, iv);
    const elem = elemOf(d, x.t);
    if (!elem) throw new ExprEvalError(`map type ${typeName(x.t)} has no element type`);
    const p = ptrAt(load(ctx, x), 0);
    const shown = typeof key === 'string' ? JSON.stringify(key) : String(key);
    if (p === 0) throw new ExprEvalError(`key ${shown} not found: the map is nil`);
    const at = mapLookup(ctx, x.t, p, key);
    if (at === undefined) throw new ExprEvalError(`key ${shown} not found in the map`);
    return lvalue(elem, at);
  }
  const i = indexOf(ctx, iv);
  if (k === 'array') {
    const elem = elemOf(d, x.t);
    const n = ctx.dwarf.underlying(x.t).count ?? 0;
    if (!elem) throw new ExprEvalError(`array type ${typeName(x.t)} has no element type`);
    if (i >= n) throw new ExprEvalError(`index ${i} out of range [0:${n}] of ${typeName(x.t)}`);
    return part(ctx, x, i * (elem.byteSize ?? 0), elem);
  }
  if (k === 'slice' || k === 'string') {
    const b = load(ctx, x);
    const ptr = ptrAt(b, fieldOffset(d, x.t, k === 'slice' ? 'array' : 'str') ?? 0);
    const len = u64At(b, fieldOffset(d, x.t, 'len') ?? 8);
    if (i >= len) throw new ExprEvalError(`index ${i} out of range [0:${len}] of ${typeName(x.t)}`);
    if (k === 'string') {
      const byte = d.findType('uint8');
      if (!byte) return { k: 'int', v: BigInt(readMem(ctx, addr(ptr + i), 1)[0]!) };
      return lvalue(byte, addr(ptr + i));
    }
    const elem = elemOf(d, x.t);
    if (!elem) throw new ExprEvalError(`slice type ${typeName(x.t)} has no element type`);
    return lvalue(elem, addr(ptr + i * (elem.byteSize ?? 0)));
  }
  throw new ExprEvalError(`cannot index ${typeName(x.t)} (kind ${k})`);
}

/** `len(x)` or `cap(x)`; the result is typed `int` when the binary has it. */
export function lengthOf(ctx: ValueContext, fn: 'len' | 'cap', v: Val, int: DwarfType | undefined): Val {
  const n = rawLength(ctx, fn, v);
  return int ? encodeNumber(ctx, int, BigInt(n)) : { k: 'int', v: BigInt(n) };
}

function rawLength(ctx: ValueContext, fn: 'len' | 'cap', v: Val): number {
  const d = ctx.dwarf;
  if (v.k === 'string') return v.v.length;
  let x = requireGo(v, fn);
  let k = kindOf(d, x.t);
  if (k === 'ptr' && kindOf(d, elemOf(d, x.t) ?? x.t) === 'array') {
    x = { ...x, t: elemOf(d, x.t)! };
    k = 'array';
  }
  if (k === 'array') return d.underlying(x.t).count ?? 0;
  const b = () => load(ctx, x);
  if (k === 'string' && fn === 'len') return u64At(b(), fieldOffset(d, x.t, 'len') ?? 8);
  if (k === 'slice') return u64At(b(), fieldOffset(d, x.t, fn) ?? (fn === 'len' ? 8 : 16));
  const p = ptrAt(b(), 0);
  if (k === 'map' && fn === 'len') return p === 0 ? 0 : mapLength(ctx, x.t, p);
  if (k === 'chan') {
    if (p === 0) return 0;
    const hchan = d.findType('runtime.hchan');
    const off = hchan ? fieldOffset(d, hchan, fn === 'len' ? 'qcount' : 'dataqsiz') : undefined;
    if (off === undefined)
      throw new ExprEvalError('runtime.hchan is not in the binary: cannot read a channel');
    return u64At(readMem(ctx, addr(p + off), 8), 0);
  }
  throw new ExprEvalError(`invalid argument: ${typeName(x.t)} (kind ${k}) for ${fn}`);
}

/** `x.(T)`: the dynamic value when its type is T, else an error naming the dynamic type. */
export function typeAssert(ctx: ValueContext, v: Val, target: DwarfType): Val {
  const g = requireGo(v, 'assert the type of');
  if (kindOf(ctx.dwarf, g.t) !== 'interface') throw new ExprEvalError(`${typeName(g.t)} is not an interface`);
  const parts = interfaceParts(ctx, g.t, load(ctx, g));
  if (parts.typeDescriptor === 0) throw new ExprEvalError(`interface is nil, not ${typeName(target)}`);
  const dt = parts.dynamicType;
  const same =
    dt !== undefined &&
    (dt.offset === target.offset ||
      (dt.name !== undefined && dt.name === target.name) ||
      ctx.dwarf.runtimeAddressOf(target) === parts.typeDescriptor - ctx.typesBase);
  if (!same)
    throw new ExprEvalError(
      `dynamic type is ${dt ? typeName(dt) : 'not described in DWARF'}, not ${typeName(target)}`,
    );
  return unbox(ctx, g);
}

/** Whether a value is nil (for messages and conditions on nilable types). */
export function isNil(ctx: ValueContext, v: Val): boolean {
  const s = scalarOf(ctx, v);
  return s.c === 'nil' || (s.c === 'word' && s.v === 0);
}
