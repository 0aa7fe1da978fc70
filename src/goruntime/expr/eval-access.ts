/**
 * Reaching into values during evaluation: field selection (through pointers, embedded
 * fields and interfaces), indexing of arrays, slices and strings with Go's bounds checks,
 * map lookup by Go's == on keys of any comparable type, len and cap, dereference, and type
 * assertions on interfaces.
 */
import { addr } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { ptrAt, u64At } from '../values/bytes.js';
import type { ValueContext } from '../values/context.js';
import { decodeValue } from '../values/decode.js';
import { interfaceParts, isDirectIface } from '../values/interfaces.js';
import { mapLength, mapSlots } from '../values/maps.js';
import { equalGo } from './eval-equal.js';
import { defaultType } from './operand.js';
import { RedactedRead } from './redaction.js';
import { constToGo, intValue, stringHeader } from './scalar.js';
import { basicType } from './synthetic-types.js';
import { elemOf, fieldOffset, keyOf, kindOf, lookupField, typeName } from './types.js';
import {
  ExprEvalError,
  type GoVal,
  load,
  lvalue,
  part,
  readMem,
  requireGo,
  rvalue,
  type Val,
} from './values.js';

/** `*p`: the value a pointer points at (an error for nil). */
export function dereference(ctx: ValueContext, v: Val): GoVal {
  const g = requireGo(v, 'dereference');
  if (kindOf(ctx.dwarf, g.t) !== 'ptr')
    throw new ExprEvalError(`cannot dereference ${typeName(g.t)}: not a pointer`);
  const elem = elemOf(ctx.dwarf, g.t);
  if (!elem) throw new ExprEvalError(`pointer type ${typeName(g.t)} has no element type`);
  const p = ptrAt(load(ctx, g), 0);
  if (p === 0)
    throw new ExprEvalError(`invalid memory address or nil pointer dereference (a nil ${typeName(g.t)})`);
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
    return rvalue(dt, word.subarray(0, dt.byteSize ?? 8));
  }
  if (parts.data === 0) throw new ExprEvalError(`the ${typeName(v.t)} interface holds a nil data pointer`);
  return lvalue(dt, parts.data);
}

/** `x.name`: a field, through pointers, embedded fields and interfaces. */
export function selectField(ctx: ValueContext, v: Val, name: string): GoVal {
  let g = requireGo(v, `select field ${name} of`);
  const d = ctx.dwarf;
  for (let hops = 0; hops < 8; hops++) {
    const k = kindOf(d, g.t);
    if (k === 'interface') g = unbox(ctx, g);
    else if (k === 'ptr') g = dereference(ctx, g);
    else break;
  }
  if (kindOf(d, g.t) !== 'struct')
    throw new ExprEvalError(`${typeName(g.t)} is not a struct: it has no field ${name}`);
  const f = lookupField(d, g.t, name);
  if (!f.ok)
    throw new ExprEvalError(
      `${f.reason === 'ambiguous' ? 'ambiguous selector' : 'no field'} ${name} in ${typeName(g.t)}`,
    );
  let cur: GoVal = g;
  for (const step of f.steps) {
    if (step.deref) cur = dereference(ctx, cur);
    cur = part(ctx, cur, step.offset, step.type);
  }
  return cur;
}

/** Go's run-time message for an index out of range. */
function outOfRange(i: bigint, len: number): ExprEvalError {
  return new ExprEvalError(`index out of range [${i}] with length ${len}`);
}

