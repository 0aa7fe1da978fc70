/**
 * Conversions `T(x)` in the checker, by go/types' rules: constants convert when the value is
 * representable (an integer constant to a string is its code point), other values between
 * numeric types, strings and byte or rune slices, integers to strings, identical underlying
 * types (and pointers to them), slices to arrays and array pointers, values to interfaces
 * they implement. The callee may be any type expression: `int`, `main.T`, `[]byte`, `(*T)`;
 * slices, arrays and pointers the binary lacks are built (synthetic-types.ts).
 */
import type { DwarfType } from '../../dwarf/types.js';
import { assignable, convertUntyped, isNonEmptyInterface, itabAddress, updateType } from './assign.js';
import type { Expr, TypeExpr } from './ast.js';
import { is } from './check-binary.js';
import { type CheckState, checkNode, invalid, packageOf, recordConst, resolveLocal } from './check-ops.js';
import { type Const, constText, represent } from './constants.js';
import { BASIC_KINDS, identical, identicalUnder, isComplexKind, isDefined } from './gotypes.js';
import { defaultType, describe, goType, isUntyped, type Operand } from './operand.js';
import { resolveTypeExpr } from './scope.js';
import { arrayOf, basicType, pointerTo, sliceOf } from './synthetic-types.js';
import { elemOf, isFloatKind, isIntKind, kindOf, typeName } from './types.js';

const PREDECLARED: Readonly<Record<string, string>> = {
  byte: 'uint8',
  rune: 'int32',
  any: 'interface {}',
  error: 'error',
};

/** The type a callee denotes (a conversion), undefined when it is no type, null after an error. */
export function calleeType(s: CheckState, fn: Expr): DwarfType | undefined | null {
  const d = s.dwarf;
  switch (fn.kind) {
    case 'paren':
      return calleeType(s, fn.x);
    case 'unary': {
      if (fn.op !== '*') return undefined;
      const el = calleeType(s, fn.x);
      return el ? pointerTo(d, el) : el;
    }
    case 'type':
      return writtenType(s, fn.type);
    case 'ident': {
      if (resolveLocal(s, fn) !== undefined) return undefined;
      if (BASIC_KINDS.has(fn.name) && fn.name !== 'unsafe.Pointer') return basicType(d, fn.name);
      const pre = PREDECLARED[fn.name];
      if (pre)
        return pre.startsWith('interface') || pre === 'error' ? (d.findType(pre) ?? null) : basicType(d, pre);
      const pkg = packageOf(s);
      return pkg === undefined ? undefined : d.findType(`${pkg}.${fn.name}`);
    }
    case 'selector': {
      if (fn.x.kind !== 'ident' || resolveLocal(s, fn.x) !== undefined) return undefined;
      const named: TypeExpr = {
        kind: 'tname',
        pkg: fn.x.name,
        quoted: false,
        name: fn.name,
        args: [],
        pos: fn.pos,
        end: fn.end,
      };
      const r = resolveTypeExpr(d, named);
      return r.ok ? r.type : undefined;
    }
    case 'pkgvar': {
      const r = resolveTypeExpr(d, {
        kind: 'tname',
        pkg: fn.path,
        quoted: true,
        name: fn.name,
        args: [],
        pos: fn.pos,
        end: fn.end,
      });
      return r.ok ? r.type : undefined;
    }
  }
  return undefined;
}

/** A type written in a conversion; slices, arrays and pointers the binary lacks are built. */
function writtenType(s: CheckState, t: TypeExpr): DwarfType | null {
  const d = s.dwarf;
  const elem = (x: TypeExpr): DwarfType | null => writtenType(s, x);
  if (t.kind === 'tslice' || t.kind === 'tarray' || t.kind === 'tptr') {
    const el = elem(t.elem);
    if (!el) return null;
    return t.kind === 'tslice'
      ? sliceOf(d, el)
      : t.kind === 'tarray'
        ? arrayOf(d, el, t.len)
        : pointerTo(d, el);
  }
  if (t.kind === 'tname' && t.pkg === undefined && t.args.length === 0) {
    if (BASIC_KINDS.has(t.name)) return basicType(d, t.name);
    const pre = PREDECLARED[t.name];
    if (pre && pre !== 'error' && !pre.startsWith('interface')) return basicType(d, pre);
  }
  const r = resolveTypeExpr(d, t, packageOf(s));
  if (r.ok) return r.type;
  s.error(t, r.message);
  return null;
}

