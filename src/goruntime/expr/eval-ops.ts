/**
 * Operators on evaluated values, with Go's run-time semantics: integers wrap to their type's
 * size and divide truncating toward zero, shifts by counts of any size, floats round to
 * float32 or float64, complex division as Go's runtime does it, strings concatenate and
 * compare bytewise, == on any comparable type. The checker made the operand types agree; a
 * value reached through an interface is checked here instead, with the same rules.
 */
import type { DwarfType } from '../../dwarf/types.js';
import type { ValueContext } from '../values/context.js';
import type { BinaryOp } from './ast.js';
import { constText, represent } from './constants.js';
import { equalGo } from './eval-equal.js';
import { BASIC_KINDS, identical } from './gotypes.js';
import { constToGo, encodeNumber, newString, type Scalar, scalarOf, scalarText } from './scalar.js';
import { basicType } from './synthetic-types.js';
import { INT_KINDS, isIntKind, kindOf, typeName } from './types.js';
import { ExprEvalError, type GoVal, type Val } from './values.js';

/** Gives an untyped constant the type of the typed operand it meets (for operands reached through interfaces). */
export function coerce(ctx: ValueContext, v: Val, to: Val): Val {
  if (v.k !== 'const' || to.k !== 'go') return v;
  const k = kindOf(ctx.dwarf, to.t);
  if (k === 'interface') return v;
  if (!BASIC_KINDS.has(k))
    throw new ExprEvalError(`mismatched types ${typeName(to.t)} and untyped ${v.base}`);
  const r = represent(v.c, k);
  if (typeof r === 'string') {
    const what = `${constText(v.c, v.base === 'float' || v.base === 'complex')} (untyped ${v.base} constant)`;
    const t = typeName(to.t);
    throw new ExprEvalError(
      r === 'overflows'
        ? `${what} overflows ${t}`
        : r === 'truncated'
          ? `${what} truncated to ${t}`
          : `cannot convert ${what} to type ${t}`,
    );
  }
  return constToGo(ctx, to.t, r);
}

function sameType(ctx: ValueContext, x: GoVal, y: GoVal): void {
  if (!identical(ctx.dwarf, x.t, y.t))
    throw new ExprEvalError(`invalid operation: mismatched types ${typeName(x.t)} and ${typeName(y.t)}`);
}

/** Applies an arithmetic or bitwise operator to two values of one type. */
export function arithmetic(ctx: ValueContext, op: BinaryOp, xv: Val, yv: Val): Val {
  const [x, y] = [coerce(ctx, xv, yv), coerce(ctx, yv, xv)];
  if (x.k !== 'go' || y.k !== 'go') throw new ExprEvalError(`operator ${op} needs typed operands here`);
  sameType(ctx, x, y);
  const t = x.t;
  const [a, b] = [scalarOf(ctx, x), scalarOf(ctx, y)];
  if (a.c === 'string' && b.c === 'string' && op === '+') {
    const out = new Uint8Array(a.v.length + b.v.length);
    out.set(a.v, 0);
    out.set(b.v, a.v.length);
    return newString(ctx, t, out);
  }
  if (a.c === 'int' && b.c === 'int') return encodeNumber(ctx, t, intOp(op, a.v, b.v));
  const k = kindOf(ctx.dwarf, t);
  const round = k === 'float32' || k === 'complex64' ? Math.fround : (n: number) => n;
  if (a.c === 'float' && b.c === 'float') return encodeNumber(ctx, t, round(floatOp(op, a.v, b.v)));
  if (a.c === 'complex' && b.c === 'complex') {
    const [re, im] = complexOp(op, a, b);
    return encodeNumber(ctx, t, round(re), round(im));
  }
  throw new ExprEvalError(`operator ${op} is not defined on ${typeName(t)}`);
}

function intOp(op: BinaryOp, p: bigint, q: bigint): bigint {
  switch (op) {
    case '+':
      return p + q;
    case '-':
      return p - q;
    case '*':
      return p * q;
    case '/':
    case '%':
      if (q === 0n) throw new ExprEvalError('integer divide by zero');
      return op === '/' ? p / q : p % q;
    case '&':
      return p & q;
    case '|':
      return p | q;
    case '^':
      return p ^ q;
    case '&^':
      return p & ~q;
  }
  throw new ExprEvalError(`operator ${op} is not defined on integers`);
}

function floatOp(op: BinaryOp, p: number, q: number): number {
  switch (op) {
    case '+':
      return p + q;
    case '-':
      return p - q;
    case '*':
      return p * q;
    case '/':
      return p / q;
  }
  throw new ExprEvalError(`operator ${op} is not defined on floats`);
}

type Cx = Scalar & { c: 'complex' };

