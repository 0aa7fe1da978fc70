/**
 * The expression checker's state and its dispatch over syntax nodes: literals, names,
 * selectors, type assertions and unary operators here; binary operators, indexing and
 * slicing, calls and conversions in their own modules. It follows Go's type checker
 * (go/types): each node yields an operand, untyped constants are exact and take a type only
 * when an operation gives them one, and errors are worded as go/types words them.
 */
import type { LinkAddress } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { Variable } from '../../dwarf/functions.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { typeAtOffset } from '../values/built-types.js';
import { type Expr, typeExprText } from './ast.js';
import { checkBinary } from './check-binary.js';
import { checkCall } from './check-call.js';
import { checkIndex, checkSlice } from './check-index.js';
import { checkUnary } from './check-unary.js';
import { type Const, intConst, parseNumber, real } from './constants.js';
import { everLocated } from './frame-context.js';
import type { GlobalVar } from './globals.js';
import { DYN, describe, ERR, goType, type Operand, untyped } from './operand.js';
import type { FunctionScope } from './scope.js';
import { isPackageName, lookupGlobal, resolveTypeExpr, sample } from './scope.js';
import { elemOf, kindOf, lookupField, typeName } from './types.js';

/** What a name, conversion or assertion in the expression was resolved to. */
export type Binding =
  | {
      readonly kind: 'local';
      readonly name: string;
      readonly vars: readonly Variable[];
      readonly type: DwarfType;
      /** The variable escaped to the heap: DWARF has `&name`, a pointer to it. */
      readonly heap: boolean;
    }
  | { readonly kind: 'global'; readonly global: GlobalVar; readonly type: DwarfType }
  | { readonly kind: 'assert'; readonly type: DwarfType }
  /** A conversion `T(x)`; `itab` is the link-time address of the itab for a non-empty interface T. */
  | { readonly kind: 'convert'; readonly type: DwarfType; readonly itab?: LinkAddress }
  | { readonly kind: 'builtin'; readonly name: 'len' | 'cap' | 'real' | 'imag' };

/** A constant subexpression with the type it finally has (the evaluator uses it as is). */
export interface ConstInfo {
  readonly type: Operand['type'];
  readonly val: Const;
}

/** The state the node checker works with. */
export interface CheckState {
  readonly bin: GoBinary;
  /** The binary's DWARF, with the types Periscope builds (synthetic-types.ts). */
  readonly dwarf: DwarfData;
  readonly scope: FunctionScope | undefined;
  readonly bindings: Map<Expr, Binding>;
  readonly consts: Map<Expr, ConstInfo>;
  /** Untyped left operands of non-constant shifts: their final type must be an integer. */
  readonly shiftLhs: Set<Expr>;
  readonly errors: { column: number; message: string }[];
  /** Records an error at a node's column; returns the error type. */
  error(node: { pos: number }, message: string): Operand['type'];
}

/** An operand for a node that failed to check. */
export const invalid = (expr: Expr): Operand => ({ mode: 'value', type: ERR, expr });

/** Records a constant operand's value and type for its node. */
export function recordConst(s: CheckState, x: Operand): Operand {
  if (x.mode === 'constant' && x.val) s.consts.set(x.expr, { type: x.type, val: x.val });
  return x;
}

function constant(
  s: CheckState,
  e: Expr,
  base: 'int' | 'float' | 'rune' | 'complex' | 'string',
  val: Const,
): Operand {
  return recordConst(s, { mode: 'constant', type: untyped(base), val, expr: e });
}

/** Checks one node, records bindings and constants, and returns its operand. */
export function checkNode(s: CheckState, e: Expr): Operand {
  switch (e.kind) {
    case 'int':
      return constant(s, e, 'int', intConst(e.value));
    case 'rune':
      return constant(s, e, 'rune', intConst(BigInt(e.value)));
    case 'float':
    case 'imag': {
      const r = parseNumber(e.text);
      if (!r) {
        s.error(e, `constant ${e.text} is too large or malformed`);
        return invalid(e);
      }
      if (e.kind === 'float') return constant(s, e, 'float', real(r));
      return constant(s, e, 'complex', { k: 'num', re: { n: 0n, d: 1n }, im: r });
    }
    case 'string':
      return constant(s, e, 'string', { k: 'string', v: e.bytes });
    case 'paren': {
      const x = checkNode(s, e.x);
      return recordConst(s, { ...x, expr: e });
    }
    case 'ident':
      return checkIdent(s, e);
    case 'pkgvar':
      return checkGlobal(s, e, e.path, e.name, true);
    case 'selector':
      return checkSelector(s, e);
    case 'index':
      return checkIndex(s, e);
    case 'slice':
      return checkSlice(s, e);
    case 'call':
      return checkCall(s, e);
    case 'type':
      s.error(e, `${typeExprText(e.type)} (type) is not an expression`);
      return invalid(e);
    case 'assert':
      return checkAssert(s, e);
    case 'unary':
      return checkUnary(s, e);
    case 'binary':
      return checkBinary(s, e);
  }
}

/** Resolves an identifier to a variable of the scope (or its escaped `&name` form); a string is an error. */
export function resolveLocal(
  s: CheckState,
  node: Expr & { kind: 'ident' },
): (Binding & { kind: 'local' }) | undefined | string {
  const scope = s.scope;
  if (!scope) return undefined;
  const direct = scope.variables.get(node.name);
  const heapVars = direct ? undefined : scope.variables.get(`&${node.name}`);
  const vars = direct ?? heapVars;
  if (!vars || vars.length === 0) return undefined;
  const v = vars[0]!;
  if (v.type === undefined) return `variable ${node.name} has no type in DWARF`;
  if (!vars.some(everLocated))
    return `variable ${node.name} is optimized out everywhere in ${scope.functionName}`;
  let type = typeAtOffset(s.dwarf, v.type);
  if (heapVars) {
    const inner = elemOf(s.dwarf, type);
    if (!inner) return `variable ${node.name} escaped to the heap but its pointer has no element type`;
    type = inner;
  }
  return { kind: 'local', name: node.name, vars, type, heap: heapVars !== undefined };
}

