/**
 * Go's == on values of any comparable type: numbers by value (NaN is unequal to itself, -0
 * equals 0), strings by content, pointers, channels and maps by address, structs field by
 * field (blank fields ignored), arrays element by element, interfaces by dynamic type and
 * then value (a dynamic type that is not comparable is Go's run-time panic, an error here).
 */
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from '../values/built-types.js';
import type { ValueContext } from '../values/context.js';
import { interfaceParts } from '../values/interfaces.js';
import { unbox } from './eval-access.js';
import { incomparableCause, isComplexKind } from './gotypes.js';
import { scalarOf } from './scalar.js';
import { canonical, elemOf, isFloatKind, kindOf, typeName } from './types.js';
import { ExprEvalError, type GoVal, load, part } from './values.js';

/** Arrays larger than this are compared without reading them whole, element by element. */
const MAX_DEPTH = 64;

/** Whether two typed values are equal (same type, or one an interface and the other a value of a type it may hold). */
export function equalGo(ctx: ValueContext, a: GoVal, b: GoVal, depth = 0): boolean {
  if (depth > MAX_DEPTH) throw new ExprEvalError('values nest too deeply to compare');
  const d = ctx.dwarf;
  const [ka, kb] = [kindOf(d, a.t), kindOf(d, b.t)];
  if (ka === 'interface' && kb !== 'interface') return ifaceEquals(ctx, a, b, depth);
  if (kb === 'interface' && ka !== 'interface') return ifaceEquals(ctx, b, a, depth);
  if (ka === 'interface') {
    const [pa, pb] = [interfaceParts(ctx, a.t, load(ctx, a)), interfaceParts(ctx, b.t, load(ctx, b))];
    if (pa.typeDescriptor !== pb.typeDescriptor) return false;
    if (pa.typeDescriptor === 0) return true;
    return equalGo(ctx, dynamicComparable(ctx, a), unbox(ctx, b), depth + 1);
  }
  if (isFloatKind(ka) || isComplexKind(ka) || ka === 'string') {
    const [x, y] = [scalarOf(ctx, a), scalarOf(ctx, b)];
    if (x.c === 'float' && y.c === 'float') return x.v === y.v;
    if (x.c === 'complex' && y.c === 'complex') return x.re === y.re && x.im === y.im;
    if (x.c === 'string' && y.c === 'string') return Buffer.compare(x.v, y.v) === 0;
  }
  if (ka === 'struct') {
    for (const f of d.underlying(canonical(d, a.t)).fields ?? []) {
      if (f.name === '_' || f.type === undefined) continue;
      const ft = typeAtOffset(d, f.type);
      if (!equalGo(ctx, part(ctx, a, f.offset, ft), part(ctx, b, f.offset, ft), depth + 1)) return false;
    }
    return true;
  }
  if (ka === 'array') {
    const el = elemOf(d, a.t);
    const n = d.underlying(canonical(d, a.t)).count ?? 0;
    if (!el) throw new ExprEvalError(`array type ${typeName(a.t)} has no element type`);
    const size = el.byteSize ?? 0;
    if (plainBytes(ctx, el)) return Buffer.compare(load(ctx, a), load(ctx, b)) === 0;
    for (let i = 0; i < n; i++)
      if (!equalGo(ctx, part(ctx, a, i * size, el), part(ctx, b, i * size, el), depth + 1)) return false;
    return true;
  }
  if (ka === 'slice' || ka === 'map' || ka === 'func')
    throw new ExprEvalError(`comparing uncomparable type ${typeName(a.t)}`);
  // Integers, bools, pointers, channels, unsafe.Pointer: equal bits.
  return Buffer.compare(load(ctx, a), load(ctx, b)) === 0;
}

/** Types whose values are equal exactly when their bytes are (no floats, strings, interfaces, padding). */
function plainBytes(ctx: ValueContext, t: DwarfType): boolean {
  const k = kindOf(ctx.dwarf, t);
  return ![
    'float32',
    'float64',
    'complex64',
    'complex128',
    'string',
    'interface',
    'struct',
    'array',
  ].includes(k);
}

/** The dynamic value of an interface, which must be of a comparable type (else Go panics). */
function dynamicComparable(ctx: ValueContext, i: GoVal): GoVal {
  const v = unbox(ctx, i);
  if (incomparableCause(ctx.dwarf, v.t) !== undefined)
    throw new ExprEvalError(`comparing uncomparable type ${typeName(v.t)}`);
  return v;
}

/** Interface value i == concrete value v: same dynamic type, then equal values. */
function ifaceEquals(ctx: ValueContext, i: GoVal, v: GoVal, depth: number): boolean {
  const p = interfaceParts(ctx, i.t, load(ctx, i));
  if (p.typeDescriptor === 0) return false;
  const rt = ctx.dwarf.runtimeAddressOf(v.t);
  const same =
    rt !== undefined
      ? p.typeDescriptor === ctx.typesBase + rt
      : p.dynamicType !== undefined && p.dynamicType.name === v.t.name;
  if (!same) return false;
  return equalGo(ctx, dynamicComparable(ctx, i), v, depth + 1);
}
