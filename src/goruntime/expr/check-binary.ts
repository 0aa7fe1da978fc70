/**
 * Binary operators in the checker, as go/types checks them: operands of one type (an untyped
 * constant takes the other operand's type, if it can represent the value), the operators
 * each type has, comparability (func, map and slice only with nil; structs and arrays when
 * their parts are), shifts by integer counts, and exact folding of constant operations with
 * overflow checks.
 */

import { assignable, convertUntyped, updateType } from './assign.js';
import { type Expr, exprText } from './ast.js';
import { type CheckState, checkNode, invalid, recordConst } from './check-ops.js';
import { arith, compareConst, isIntRat, isZero, represent, shift } from './constants.js';
import { hasNil, identical, incomparableCause, isNumericKind, isOrderedKind, kindString } from './gotypes.js';
import {
  constKind,
  DYN,
  defaultType,
  describe,
  goType,
  isUntyped,
  type Operand,
  type SType,
  stypeName,
  untyped,
} from './operand.js';
import { basicType } from './synthetic-types.js';
import { isIntKind, kindOf } from './types.js';

type Pred = (k: string) => boolean;

function holds(s: CheckState, t: SType, kinds: Pred, bases: readonly string[]): boolean {
  if (t.k === 'untyped') return bases.includes(t.base);
  return t.k === 'go' && kinds(kindOf(s.dwarf, t.t));
}

/** Predicates on static types (go/types' allNumeric, allInteger, ...). */
export const is = {
  numeric: (s: CheckState, t: SType) => holds(s, t, isNumericKind, ['int', 'rune', 'float', 'complex']),
  integer: (s: CheckState, t: SType) => holds(s, t, isIntKind, ['int', 'rune']),
  string: (s: CheckState, t: SType) => holds(s, t, (k) => k === 'string', ['string']),
  boolean: (s: CheckState, t: SType) => holds(s, t, (k) => k === 'bool', ['bool']),
  ordered: (s: CheckState, t: SType) => holds(s, t, isOrderedKind, ['int', 'rune', 'float', 'string']),
  numericOrString: (s: CheckState, t: SType) =>
    holds(s, t, (k) => isNumericKind(k) || k === 'string', ['int', 'rune', 'float', 'complex', 'string']),
  nil: (t: SType) => t.k === 'untyped' && t.base === 'nil',
  nilable: (s: CheckState, t: SType) => t.k === 'go' && hasNil(kindOf(s.dwarf, t.t)),
};

const BINARY_PREDICATES: Readonly<Record<string, (s: CheckState, t: SType) => boolean>> = {
  '+': is.numericOrString,
  '-': is.numeric,
  '*': is.numeric,
  '/': is.numeric,
  '%': is.integer,
  '&': is.integer,
  '|': is.integer,
  '^': is.integer,
  '&^': is.integer,
  '&&': is.boolean,
  '||': is.boolean,
};

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const OP_NAMES: Readonly<Record<string, string>> = {
  '+': 'addition',
  '-': 'subtraction',
  '^': 'bitwise XOR',
  '*': 'multiplication',
  '<<': 'shift',
};

/** Whether two static types are identical. */
export function identicalS(s: CheckState, a: SType, b: SType): boolean {
  if (a.k === 'untyped' && b.k === 'untyped') return a.base === b.base;
  return a.k === 'go' && b.k === 'go' && identical(s.dwarf, a.t, b.t);
}

/** A constant result must fit its type; untyped integers may not exceed 512 bits (go/types' overflow). */
export function overflow(s: CheckState, x: Operand, opPos: number, op: string): Operand {
  if (!x.val) return x;
  const kind = constKind(s.dwarf, x.type);
  if (x.type.k === 'go' && kind !== undefined) {
    const v = represent(x.val, kind);
    if (typeof v === 'string') {
      const what = describe(s.dwarf, x);
      s.error(x.expr, v === 'truncated' ? `${what} truncated to ${kind}` : `${what} overflows ${kind}`);
      return invalid(x.expr);
    }
    return recordConst(s, { ...x, val: v });
  }
  if (is.integer(s, x.type) && x.val.k === 'num' && x.val.re.n.toString(2).length > 513) {
    s.error({ pos: opPos }, `constant ${OP_NAMES[op] ? `${OP_NAMES[op]} ` : ''}overflow`);
    return invalid(x.expr);
  }
  return recordConst(s, x);
}