function complexOp(op: BinaryOp, x: Cx, y: Cx): [number, number] {
  const [a, b, c, d] = [x.re, x.im, y.re, y.im];
  if (op === '+') return [a + c, b + d];
  if (op === '-') return [a - c, b - d];
  if (op === '*') return [a * c - b * d, a * d + b * c];
  if (op !== '/') throw new ExprEvalError(`operator ${op} is not defined on complex numbers`);
  // Go's runtime complex128div (Smith's algorithm; C99's corrections for infinities and zeros).
  let e: number;
  let f: number;
  if (Math.abs(c) >= Math.abs(d)) {
    const ratio = d / c;
    const denom = c + ratio * d;
    [e, f] = [(a + b * ratio) / denom, (b - a * ratio) / denom];
  } else {
    const ratio = c / d;
    const denom = d + ratio * c;
    [e, f] = [(a * ratio + b) / denom, (b * ratio - a) / denom];
  }
  if (Number.isNaN(e) && Number.isNaN(f)) {
    const inf = Number.POSITIVE_INFINITY;
    const sign = (m: number, s: number) => (s < 0 || Object.is(s, -0) ? -Math.abs(m) : Math.abs(m));
    const isInf = (v: number) => !Number.isFinite(v) && !Number.isNaN(v);
    if (c === 0 && d === 0 && (!Number.isNaN(a) || !Number.isNaN(b)))
      [e, f] = [sign(inf, c) * a, sign(inf, c) * b];
    else if ((isInf(a) || isInf(b)) && Number.isFinite(c) && Number.isFinite(d)) {
      const [a2, b2] = [sign(isInf(a) ? 1 : 0, a), sign(isInf(b) ? 1 : 0, b)];
      [e, f] = [inf * (a2 * c + b2 * d), inf * (b2 * c - a2 * d)];
    } else if ((isInf(c) || isInf(d)) && Number.isFinite(a) && Number.isFinite(b)) {
      const [c2, d2] = [sign(isInf(c) ? 1 : 0, c), sign(isInf(d) ? 1 : 0, d)];
      [e, f] = [0 * (a * c2 + b * d2), 0 * (b * c2 - a * d2)];
    }
  }
  return [e, f];
}

/** `x << n` and `x >> n` on integers (counts beyond the size give 0 or the sign, as in Go). */
export function shiftOp(ctx: ValueContext, op: '<<' | '>>', xv: Val, nv: Val): Val {
  const x = xv.k === 'const' ? constToGo(ctx, basicType(ctx.dwarf, 'int'), xv.c) : xv;
  if (x.k !== 'go' || !isIntKind(kindOf(ctx.dwarf, x.t)))
    throw new ExprEvalError('shifted operand must be an integer');
  const a = scalarOf(ctx, x);
  const n = scalarOf(ctx, nv);
  if (a.c !== 'int' || n.c !== 'int')
    throw new ExprEvalError(`shift count must be an integer, not ${scalarText(n)}`);
  if (n.v < 0n) throw new ExprEvalError('negative shift amount');
  const count = n.v > 64n ? 64n : n.v;
  return encodeNumber(ctx, x.t, op === '<<' ? a.v << count : a.v >> count);
}

/** Unary - + ^ on a number. */
export function unaryOp(ctx: ValueContext, op: '-' | '+' | '^', v: Val): Val {
  if (v.k !== 'go') throw new ExprEvalError(`operator ${op} needs a typed number`);
  if (op === '+') return v;
  const s = scalarOf(ctx, v);
  const k = kindOf(ctx.dwarf, v.t);
  if (s.c === 'int')
    return encodeNumber(ctx, v.t, op === '-' ? -s.v : INT_KINDS[k] === false ? ~s.v : -s.v - 1n);
  if (op === '-' && s.c === 'float') return encodeNumber(ctx, v.t, -s.v);
  if (op === '-' && s.c === 'complex') return encodeNumber(ctx, v.t, -s.re, -s.im);
  throw new ExprEvalError(`operator ${op} is not defined on ${typeName(v.t)}`);
}

/** Applies a comparison operator. */
export function compare(ctx: ValueContext, op: BinaryOp, xv: Val, yv: Val): boolean {
  const [x, y] = [coerce(ctx, xv, yv), coerce(ctx, yv, xv)];
  if (x.k === 'nil' || y.k === 'nil') {
    const other = x.k === 'nil' ? y : x;
    const s: Scalar = other.k === 'nil' ? { c: 'nil' } : scalarOf(ctx, other);
    const isNil = s.c === 'nil' || (s.c === 'word' && s.v === 0);
    return op === '==' ? isNil : !isNil;
  }
  if (op === '==' || op === '!=') {
    let eq: boolean;
    if (x.k === 'go' && y.k === 'go') eq = equalGo(ctx, x, y);
    else {
      const [a, b] = [scalarOf(ctx, x), scalarOf(ctx, y)];
      eq = scalarEqual(a, b);
    }
    return op === '==' ? eq : !eq;
  }
  if (x.k === 'go' && y.k === 'go') sameType(ctx, x, y);
  const [a, b] = [scalarOf(ctx, x), scalarOf(ctx, y)];
  let c: number;
  if (a.c === 'int' && b.c === 'int') c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  else if (a.c === 'float' && b.c === 'float') {
    if (Number.isNaN(a.v) || Number.isNaN(b.v)) return false;
    c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  } else if (a.c === 'string' && b.c === 'string') c = Buffer.compare(a.v, b.v);
  else throw new ExprEvalError(`cannot order ${scalarText(a)} and ${scalarText(b)}`);
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

function scalarEqual(a: Scalar, b: Scalar): boolean {
  if (a.c === 'bool' && b.c === 'bool') return a.v === b.v;
  if ((a.c === 'int' || a.c === 'float') && (b.c === 'int' || b.c === 'float'))
    return Number(a.v) === Number(b.v);
  if (a.c === 'string' && b.c === 'string') return Buffer.compare(a.v, b.v) === 0;
  throw new ExprEvalError(`cannot compare ${scalarText(a)} with ${scalarText(b)}`);
}

/** The truth value of a bool-valued value. */
export function truth(ctx: ValueContext, x: Val): boolean {
  const s = scalarOf(ctx, x);
  if (s.c !== 'bool') throw new ExprEvalError(`expected a bool, got ${scalarText(s)}`);
  return s.v;
}

/** Names a value's type for results and messages (untyped constants by their default type). */
export function valTypeName(v: Val): string {
  if (v.k === 'go') return typeName(v.t as DwarfType);
  if (v.k === 'const')
    return {
      int: 'int',
      rune: 'int32',
      float: 'float64',
      complex: 'complex128',
      string: 'string',
      bool: 'bool',
      nil: 'nil',
    }[v.base];
  return v.k === 'bool' ? 'bool' : 'nil';
}
