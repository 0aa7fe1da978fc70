/**
 * Untyped operands taking a type, and assignability, following go/types: an untyped constant
 * must be representable in the type it is given (`300` does not fit a uint8, `1.5` is
 * truncated by an int), untyped non-constant values (comparison results, shifts of constants)
 * get their final type recorded down the tree, and a value is assignable to a type when Go
 * says so (identical types, identical underlying types with one side unnamed, interfaces).
 */
import type { LinkAddress } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { type Expr, exprText } from './ast.js';
import { type CheckState, invalid, recordConst } from './check-ops.js';
import { represent } from './constants.js';
import { BASIC_KINDS, hasName, hasNil, identical, identicalUnder, isNumericKind } from './gotypes.js';
import {
  constKind,
  defaultType,
  describe,
  goType,
  isNumericBase,
  isUntyped,
  maxBase,
  type Operand,
  type SType,
  stypeName,
} from './operand.js';
import { isIntKind, kindOf, typeName } from './types.js';

/** Whether an interface type has methods (its values are iface, with an itab, not eface). */
export function isNonEmptyInterface(s: CheckState, t: DwarfType): boolean {
  return (
    kindOf(s.dwarf, t) === 'interface' && (s.dwarf.underlying(t).fields ?? []).some((f) => f.name === 'tab')
  );
}

type Implicit = { type: SType; val?: Operand['val'] } | 'overflows' | 'truncated' | 'invalid';

/** The type and value an untyped operand takes as a value of `target` (go/types' implicitTypeAndValue). */
export function implicitType(s: CheckState, x: Operand, target: SType): Implicit {
  if (!isUntyped(x.type) || target.k === 'error' || target.k === 'dynamic')
    return { type: x.type, val: x.val };
  const base = x.type.base;
  if (target.k === 'untyped') {
    const m = maxBase(base, target.base);
    return m ? { type: { k: 'untyped', base: m }, val: x.val } : 'invalid';
  }
  const d = s.dwarf;
  const t = target.t;
  const k = kindOf(d, t);
  if (BASIC_KINDS.has(k)) {
    if (x.mode === 'constant' && x.val) {
      const v = represent(x.val, k);
      return typeof v === 'string' ? v : { type: target, val: v };
    }
    const ok =
      base === 'bool'
        ? k === 'bool'
        : isNumericBase(base)
          ? isNumericKind(k)
          : base === 'string'
            ? k === 'string'
            : base === 'nil' && k === 'unsafe.Pointer';
    if (!ok) return 'invalid';
    return base === 'nil' ? { type: x.type } : { type: target };
  }
  if (k === 'interface') {
    if (base === 'nil') return { type: x.type };
    if (isNonEmptyInterface(s, t)) return 'invalid';
    return { type: goType(defaultType(s.dwarf, base)), val: x.val };
  }
  if (hasNil(k)) return base === 'nil' ? { type: x.type } : 'invalid';
  return 'invalid';
}

/** The name go/types prints for a conversion target: a basic type's underlying kind, else the type. */
function targetName(s: CheckState, t: SType): string {
  if (t.k !== 'go') return stypeName(t);
  const k = kindOf(s.dwarf, t.t);
  return BASIC_KINDS.has(k) ? k : typeName(t.t);
}

/** Gives an untyped operand the type `target` (reporting go/types' error when it cannot take it). */
export function convertUntyped(s: CheckState, x: Operand, target: SType): Operand {
  const r = implicitType(s, x, target);
  if (typeof r === 'string') {
    const what = describe(s.dwarf, x);
    const to = targetName(s, target);
    s.error(
      x.expr,
      r === 'overflows'
        ? `${what} overflows ${to}`
        : r === 'truncated'
          ? `${what} truncated to ${to}`
          : `cannot convert ${what} to type ${to}`,
    );
    return invalid(x.expr);
  }
  const out: Operand = { ...x, type: r.type, val: r.val };
  if (r.type !== x.type) updateType(s, x.expr, r.type);
  return recordConst(s, out);
}

/**
 * Records the final type of an untyped subexpression, down to the constants it is made of
 * (go/types' updateExprType): in `1 << n + x` the constant 1 becomes x's type.
 */
export function updateType(s: CheckState, e: Expr, t: SType): void {
  const c = s.consts.get(e);
  if (c) {
    if (!isUntyped(c.type) || t.k === 'dynamic' || t.k === 'error') return;
    const kind = constKind(s.dwarf, t);
    const v = kind === undefined ? c.val : represent(c.val, kind);
    if (typeof v !== 'string') s.consts.set(e, { type: t, val: v });
    if (s.shiftLhs.has(e)) checkShiftOperand(s, e, t);
    return;
  }
  switch (e.kind) {
    case 'paren':
      updateType(s, e.x, t);
      break;
    case 'unary':
      if (e.op === '-' || e.op === '+' || e.op === '^') updateType(s, e.x, t);
      break;
    case 'binary':
      if (['==', '!=', '<', '<=', '>', '>='].includes(e.op) || e.op === '&&' || e.op === '||') break;
      updateType(s, e.x, t);
      if (e.op !== '<<' && e.op !== '>>') updateType(s, e.y, t);
      break;
  }
  if (s.shiftLhs.has(e)) checkShiftOperand(s, e, t);
}

function checkShiftOperand(s: CheckState, e: Expr, t: SType): void {
  if (t.k !== 'go') return; // not final yet
  s.shiftLhs.delete(e);
  const k = constKind(s.dwarf, t);
  if (t.k === 'go' && !(k !== undefined && isIntKind(k)))
    s.error(e, `invalid operation: shifted operand ${exprText(e)} (type ${stypeName(t)}) must be integer`);
}

/** Whether a concrete or interface type implements interface T (empty interfaces, identical ones, or an itab in the binary). */
export function implementsIface(s: CheckState, v: DwarfType, t: DwarfType): boolean {
  if (!isNonEmptyInterface(s, t) || identical(s.dwarf, v, t)) return true;
  if (kindOf(s.dwarf, v) === 'interface') return false;
  return itabAddress(s, v, t) !== undefined;
}

/**
 * The link-time address of the itab pairing concrete type v with interface t. DWARF lists no
 * methods; the linker keeps an itab for each pair the program converts, so its presence says
 * v implements t (an absent one means the program never makes such a value).
 */
export function itabAddress(s: CheckState, v: DwarfType, t: DwarfType): LinkAddress | undefined {
  const elf = s.bin.elf;
  for (const prefix of ['go:itab.', 'go.itab.']) {
    const sym = elf.symbol(`${prefix}${typeName(v)},${typeName(t)}`);
    if (sym) return sym.value;
  }
  return undefined;
}

/** Whether operand x is assignable to type t (go/types' assignableTo). */
export function assignable(s: CheckState, x: Operand, t: SType): boolean {
  if (x.type.k === 'error' || x.type.k === 'dynamic' || t.k === 'error' || t.k === 'dynamic') return true;
  if (isUntyped(x.type)) {
    if (t.k === 'untyped') return x.type.base === t.base || maxBase(x.type.base, t.base) !== undefined;
    return typeof implicitType(s, x, t) !== 'string';
  }
  if (x.type.k !== 'go' || t.k !== 'go') return false;
  const d = s.dwarf;
  const [v, u] = [x.type.t, t.t];
  if (identical(d, v, u)) return true;
  if (identicalUnder(d, v, u) && (!hasName(v) || !hasName(u))) return true;
  const [vk, uk] = [kindOf(d, v), kindOf(d, u)];
  if (uk === 'interface') return implementsIface(s, v, u);
  if (vk === 'interface') return false;
  return false;
}
