/**
 * Calls in the checker: the built-ins len, cap, real and imag (constant when Go says so:
 * `len` of an array or of a constant string), and conversions (check-convert.ts). Functions
 * and methods are never called: that would run code in the target.
 */
import { convertUntyped } from './assign.js';
import { type Expr, exprText } from './ast.js';
import { is } from './check-binary.js';
import { calleeType, checkConversion } from './check-convert.js';
import { type CheckState, checkNode, invalid, recordConst, resolveLocal } from './check-ops.js';
import { isComplexKind } from './gotypes.js';
import { DYN, describe, goType, isUntyped, type Operand, stypeName } from './operand.js';
import { basicType } from './synthetic-types.js';
import { elemOf, kindOf } from './types.js';

const BUILTINS = new Set(['len', 'cap', 'real', 'imag']);
const UNSUPPORTED_BUILTINS = new Set([
  'append',
  'clear',
  'close',
  'complex',
  'copy',
  'delete',
  'make',
  'max',
  'min',
  'new',
  'panic',
  'print',
  'println',
  'recover',
]);
/** Checks a call: a built-in or a conversion. */
export function checkCall(s: CheckState, e: Expr & { kind: 'call' }): Operand {
  const fn = e.fn;
  if (fn.kind === 'ident' && resolveLocal(s, fn) === undefined) {
    if (BUILTINS.has(fn.name)) return checkBuiltin(s, e, fn.name as 'len' | 'cap' | 'real' | 'imag');
    if (UNSUPPORTED_BUILTINS.has(fn.name)) {
      s.error(e, `the built-in ${fn.name} is not supported (only len, cap, real and imag are)`);
      return invalid(e);
    }
  }
  const t = calleeType(s, fn);
  if (t === null) return invalid(e);
  if (t) return checkConversion(s, e, t);
  for (const a of e.args) checkNode(s, a);
  s.error(
    e,
    'only conversions and the built-ins len, cap, real and imag can be called; functions and methods cannot (that would run code in the target)',
  );
  return invalid(e);
}

function checkBuiltin(
  s: CheckState,
  e: Expr & { kind: 'call' },
  name: 'len' | 'cap' | 'real' | 'imag',
): Operand {
  const d = s.dwarf;
  s.bindings.set(e, { kind: 'builtin', name });
  if (e.args.length !== 1) {
    const many = e.args.length > 1;
    for (const a of e.args) checkNode(s, a);
    s.error(
      { pos: e.end - 1 },
      `invalid operation: ${many ? 'too many' : 'not enough'} arguments for ${exprText(e)} (expected 1, found ${e.args.length})`,
    );
    return invalid(e);
  }
  let x = checkNode(s, e.args[0]!);
  if (x.type.k === 'error') return invalid(e);
  const int = goType(basicType(d, 'int'));
  if (name === 'real' || name === 'imag') return realImag(s, e, name, x);
  if (x.type.k === 'dynamic') return { mode: 'value', type: int, expr: e };
  let k = x.type.k === 'untyped' ? (x.type.base === 'string' ? 'string' : 'other') : kindOf(d, x.type.t);
  let arrayLen: number | undefined;
  if (x.type.k === 'go') {
    let t = x.type.t;
    if (k === 'ptr') {
      const p = elemOf(d, t);
      if (p && kindOf(d, p) === 'array') [t, k] = [p, 'array'];
    }
    if (k === 'array') arrayLen = d.underlying(t).count ?? 0;
  }
  const ok =
    k === 'array' || k === 'slice' || k === 'chan' || (name === 'len' && (k === 'string' || k === 'map'));
  if (!ok) {
    s.error(x.expr, `invalid argument: ${describe(d, x)} for built-in ${name}`);
    return invalid(e);
  }
  if (arrayLen !== undefined) return constInt(s, e, int, BigInt(arrayLen));
  if (k === 'string' && x.mode === 'constant' && x.val?.k === 'string')
    return constInt(s, e, int, BigInt(x.val.v.length));
  if (isUntyped(x.type)) x = convertUntyped(s, x, goType(basicType(d, 'string')));
  return { mode: 'value', type: int, expr: e };
}

function constInt(s: CheckState, e: Expr, t: Operand['type'], v: bigint): Operand {
  return recordConst(s, {
    mode: 'constant',
    type: t,
    val: { k: 'num', re: { n: v, d: 1n }, im: { n: 0n, d: 1n } },
    expr: e,
  });
}

function realImag(s: CheckState, e: Expr, name: 'real' | 'imag', x: Operand): Operand {
  const d = s.dwarf;
  if (x.type.k === 'dynamic') return { mode: 'value', type: DYN, expr: e };
  if (isUntyped(x.type)) {
    if (x.mode === 'constant' && is.numeric(s, x.type) && x.val?.k === 'num') {
      const v = name === 'real' ? x.val.re : x.val.im;
      return recordConst(s, {
        mode: 'constant',
        type: { k: 'untyped', base: 'float' },
        val: { k: 'num', re: v, im: { n: 0n, d: 1n } },
        expr: e,
      });
    }
    x = convertUntyped(s, x, goType(basicType(d, 'complex128')));
    if (x.type.k === 'error') return invalid(e);
  }
  const k = x.type.k === 'go' ? kindOf(d, x.type.t) : '';
  if (!isComplexKind(k)) {
    s.error(x.expr, `invalid argument: argument has type ${stypeName(x.type)}, expected complex type`);
    return invalid(e);
  }
  const ft = goType(basicType(d, k === 'complex64' ? 'float32' : 'float64'));
  if (x.mode === 'constant' && x.val?.k === 'num') {
    const v = name === 'real' ? x.val.re : x.val.im;
    return recordConst(s, {
      mode: 'constant',
      type: ft,
      val: { k: 'num', re: v, im: { n: 0n, d: 1n } },
      expr: e,
    });
  }
  return { mode: 'value', type: ft, expr: e };
}