/** Checks a binary expression. */
export function checkBinary(s: CheckState, e: Expr & { kind: 'binary' }): Operand {
  let x = checkNode(s, e.x);
  let y = checkNode(s, e.y);
  if (x.type.k === 'error' || y.type.k === 'error') return invalid(e);
  const op = e.op;
  if (op === '<<' || op === '>>') return checkShift(s, e, x, y);
  if (x.type.k === 'dynamic' || y.type.k === 'dynamic') {
    const logical = COMPARISONS.has(op) || op === '&&' || op === '||';
    return { mode: 'value', type: logical ? untyped('bool') : DYN, expr: e };
  }
  if (mayConvert(s, x, y)) {
    x = convertUntyped(s, x, y.type);
    if (x.type.k === 'error') return invalid(e);
    y = convertUntyped(s, y, x.type);
    if (y.type.k === 'error') return invalid(e);
  }
  if (COMPARISONS.has(op)) return checkComparison(s, e, x, y);
  if (!identicalS(s, x.type, y.type)) {
    s.error(
      e,
      `invalid operation: ${exprText(e)} (mismatched types ${stypeName(x.type)} and ${stypeName(y.type)})`,
    );
    return invalid(e);
  }
  if (!BINARY_PREDICATES[op]!(s, x.type)) {
    s.error(x.expr, `invalid operation: operator ${op} not defined on ${describe(s.dwarf, x)}`);
    return invalid(e);
  }
  if (
    (op === '/' || op === '%') &&
    (x.mode === 'constant' || is.integer(s, x.type)) &&
    y.mode === 'constant' &&
    y.val &&
    isZero(y.val)
  ) {
    s.error(y.expr, 'invalid operation: division by zero');
    return invalid(e);
  }
  if (x.mode === 'constant' && y.mode === 'constant' && x.val && y.val) {
    let val: Operand['val'];
    if (op === '&&' || op === '||') {
      const [a, b] = [x.val.k === 'bool' && x.val.v, y.val.k === 'bool' && y.val.v];
      val = { k: 'bool', v: op === '&&' ? a && b : a || b };
    } else {
      const r = arith(op, x.val, y.val, is.integer(s, x.type));
      if (typeof r === 'string') {
        s.error(y.expr, `invalid operation: ${r}`);
        return invalid(e);
      }
      val = r;
    }
    return overflow(s, { mode: 'constant', type: x.type, val, expr: e }, e.opPos, op);
  }
  return { mode: 'value', type: x.type, expr: e };
}

/** Whether an untyped operand may take the other operand's type (go/types' matchTypes). */
function mayConvert(s: CheckState, x: Operand, y: Operand): boolean {
  if (!isUntyped(x.type) && !isUntyped(y.type)) return false;
  if (is.numeric(s, x.type) !== is.numeric(s, y.type)) return false;
  if (is.boolean(s, x.type) !== is.boolean(s, y.type)) return false;
  if (is.string(s, x.type) !== is.string(s, y.type)) return false;
  if (is.nil(x.type)) return is.nilable(s, y.type);
  if (is.nil(y.type)) return is.nilable(s, x.type);
  const ptr = (t: SType) => t.k === 'go' && kindOf(s.dwarf, t.t) === 'ptr';
  return !ptr(x.type) && !ptr(y.type);
}

