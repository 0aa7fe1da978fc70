/**
 * What the checker knows of each subexpression, as Go's type checker models it: an operand
 * with a mode (variable, value, constant, ...), a static type (a DWARF type, an untyped
 * constant kind, or "dynamic" for a value reached through an interface) and, for constants,
 * the exact value. Also the operand descriptions of go/types' messages
 * (`x (variable of type int)`, `1.5 (untyped float constant)`).
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType } from '../../dwarf/types.js';
import { type Expr, exprText } from './ast.js';
import { type Const, constText } from './constants.js';
import { BASIC_KINDS, compositeKind, isDefined } from './gotypes.js';
import { basicType } from './synthetic-types.js';
import { kindOf, typeName } from './types.js';

/** Untyped kinds: Go's untyped constants, the untyped bool of comparisons, and nil. */
export type UntypedBase = 'bool' | 'int' | 'rune' | 'float' | 'complex' | 'string' | 'nil';
/** A static type: a Go type, an untyped kind, a value known only at run time, or a failed check. */
export type SType =
  | { readonly k: 'go'; readonly t: DwarfType }
  | { readonly k: 'untyped'; readonly base: UntypedBase }
  | { readonly k: 'dynamic' }
  | { readonly k: 'error' };

/** Modes of go/types' operands (the ones expressions here can have). */
export type Mode = 'variable' | 'value' | 'mapindex' | 'commaok' | 'constant' | 'novalue' | 'typexpr';

/** A checked subexpression. */
export interface Operand {
  mode: Mode;
  type: SType;
  /** The exact value, for constants. */
  val?: Const;
  readonly expr: Expr;
}

/** A Go type as a static type. */
export const goType = (t: DwarfType): SType => ({ k: 'go', t });
/** An untyped static type. */
export const untyped = (base: UntypedBase): SType => ({ k: 'untyped', base });
/** The static type of a failed check. */
export const ERR: SType = { k: 'error' };
/** The static type of a value reached through an interface. */
export const DYN: SType = { k: 'dynamic' };

/** A static type's name for messages and plans. */
export function stypeName(t: SType): string {
  if (t.k === 'go') return typeName(t.t);
  if (t.k === 'untyped') return `untyped ${t.base}`;
  return t.k;
}

/** Whether a static type is untyped. */
export const isUntyped = (t: SType): t is { k: 'untyped'; base: UntypedBase } => t.k === 'untyped';

const NUMERIC_ORDER: readonly UntypedBase[] = ['int', 'rune', 'float', 'complex'];

/** Whether an untyped kind is numeric. */
export const isNumericBase = (b: UntypedBase): boolean => NUMERIC_ORDER.includes(b);

/** The larger of two untyped numeric kinds (int < rune < float < complex), or the same kind. */
export function maxBase(a: UntypedBase, b: UntypedBase): UntypedBase | undefined {
  if (isNumericBase(a) && isNumericBase(b))
    return NUMERIC_ORDER.indexOf(a) >= NUMERIC_ORDER.indexOf(b) ? a : b;
  return a === b ? a : undefined;
}

/** The default type of an untyped kind: int, int32 (rune), float64, complex128, string, bool. */
export function defaultType(d: DwarfData, base: UntypedBase): DwarfType {
  const name = {
    int: 'int',
    rune: 'int32',
    float: 'float64',
    complex: 'complex128',
    string: 'string',
    bool: 'bool',
  }[base as Exclude<UntypedBase, 'nil'>];
  return basicType(d, name ?? 'int');
}

/** The kind name constants are represented in: a basic kind of a Go type, or 'untyped int' etc. */
export function constKind(d: DwarfData, t: SType): string | undefined {
  if (t.k === 'untyped') return `untyped ${t.base}`;
  if (t.k !== 'go') return undefined;
  const k = kindOf(d, t.t);
  return BASIC_KINDS.has(k) ? k : undefined;
}

const MODE_TEXT: Readonly<Record<Mode, string>> = {
  variable: 'variable',
  value: 'value',
  mapindex: 'map index expression',
  commaok: 'comma, ok expression',
  constant: 'constant',
  novalue: 'no value',
  typexpr: 'type',
};

/** An operand as go/types describes it: `x (variable of type int)`, `1.5 (untyped float constant)`. */
export function describe(d: DwarfData, x: Operand): string {
  const expr = exprText(x.expr);
  if (x.type.k === 'untyped' && x.type.base === 'nil') return 'nil';
  let s = `${expr} (`;
  const t = x.type;
  if (t.k === 'untyped') s += `untyped ${t.base} `;
  s += MODE_TEXT[x.mode];
  if (x.mode === 'constant' && x.val) {
    const k = t.k === 'untyped' ? t.base : t.k === 'go' ? kindOf(d, t.t) : '';
    const v = constText(
      x.val,
      ['float', 'complex', 'float32', 'float64', 'complex64', 'complex128'].includes(k),
    );
    if (v !== expr) s += ` ${v}`;
  }
  if (t.k === 'go' && x.mode !== 'typexpr') {
    let desc = '';
    if (isDefined(t.t)) desc = `${compositeKind(d, t.t) || kindOf(d, t.t)} `;
    s += ` of ${desc}type ${typeName(t.t)}`;
  } else if (t.k === 'dynamic') s += ' of a type known when evaluated';
  return `${s})`;
}
