/**
 * Arithmetic, comparison and unary operators on evaluated values, with Go's semantics:
 * integer results wrap to the size of their typed operand, integer division truncates,
 * division by zero is an error, strings concatenate and compare bytewise.
 */
import type { DwarfType } from '../../dwarf/types.js';
import type { ValueContext } from '../values/context.js';
import type { BinaryOp } from './ast.js';
import { isFloatKind, kindOf, typeName } from './types.js';
import { ExprEvalError, encodeNumber, type Scalar, scalarOf, scalarText, type Val } from './values.js';

/** Applies a comparison operator to two values. */
export function compare(ctx: ValueContext, op: BinaryOp, x: Val, y: Val): boolean {
  const a = scalarOf(ctx, x);
  const b = scalarOf(ctx, y);
  const c = order(a, b);
  switch (op) {
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c !== undefined && c < 0;
    case '<=':
      return c !== undefined && c <= 0;
    case '>':
      return c !== undefined && c > 0;
    default:
      return c !== undefined && c >= 0;
  }
}

/** -1, 0 or 1; NaN for unordered floats (undefined when a comparison makes no sense). */
function order(a: Scalar, b: Scalar): number | undefined {
  if (a.c === 'int' && b.c === 'int') return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  if ((a.c === 'int' || a.c === 'float') && (b.c === 'int' || b.c === 'float')) {
    const [p, q] = [Number(a.v), Number(b.v)];
    if (Number.isNaN(p) || Number.isNaN(q)) return Number.NaN;
    return p < q ? -1 : p > q ? 1 : 0;
  }
  if (a.c === 'string' && b.c === 'string') return Buffer.compare(Buffer.from(a.v), Buffer.from(b.v));
  if (a.c === 'bool' && b.c === 'bool') return a.v === b.v ? 0 : 1;
  const word = (s: Scalar): number | undefined => (s.c === 'nil' ? 0 : s.c === 'word' ? s.v : undefined);
  const [p, q] = [word(a), word(b)];
  if (p !== undefined && q !== undefined) return p === q ? 0 : 1;
  throw new ExprEvalError(`cannot compare ${scalarText(a)} with ${scalarText(b)}`);
}

/** Applies an arithmetic operator; the result takes the typed operand's type (if any). */
export function arithmetic(ctx: ValueContext, op: BinaryOp, x: Val, y: Val): Val {
  const a = scalarOf(ctx, x);
  const b = scalarOf(ctx, y);
  const typed = x.k === 'go' ? x.t : y.k === 'go' ? y.t : undefined;
  if (a.c === 'string' && b.c === 'string') {
    if (op !== '+') throw new ExprEvalError(`operator ${op} is not defined on strings`);
    const out = new Uint8Array(a.v.length + b.v.length);
    out.set(a.v, 0);
    out.set(b.v, a.v.length);
    return { k: 'string', v: out };
  }
  if ((a.c !== 'int' && a.c !== 'float') || (b.c !== 'int' && b.c !== 'float'))
    throw new ExprEvalError(`operator ${op} needs numbers, not ${scalarText(a)} and ${scalarText(b)}`);
  const float =
    a.c === 'float' || b.c === 'float' || (typed !== undefined && isFloatKind(kindOf(ctx.dwarf, typed)));
  if (float) {
    const r = floatOp(op, Number(a.v), Number(b.v));
    return typed ? encodeNumber(ctx, typed, r) : { k: 'float', v: r };
  }
  const r = intOp(op, a.v as bigint, b.v as bigint);
  return typed ? encodeNumber(ctx, typed, r) : { k: 'int', v: r };
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
    default:
      throw new ExprEvalError(`operator ${op} is not defined on floats`);
  }
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
      if (q === 0n) throw new ExprEvalError('integer division by zero');
      return op === '/' ? p / q : p % q;
    default:
      throw new ExprEvalError(`operator ${op} is not defined on integers`);
  }
}

/** Unary minus (and plus) on a number. */
export function negate(ctx: ValueContext, op: '-' | '+', x: Val): Val {
  const s = scalarOf(ctx, x);
  if (s.c !== 'int' && s.c !== 'float')
    throw new ExprEvalError(`operator ${op} needs a number, not ${scalarText(s)}`);
  if (op === '+') return x;
  const r = s.c === 'int' ? -s.v : -s.v;
  if (x.k === 'go') return encodeNumber(ctx, x.t, r);
  return s.c === 'int' ? { k: 'int', v: r as bigint } : { k: 'float', v: r as number };
}

/** The truth value of a bool-valued value. */
export function truth(ctx: ValueContext, x: Val): boolean {
  const s = scalarOf(ctx, x);
  if (s.c !== 'bool') throw new ExprEvalError(`expected a bool, got ${scalarText(s)}`);
  return s.v;
}

/** Names a value's type for messages. */
export function valTypeName(v: Val): string {
  if (v.k === 'go') return typeName(v.t as DwarfType);
  return v.k === 'bool' || v.k === 'string' || v.k === 'nil' ? v.k : `untyped ${v.k}`;
}