function checkComparison(s: CheckState, e: Expr & { kind: 'binary' }, x: Operand, y: Operand): Operand {
  const op = e.op;
  let errOp: Operand | undefined;
  let cause = '';
  const incomparable = (t: SType) => (t.k === 'go' ? incomparableCause(s.dwarf, t.t) : undefined);
  if (!assignable(s, x, y.type) && !assignable(s, y, x.type)) {
    errOp = y;
    cause = `mismatched types ${stypeName(x.type)} and ${stypeName(y.type)}`;
  } else if (op === '==' || op === '!=') {
    if (is.nil(x.type) || is.nil(y.type)) {
      if (!is.nilable(s, is.nil(x.type) ? y.type : x.type)) errOp = y;
    } else if (incomparable(x.type)) [errOp, cause] = [x, incomparable(x.type)!];
    else if (incomparable(y.type)) [errOp, cause] = [y, incomparable(y.type)!];
  } else if (!is.ordered(s, x.type)) errOp = x;
  else if (!is.ordered(s, y.type)) errOp = y;
  if (errOp) {
    const t = errOp.type;
    if (!cause)
      cause = `operator ${op} not defined on ${t.k === 'go' ? kindString(s.dwarf, t.t) : stypeName(t)}`;
    s.error(errOp.expr, `invalid operation: ${exprText(e.x)} ${op} ${exprText(e.y)} (${cause})`);
    return invalid(e);
  }
  if (x.mode === 'constant' && y.mode === 'constant' && x.val && y.val)
    return recordConst(s, {
      mode: 'constant',
      type: untyped('bool'),
      val: { k: 'bool', v: compareConst(op, x.val, y.val) },
      expr: e,
    });
  for (const o of [x, y])
    if (o.type.k === 'untyped' && o.type.base !== 'nil')
      updateType(s, o.expr, goType(defaultType(s.dwarf, o.type.base)));
  return { mode: 'value', type: untyped('bool'), expr: e };
}

function checkShift(s: CheckState, e: Expr & { kind: 'binary' }, x: Operand, y: Operand): Operand {
  const intOf = (o: Operand): bigint | undefined =>
    o.mode === 'constant' && o.val?.k === 'num' && o.val.im.n === 0n && isIntRat(o.val.re)
      ? o.val.re.n
      : undefined;
  const xval = intOf(x);
  const dynamic = x.type.k === 'dynamic';
  if (!dynamic && !is.integer(s, x.type) && !(isUntyped(x.type) && xval !== undefined)) {
    s.error(x.expr, `invalid operation: shifted operand ${describe(s.dwarf, x)} must be integer`);
    return invalid(e);
  }
  if (y.mode === 'constant') {
    const yval = intOf(y);
    if (yval !== undefined && yval < 0n) {
      s.error(y.expr, `invalid operation: negative shift count ${describe(s.dwarf, y)}`);
      return invalid(e);
    }
    if (isUntyped(y.type) && y.val) {
      const r = represent(y.val, 'uint');
      if (typeof r === 'string') {
        const what = describe(s.dwarf, y);
        s.error(
          y.expr,
          r === 'truncated'
            ? `${what} truncated to uint`
            : r === 'overflows'
              ? `${what} overflows uint`
              : `cannot convert ${what} to type uint`,
        );
        return invalid(e);
      }
    }
  } else if (y.type.k === 'dynamic' || is.integer(s, y.type)) {
    // fine
  } else if (isUntyped(y.type)) {
    y = convertUntyped(s, y, goType(basicType(s.dwarf, 'uint')));
    if (y.type.k === 'error') return invalid(e);
  } else {
    s.error(y.expr, `invalid operation: shift count ${describe(s.dwarf, y)} must be integer`);
    return invalid(e);
  }
  if (dynamic) return { mode: 'value', type: DYN, expr: e };
  if (x.mode === 'constant') {
    if (y.mode === 'constant') {
      const n = intOf(y);
      if (n === undefined || n > 1074n) {
        s.error(y.expr, `invalid operation: invalid shift count ${describe(s.dwarf, y)}`);
        return invalid(e);
      }
      const type = isUntyped(x.type) && !is.integer(s, x.type) ? untyped('int') : x.type;
      const v = shift(e.op as '<<' | '>>', xval!, Number(n));
      return overflow(
        s,
        { mode: 'constant', type, val: { k: 'num', re: { n: v, d: 1n }, im: { n: 0n, d: 1n } }, expr: e },
        e.opPos,
        '<<',
      );
    }
    if (isUntyped(x.type)) {
      s.shiftLhs.add(x.expr);
      return { mode: 'value', type: x.type, expr: e };
    }
  }
  if (!is.integer(s, x.type)) {
    s.error(x.expr, `invalid operation: shifted operand ${describe(s.dwarf, x)} must be integer`);
    return invalid(e);
  }
  return { mode: 'value', type: x.type, expr: e };
}