function checkIdent(s: CheckState, e: Expr & { kind: 'ident' }): Operand {
  const b = resolveLocal(s, e);
  if (typeof b === 'string') {
    s.error(e, b);
    return invalid(e);
  }
  if (b) {
    s.bindings.set(e, b);
    return { mode: 'variable', type: goType(b.type), expr: e };
  }
  if (e.name === 'true' || e.name === 'false')
    return recordConst(s, {
      mode: 'constant',
      type: untyped('bool'),
      val: { k: 'bool', v: e.name === 'true' },
      expr: e,
    });
  if (e.name === 'nil') return { mode: 'value', type: untyped('nil'), expr: e };
  // As in Go code of the function's package: its package variables need no qualifier.
  const pkg = packageOf(s);
  if (pkg !== undefined && lookupGlobal(s.dwarf, pkg, e.name, true).ok)
    return checkGlobal(s, e, pkg, e.name, true);
  if (['len', 'cap', 'real', 'imag'].includes(e.name)) {
    s.error(e, `${e.name} (built-in) must be called`);
    return invalid(e);
  }
  if (isPackageName(s.dwarf, e.name)) {
    s.error(e, `use of package ${e.name} without a selector: write ${e.name}.Name`);
    return invalid(e);
  }
  const names = scopeNames(s);
  const where = s.scope ? `; its variables: ${sample(names)}` : '';
  s.error(e, `unknown variable ${e.name}${where} (package variables are written pkg.Name)`);
  return invalid(e);
}

function checkGlobal(s: CheckState, e: Expr, pkg: string, name: string, quoted: boolean): Operand {
  const r = lookupGlobal(s.dwarf, pkg, name, quoted);
  if (!r.ok) {
    s.error(e, r.message);
    return invalid(e);
  }
  const type = typeAtOffset(s.dwarf, r.global.type);
  s.bindings.set(e, { kind: 'global', global: r.global, type });
  return { mode: 'variable', type: goType(type), expr: e };
}

function checkSelector(s: CheckState, e: Expr & { kind: 'selector' }): Operand {
  const d = s.dwarf;
  if (e.x.kind === 'ident' && resolveLocal(s, e.x) === undefined && isPackageName(d, e.x.name))
    return checkGlobal(s, e, e.x.name, e.name, false);
  const x = checkNode(s, e.x);
  if (x.type.k === 'error') return invalid(e);
  if (x.type.k === 'dynamic') return { mode: 'variable', type: DYN, expr: e };
  if (x.type.k !== 'go') {
    s.error({ pos: e.namePos }, `${e.x.kind === 'ident' ? e.x.name : 'operand'} has no field ${e.name}`);
    return invalid(e);
  }
  let t = x.type.t;
  const viaPtr = kindOf(d, t) === 'ptr';
  if (viaPtr) t = elemOf(d, t) ?? t;
  const k = kindOf(d, t);
  // Periscope's extension: a field through an interface is the dynamic value's field.
  if (k === 'interface') return { mode: 'variable', type: DYN, expr: e };
  if (k !== 'struct') {
    s.error({ pos: e.namePos }, `${typeName(x.type.t)} is not a struct: it has no field ${e.name}`);
    return invalid(e);
  }
  const f = lookupField(d, t, e.name);
  if (f.ok) {
    const ft = f.steps[f.steps.length - 1]!.type;
    const mode = viaPtr || x.mode === 'variable' || f.steps.some((st) => st.deref) ? 'variable' : 'value';
    return { mode, type: goType(ft), expr: e };
  }
  const why = f.reason === 'ambiguous' ? `ambiguous selector ${e.name} in` : `no field ${e.name} in`;
  s.error({ pos: e.namePos }, `${why} ${typeName(t)}; its fields: ${sample(f.fields)}`);
  return invalid(e);
}

function checkAssert(s: CheckState, e: Expr & { kind: 'assert' }): Operand {
  const d = s.dwarf;
  const x = checkNode(s, e.x);
  const r = resolveTypeExpr(d, e.type, packageOf(s));
  if (!r.ok) {
    s.error(e.type, r.message);
    return invalid(e);
  }
  s.bindings.set(e, { kind: 'assert', type: r.type });
  if (x.type.k === 'error') return invalid(e);
  if (x.type.k !== 'dynamic' && (x.type.k !== 'go' || kindOf(d, x.type.t) !== 'interface')) {
    s.error(e.x, `invalid operation: ${describe(d, x)} is not an interface`);
    return invalid(e);
  }
  if (kindOf(d, r.type) === 'interface') {
    s.error(e.type, 'assertions to interface types are not supported');
    return invalid(e);
  }
  return { mode: 'commaok', type: goType(r.type), expr: e };
}

/** The package of the checked function (unqualified type names resolve there, as in Go). */
export function packageOf(s: CheckState): string | undefined {
  const fn = s.scope?.functionName;
  if (fn === undefined) return undefined;
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  return dot > 0 ? fn.slice(0, dot) : undefined;
}

/** The names of the scope's variables (for "unknown variable" messages). */
export function scopeNames(s: CheckState): string[] {
  if (!s.scope) return [];
  return [...s.scope.variables.keys()]
    .filter((n) => !n.startsWith('~') && !n.startsWith('.'))
    .map((n) => (n.startsWith('&') ? n.slice(1) : n));
}
