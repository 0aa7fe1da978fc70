/**
 * Unary operators in the checker (go/types' unary and star expressions): `-x +x` on numbers,
 * `^x` on integers, `!x` on bools, folded exactly for constants; `*p` on pointers; `&x` on
 * addressable operands (variables, fields, slice and array elements, `*p`).
 */
import type { Expr } from './ast.js';
import { is, overflow } from './check-binary.js';
import { type CheckState, checkNode, invalid } from './check-ops.js';
import { arith, type Const, intBits, intConst } from './constants.js';
import { DYN, describe, goType, type Operand } from './operand.js';
import { pointerTo } from './synthetic-types.js';
import { elemOf, INT_KINDS, kindOf } from './types.js';

/** Checks a unary expression. */
export function checkUnary(s: CheckState, e: Expr & { kind: 'unary' }): Operand {
  const d = s.dwarf;
  const x = checkNode(s, e.x);
  if (x.type.k === 'error') return invalid(e);
  if (e.op === '&') {
    if (x.type.k === 'dynamic') return { mode: 'value', type: DYN, expr: e };
    if (x.mode !== 'variable' || x.type.k !== 'go') {
      s.error(x.expr, `invalid operation: cannot take address of ${describe(d, x)}`);
      return invalid(e);
    }
    return { mode: 'value', type: goType(pointerTo(d, x.type.t)), expr: e };
  }
  if (e.op === '*') {
    if (x.type.k === 'dynamic') return { mode: 'variable', type: DYN, expr: e };
    const el = x.type.k === 'go' && kindOf(d, x.type.t) === 'ptr' ? elemOf(d, x.type.t) : undefined;
    if (!el) {
      s.error(x.expr, `invalid operation: cannot indirect ${describe(d, x)}`);
      return invalid(e);
    }
    return { mode: 'variable', type: goType(el), expr: e };
  }
  if (x.type.k === 'dynamic') return { mode: 'value', type: DYN, expr: e };
  const ok = e.op === '!' ? is.boolean : e.op === '^' ? is.integer : is.numeric;
  if (!ok(s, x.type)) {
    s.error(x.expr, `invalid operation: operator ${e.op} not defined on ${describe(d, x)}`);
    return invalid(e);
  }
  if (x.mode !== 'constant' || !x.val) return { mode: 'value', type: x.type, expr: e };
  let val: Const | string = x.val;
  if (e.op === '!') val = { k: 'bool', v: !(x.val.k === 'bool' && x.val.v) };
  else if (e.op === '-') val = arith('-', intConst(0n), x.val, false);
  else if (e.op === '^' && x.val.k === 'num') {
    const v = x.val.re.n;
    const k = x.type.k === 'go' ? kindOf(d, x.type.t) : undefined;
    // Unsigned typed constants complement within their size; others as -x-1 (Go's rule).
    val =
      k !== undefined && INT_KINDS[k] === false
        ? intConst(v ^ ((1n << BigInt(intBits(k))) - 1n))
        : intConst(-v - 1n);
  }
  if (typeof val === 'string') return invalid(e);
  return overflow(s, { mode: 'constant', type: x.type, val, expr: e }, e.pos, e.op === '^' ? '^x' : e.op);
}