/** Checks the conversion `T(x)` of call `e` to type `t`. */
export function checkConversion(s: CheckState, e: Expr & { kind: 'call' }, t: DwarfType): Operand {
  const d = s.dwarf;
  if (e.args.length !== 1) {
    const many = e.args.length > 1;
    s.error(
      many ? e.args[1]! : { pos: e.end - 1 },
      `${many ? 'too many' : 'missing'} argument${many ? 's' : ''} in conversion to ${typeName(t)}`,
    );
    for (const a of e.args) checkNode(s, a);
    return invalid(e);
  }
  let x = checkNode(s, e.args[0]!);
  if (x.type.k === 'error') return invalid(e);
  s.bindings.set(e, { kind: 'convert', type: t });
  const T = goType(t);
  if (x.type.k === 'dynamic') return { mode: 'value', type: T, expr: e };
  const tk = kindOf(d, t);
  const constType = BASIC_KINDS.has(tk) && tk !== 'unsafe.Pointer';
  if (x.mode === 'constant' && x.val && constType) {
    let v: Const | string = represent(x.val, tk);
    if (typeof v === 'string' && is.integer(s, x.type) && tk === 'string') v = codepointString(x.val);
    if (typeof v === 'string') {
      const msg =
        is.integer(s, x.type) && isIntKind(tk)
          ? `constant ${constText(x.val)} overflows ${typeName(t)}`
          : `cannot convert ${describe(d, x)} to type ${typeName(t)}`;
      s.error(x.expr, msg);
      return invalid(e);
    }
    if (isUntyped(x.type)) {
      const keep = is.integer(s, x.type) && tk === 'string';
      if (!keep) updateType(s, x.expr, T);
    }
    return recordConst(s, { mode: 'constant', type: T, val: v, expr: e });
  }
  if (!convertible(s, x, t)) {
    const cause =
      tk === 'interface' && x.type.k === 'go'
        ? `: ${typeName(x.type.t)} does not implement ${typeName(t)} (as far as the binary tells: it has no itab for the pair, as the program never converts one to the other)`
        : '';
    s.error(x.expr, `cannot convert ${describe(d, x)} to type ${typeName(t)}${cause}`);
    return invalid(e);
  }
  if (isUntyped(x.type) && x.type.base !== 'nil') {
    const final =
      tk === 'interface' || (x.mode === 'constant' && !constType) ? goType(defaultType(d, x.type.base)) : T;
    x = convertUntyped(s, x, final);
    if (x.type.k === 'error') return invalid(e);
  }
  if (
    tk === 'interface' &&
    x.type.k === 'go' &&
    isNonEmptyInterface(s, t) &&
    kindOf(d, x.type.t) !== 'interface'
  )
    s.bindings.set(e, { kind: 'convert', type: t, itab: itabAddress(s, x.type.t, t) });
  return { mode: 'value', type: T, expr: e };
}

/** `string(i)` of an integer constant: its code point's UTF-8, or U+FFFD when it is none. */
function codepointString(c: Const): Const {
  const n = c.k === 'num' ? c.re.n : -1n;
  const cp = n >= 0n && n <= 0x10ffffn && !(n >= 0xd800n && n < 0xe000n) ? Number(n) : 0xfffd;
  return { k: 'string', v: new TextEncoder().encode(String.fromCodePoint(cp)) };
}

/** The kind a static type converts as ('int', 'string', ..., untyped kinds as their default's). */
function kindForConversion(s: CheckState, x: Operand): string {
  if (x.type.k === 'untyped')
    return {
      int: 'int',
      rune: 'int32',
      float: 'float64',
      complex: 'complex128',
      string: 'string',
      bool: 'bool',
      nil: 'nil',
    }[x.type.base];
  return x.type.k === 'go' ? kindOf(s.dwarf, x.type.t) : 'unknown';
}

function isBytesOrRunes(s: CheckState, t: DwarfType): boolean {
  if (kindOf(s.dwarf, t) !== 'slice') return false;
  const el = elemOf(s.dwarf, t);
  const k = el ? kindOf(s.dwarf, el) : '';
  return k === 'uint8' || k === 'int32';
}

/** Whether x converts to t (go/types' convertibleTo). */
export function convertible(s: CheckState, x: Operand, t: DwarfType): boolean {
  const d = s.dwarf;
  if (assignable(s, x, goType(t))) return true;
  const vk = kindForConversion(s, x);
  const tk = kindOf(d, t);
  const v = x.type.k === 'go' ? x.type.t : undefined;
  if (v && identicalUnder(d, v, t)) return true;
  if (v && vk === 'ptr' && tk === 'ptr' && !isDefined(v) && !isDefined(t)) {
    const [a, b] = [elemOf(d, v), elemOf(d, t)];
    if (a && b && identicalUnder(d, a, b)) return true;
  }
  const intOrFloat = (k: string) => isIntKind(k) || isFloatKind(k);
  if (intOrFloat(vk) && intOrFloat(tk)) return true;
  if (isComplexKind(vk) && isComplexKind(tk)) return true;
  if ((isIntKind(vk) || (v && isBytesOrRunes(s, v))) && tk === 'string') return true;
  if (vk === 'string' && isBytesOrRunes(s, t)) return true;
  if ((vk === 'ptr' || vk === 'uintptr') && tk === 'unsafe.Pointer') return true;
  if (vk === 'unsafe.Pointer' && (tk === 'ptr' || tk === 'uintptr')) return true;
  if (v && vk === 'slice') {
    const se = elemOf(d, v);
    const arr = tk === 'array' ? t : tk === 'ptr' ? elemOf(d, t) : undefined;
    const ae = arr && kindOf(d, arr) === 'array' ? elemOf(d, arr) : undefined;
    if (se && ae && identical(d, se, ae)) return true;
  }
  return false;
}
