/**
 * Index and slice expressions in the checker, as go/types checks them: `x[i]` on strings,
 * arrays, pointers to arrays, slices and maps (a key of any comparable type assignable to the
 * key type); `x[low:high:max]` on strings (2 indices), addressable arrays, pointers to arrays
 * and slices; constant indices in range and in order.
 */

import { assignable, convertUntyped, implicitType } from './assign.js';
import type { Expr } from './ast.js';
import { is } from './check-binary.js';
import { type CheckState, checkNode, invalid } from './check-ops.js';
import {
  DYN,
  defaultType,
  describe,
  goType,
  isUntyped,
  type Operand,
  type SType,
  stypeName,
} from './operand.js';
import { basicType, sliceOf } from './synthetic-types.js';
import { elemOf, keyOf, kindOf, typeName } from './types.js';

/** The indexed or sliced operand's shape: its kind, element type and static length (-1 if unknown). */
function shape(s: CheckState, x: Operand): { k: string; elem?: Operand['type']; length: number } {
  const d = s.dwarf;
  if (x.type.k === 'untyped') {
    const len = x.mode === 'constant' && x.val?.k === 'string' ? x.val.v.length : -1;
    return x.type.base === 'string' ? { k: 'string', length: len } : { k: 'other', length: -1 };
  }
  if (x.type.k !== 'go') return { k: 'other', length: -1 };
  let t = x.type.t;
  let k = kindOf(d, t);
  if (k === 'ptr') {
    const p = elemOf(d, t);
    if (!p || kindOf(d, p) !== 'array') return { k: 'other', length: -1 };
    [t, k] = [p, 'ptrarray'];
  }
  if (k === 'string')
    return { k, length: x.mode === 'constant' && x.val?.k === 'string' ? x.val.v.length : -1 };
  const el = elemOf(d, t);
  const length = k === 'array' || k === 'ptrarray' ? (d.underlying(t).count ?? 0) : -1;
  return { k, elem: el ? goType(el) : undefined, length };
}

/** Checks `x[i]`. */
export function checkIndex(s: CheckState, e: Expr & { kind: 'index' }): Operand {
  const d = s.dwarf;
  const x = checkNode(s, e.x);
  if (x.type.k === 'error') {
    checkNode(s, e.index);
    return invalid(e);
  }
  if (x.type.k === 'dynamic') {
    checkNode(s, e.index);
    return { mode: 'variable', type: DYN, expr: e };
  }
  const sh = shape(s, x);
  if (sh.k === 'map' && x.type.k === 'go') {
    const key = keyOf(d, x.type.t);
    const elem = elemOf(d, x.type.t);
    if (!key || !elem) {
      s.error(e, `map type ${typeName(x.type.t)} has no key or element type in DWARF`);
      return invalid(e);
    }
    let k = checkNode(s, e.index);
    if (k.type.k === 'error') return invalid(e);
    if (isUntyped(k.type)) {
      // Go gives an untyped key the interface key type's default type (go/types' assignment).
      const iface = kindOf(d, key) === 'interface' && !is.nil(k.type);
      const target = iface ? goType(defaultType(d, k.type.base)) : goType(key);
      const r = implicitType(s, k, target);
      if (typeof r === 'string') {
        const why = r === 'truncated' ? ' (truncated)' : r === 'overflows' ? ' (overflows)' : '';
        s.error(k.expr, `cannot use ${describe(d, k)} as ${stypeName(target)} value in map index${why}`);
        return invalid(e);
      }
      k = convertUntyped(s, k, target);
    }
    if (!assignable(s, k, goType(key))) {
      s.error(k.expr, `cannot use ${describe(d, k)} as ${typeName(key)} value in map index`);
      return invalid(e);
    }
    return { mode: 'mapindex', type: goType(elem), expr: e };
  }
  if (!['string', 'array', 'ptrarray', 'slice'].includes(sh.k)) {
    checkNode(s, e.index);
    s.error(x.expr, `cannot index ${describe(d, x)}`);
    return invalid(e);
  }
  if (index(s, e.index, sh.length) === false) return invalid(e);
  if (sh.k === 'string') return { mode: 'value', type: goType(basicType(d, 'uint8')), expr: e };
  if (!sh.elem) {
    s.error(e, `${stypeName(x.type)} has no element type in DWARF`);
    return invalid(e);
  }
  const mode = sh.k === 'array' && x.mode !== 'variable' ? 'value' : 'variable';
  return { mode, type: sh.elem, expr: e };
}

/** Checks an index (go/types' index and isValidIndex); false after an error. Returns its constant value, or -1. */
function index(s: CheckState, e: Expr, max: number): number | false {
  let x = checkNode(s, e);
  if (x.type.k === 'error') return false;
  x = convertUntyped(s, x, goType(basicType(s.dwarf, 'int')));
  if (x.type.k === 'error') return false;
  if (x.type.k === 'dynamic') return -1;
  if (!is.integer(s, x.type)) {
    s.error(e, `invalid argument: index ${describe(s.dwarf, x)} must be integer`);
    return false;
  }
  if (x.mode !== 'constant' || x.val?.k !== 'num') return -1;
  const v = x.val.re.n;
  if (v < 0n) {
    s.error(e, `invalid argument: index ${describe(s.dwarf, x)} must not be negative`);
    return false;
  }
  if (max >= 0 && v >= BigInt(max)) {
    s.error(e, `invalid argument: index ${v} out of bounds [0:${max}]`);
    return false;
  }
  return Number(v);
}

/** Checks `x[low:high]` and `x[low:high:max]`. */
export function checkSlice(s: CheckState, e: Expr & { kind: 'slice' }): Operand {
  const d = s.dwarf;
  const x = checkNode(s, e.x);
  const bounds = [e.low, e.high, e.max];
  if (x.type.k === 'error' || x.type.k === 'dynamic') {
    for (const b of bounds) if (b) checkNode(s, b);
    return x.type.k === 'error' ? invalid(e) : { mode: 'value', type: DYN, expr: e };
  }
  const sh = shape(s, x);
  let type: SType = x.type;
  if (sh.k === 'string') {
    if (e.max) {
      s.error(e.max, 'invalid operation: 3-index slice of string');
      return invalid(e);
    }
    if (isUntyped(x.type)) type = goType(basicType(d, 'string'));
  } else if (sh.k === 'array' || sh.k === 'ptrarray') {
    if (sh.k === 'array' && x.mode !== 'variable') {
      s.error(x.expr, `invalid operation: cannot slice ${describe(d, x)} (value not addressable)`);
      return invalid(e);
    }
    if (sh.elem?.k !== 'go') {
      s.error(e, `${stypeName(x.type)} has no element type in DWARF`);
      return invalid(e);
    }
    type = goType(sliceOf(d, sh.elem.t));
  } else if (sh.k !== 'slice') {
    s.error(x.expr, `cannot slice ${describe(d, x)}`);
    return invalid(e);
  }
  const ind: number[] = [];
  for (const [i, b] of bounds.entries()) {
    if (b) {
      const v = index(s, b, sh.length >= 0 ? sh.length + 1 : -1);
      if (v === false) return invalid(e);
      ind.push(v);
    } else ind.push(i === 0 ? 0 : sh.length);
  }
  for (let i = 0; i < 2; i++) {
    for (let j = i + 1; j < 3; j++) {
      const [a, b] = [ind[i]!, ind[j]!];
      if (a > 0 && b >= 0 && b < a) {
        s.error(bounds[j]!, `invalid slice indices: ${b} < ${a}`);
        return invalid(e);
      }
    }
  }
  return { mode: 'value', type, expr: e };
}
