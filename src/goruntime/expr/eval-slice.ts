/**
 * Slice expressions during evaluation: `s[low:high]` and `s[low:high:max]` on slices,
 * arrays (their memory; a value held in registers is copied to scratch memory first),
 * pointers to arrays and strings, with Go's bounds checks and run-time messages. The result
 * is a header pointing into the same memory, so it costs no copy and is cut on output like
 * any slice or string.
 */
import type { Address } from '../../common/address.js';
import { ptrAt, u64At } from '../values/bytes.js';
import type { ValueContext } from '../values/context.js';
import { dereference } from './eval-access.js';
import { constToGo, intValue, stringAt, stringHeader } from './scalar.js';
import { basicType, sliceOf } from './synthetic-types.js';
import { elemOf, fieldOffset, kindOf, typeName } from './types.js';
import { addressOf, ExprEvalError, type GoVal, load, requireGo, rvalue, type Val } from './values.js';

/** `x[low:high:max]` (absent bounds undefined). */
export function sliceValue(
  ctx: ValueContext,
  xv: Val,
  lowV: Val | undefined,
  highV: Val | undefined,
  maxV: Val | undefined,
): GoVal {
  const d = ctx.dwarf;
  let x = xv.k === 'const' ? constToGo(ctx, basicType(d, 'string'), xv.c) : requireGo(xv, 'slice');
  let k = kindOf(d, x.t);
  const bound = (v: Val | undefined): bigint | undefined =>
    v === undefined ? undefined : intValue(ctx, v, 'slice index');
  const [lo, hi, max] = [bound(lowV), bound(highV), bound(maxV)];
  if (k === 'string') {
    const { ptr, len } = stringHeader(ctx, x);
    const [l, h] = checkBounds(lo, hi, undefined, len, 'length');
    return stringAt(ctx, x.t, ptr + l, h - l);
  }
  if (k === 'ptr') {
    x = dereference(ctx, x);
    k = kindOf(d, x.t);
  }
  let data: Address;
  let len: number;
  let cap: number;
  let resultType = x.t;
  if (k === 'array') {
    const elem = elemOf(d, x.t);
    if (!elem) throw new ExprEvalError(`array type ${typeName(x.t)} has no element type`);
    data = addressOf(ctx, x);
    len = cap = d.underlying(x.t).count ?? 0;
    resultType = sliceOf(d, elem);
  } else if (k === 'slice') {
    const b = load(ctx, x);
    data = ptrAt(b, fieldOffset(d, x.t, 'array') ?? 0);
    len = u64At(b, fieldOffset(d, x.t, 'len') ?? 8);
    cap = u64At(b, fieldOffset(d, x.t, 'cap') ?? 16);
  } else throw new ExprEvalError(`cannot slice ${typeName(x.t)} (kind ${k})`);
  const [l, h, m] = checkBounds(lo, hi, max, len, 'capacity', cap);
  const esize = elemOf(d, resultType)?.byteSize ?? 0;
  const out = new Uint8Array(resultType.byteSize ?? 24);
  const dv = new DataView(out.buffer);
  // A nil slice stays nil (data 0); any other keeps a data pointer, as Go's slicing does.
  dv.setBigUint64(fieldOffset(d, resultType, 'array') ?? 0, BigInt(data === 0 ? 0 : data + l * esize), true);
  dv.setBigUint64(fieldOffset(d, resultType, 'len') ?? 8, BigInt(h - l), true);
  dv.setBigUint64(fieldOffset(d, resultType, 'cap') ?? 16, BigInt(m - l), true);
  return rvalue(resultType, out);
}

/** Go's run-time checks of slice bounds (0 <= low <= high <= max <= cap), with its messages. */
function checkBounds(
  lo: bigint | undefined,
  hi: bigint | undefined,
  max: bigint | undefined,
  len: number,
  what: 'length' | 'capacity',
  cap = len,
): [number, number, number] {
  const l = lo ?? 0n;
  const three = max !== undefined;
  const m = max ?? BigInt(cap);
  const h = hi ?? BigInt(len);
  const fail = (m2: string): never => {
    throw new ExprEvalError(`slice bounds out of range ${m2}`);
  };
  if (three && (m < 0n || m > BigInt(cap))) fail(`[::${m}] with capacity ${cap}`);
  if (h < 0n || h > m) fail(three ? `[:${h}:${m}]` : `[:${h}] with ${what} ${what === 'length' ? len : cap}`);
  if (l < 0n || l > h) fail(three ? `[${l}:${h}:]` : `[${l}:${h}]`);
  return [Number(l), Number(h), Number(m)];
}