/** `x[i]` for arrays, pointers to arrays, slices, strings and maps. */
export function indexValue(ctx: ValueContext, xv: Val, iv: Val): GoVal {
  const d = ctx.dwarf;
  let x = xv.k === 'const' ? constToGo(ctx, basicType(d, 'string'), xv.c) : requireGo(xv, 'index');
  let k = kindOf(d, x.t);
  if (k === 'interface') {
    x = unbox(ctx, x);
    k = kindOf(d, x.t);
  }
  if (k === 'ptr' && kindOf(d, elemOf(d, x.t) ?? x.t) === 'array') [x, k] = [dereference(ctx, x), 'array'];
  if (k === 'map') return mapIndex(ctx, x, iv);
  const i = intValue(ctx, iv, 'index');
  if (k === 'array') {
    const elem = elemOf(d, x.t);
    const n = d.underlying(x.t).count ?? 0;
    if (!elem) throw new ExprEvalError(`array type ${typeName(x.t)} has no element type`);
    if (i < 0n || i >= BigInt(n)) throw outOfRange(i, n);
    return part(ctx, x, Number(i) * (elem.byteSize ?? 0), elem);
  }
  if (k === 'string') {
    const { ptr, len } = stringHeader(ctx, x);
    if (i < 0n || i >= BigInt(len)) throw outOfRange(i, len);
    return lvalue(basicType(d, 'uint8'), addr(ptr + Number(i)));
  }
  if (k === 'slice') {
    const b = load(ctx, x);
    const ptr = ptrAt(b, fieldOffset(d, x.t, 'array') ?? 0);
    const len = u64At(b, fieldOffset(d, x.t, 'len') ?? 8);
    if (i < 0n || i >= BigInt(len)) throw outOfRange(i, len);
    const elem = elemOf(d, x.t);
    if (!elem) throw new ExprEvalError(`slice type ${typeName(x.t)} has no element type`);
    return lvalue(elem, addr(ptr + Number(i) * (elem.byteSize ?? 0)));
  }
  throw new ExprEvalError(`cannot index ${typeName(x.t)} (kind ${k})`);
}

/** m[key]: the element whose key is == to `key`; a missing key is an error (Periscope's choice). */
function mapIndex(ctx: ValueContext, m: GoVal, key: Val): GoVal {
  const d = ctx.dwarf;
  const kt = keyOf(d, m.t);
  const elem = elemOf(d, m.t);
  if (!kt || !elem) throw new ExprEvalError(`map type ${typeName(m.t)} has no key or element type`);
  const want =
    key.k === 'const'
      ? constToGo(ctx, kindOf(d, kt) === 'interface' ? defaultType(d, key.base) : kt, key.c)
      : requireGo(key, `look up in ${typeName(m.t)} with`);
  const shown = (): string => JSON.stringify(decodeValue(ctx, want.t, load(ctx, want), want.address));
  // A key the expression does not spell (a variable) can still name a secret entry.
  if (ctx.redact !== undefined && kindOf(d, kt) === 'string') {
    const text = decodeValue(ctx, want.t, load(ctx, want), want.address);
    const rule = typeof text === 'string' ? ctx.redact.byName(text) : undefined;
    if (rule !== undefined) throw new RedactedRead(rule, typeName(elem));
  }
  const p = ptrAt(load(ctx, m), 0);
  if (p === 0) throw new ExprEvalError(`key ${shown()} not found: the map is nil`);
  for (const slot of mapSlots(ctx, m.t, p)) {
    const k: GoVal = { k: 'go', t: kt, address: slot.key, bytes: slot.keyBytes };
    if (equalGo(ctx, k, want)) return { k: 'go', t: elem, address: slot.value, bytes: slot.valueBytes };
  }
  throw new ExprEvalError(`key ${shown()} not found in the map`);
}

/** `len(x)` or `cap(x)` as an int. */
export function lengthOf(ctx: ValueContext, fn: 'len' | 'cap', v: Val): number {
  const d = ctx.dwarf;
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

/** `x.(T)`: the dynamic value when its type is T, else Go's message naming the dynamic type. */
export function typeAssert(ctx: ValueContext, v: Val, target: DwarfType): GoVal {
  const g = requireGo(v, 'assert the type of');
  if (kindOf(ctx.dwarf, g.t) !== 'interface') throw new ExprEvalError(`${typeName(g.t)} is not an interface`);
  const parts = interfaceParts(ctx, g.t, load(ctx, g));
  const iface = typeName(g.t);
  if (parts.typeDescriptor === 0)
    throw new ExprEvalError(`interface conversion: ${iface} is nil, not ${typeName(target)}`);
  const dt = parts.dynamicType;
  const same =
    dt !== undefined &&
    (dt.offset === target.offset ||
      (dt.name !== undefined && dt.name === target.name) ||
      ctx.dwarf.runtimeAddressOf(target) === parts.typeDescriptor - ctx.typesBase);
  if (!same)
    throw new ExprEvalError(
      `interface conversion: ${iface} is ${dt ? typeName(dt) : 'a type not described in DWARF'}, not ${typeName(target)}`,
    );
  return unbox(ctx, g);
}
