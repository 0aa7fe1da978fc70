/**
 * The per-node rules of the expression checker: what each operation accepts and what type
 * it yields. Types are Go types from DWARF, untyped constants, or 'dynamic' (a value reached
 * through an interface, whose type is only known when evaluated).
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { Variable } from '../../dwarf/functions.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { Expr } from './ast.js';
import { everLocated } from './frame-context.js';
import type { GlobalVar } from './globals.js';
import type { FunctionScope } from './scope.js';
import { isPackageName, lookupGlobal, resolveTypeExpr, sample } from './scope.js';
import {
  elemOf,
  isFloatKind,
  isIntKind,
  keyOf,
  kindOf,
  lookupField,
  POINTER_KINDS,
  typeName,
} from './types.js';

/** Untyped constant kinds (Go's), and the untyped bool of comparisons. */
export type UntypedBase = 'int' | 'float' | 'rune' | 'string' | 'bool' | 'nil';
/** A static type: a Go type, an untyped constant, a value known only at run time, or a failed check. */
export type SType =
  | { readonly k: 'go'; readonly t: DwarfType }
  | { readonly k: 'untyped'; readonly base: UntypedBase }
  | { readonly k: 'dynamic' }
  | { readonly k: 'error' };

/** What a name or type in the expression was resolved to. */
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
  | { readonly kind: 'assert'; readonly type: DwarfType };

/** The state the node checker works with. */
export interface CheckState {
  readonly dwarf: DwarfData;
  readonly scope: FunctionScope | undefined;
  readonly bindings: Map<Expr, Binding>;
  readonly errors: { column: number; message: string }[];
  error(node: { pos: number }, message: string): SType;
}

/** A static type's name for messages and plans. */
export function stypeName(t: SType): string {
  if (t.k === 'go') return typeName(t.t);
  if (t.k === 'untyped') return `untyped ${t.base}`;
  return t.k;
}

const DYN: SType = { k: 'dynamic' };
const ERR: SType = { k: 'error' };
const BOOL: SType = { k: 'untyped', base: 'bool' };
const loose = (t: SType): boolean => t.k === 'dynamic' || t.k === 'error';

/** The category of a static type for operators: 'int', 'float', 'string', 'bool', 'nil', 'nilable', 'other'. */
export function category(dwarf: DwarfData, t: SType): string {
  if (t.k === 'untyped') return t.base === 'rune' ? 'int' : t.base;
  if (t.k !== 'go') return t.k;
  const k = kindOf(dwarf, t.t);
  if (isIntKind(k)) return 'int';
  if (isFloatKind(k)) return 'float';
  if (k === 'string' || k === 'bool') return k;
  if (POINTER_KINDS.has(k) || k === 'slice' || k === 'interface') return 'nilable';
  return 'other';
}

/** Checks one node, records bindings, and returns its static type. */
export function checkNode(s: CheckState, e: Expr): SType {
  const d = s.dwarf;
  switch (e.kind) {
    case 'int':
      return { k: 'untyped', base: 'int' };
    case 'float':
      return { k: 'untyped', base: 'float' };
    case 'rune':
      return { k: 'untyped', base: 'rune' };
    case 'string':
      return { k: 'untyped', base: 'string' };
    case 'paren':
      return checkNode(s, e.x);
    case 'ident':
      return checkIdent(s, e);
    case 'pkgvar':
      return checkGlobal(s, e, e.path, e.name, true);
    case 'selector': {
      if (e.x.kind === 'ident' && resolveLocal(s, e.x) === undefined && isPackageName(d, e.x.name))
        return checkGlobal(s, e, e.x.name, e.name, false);
      const xt = checkNode(s, e.x);
      if (loose(xt)) return xt;
      if (xt.k !== 'go') return s.error(e, `${stypeName(xt)} has no field ${e.name}`);
      let t = xt.t;
      if (kindOf(d, t) === 'ptr') t = elemOf(d, t) ?? t;
      const k = kindOf(d, t);
      if (k === 'interface') return DYN;
      if (k !== 'struct')
        return s.error({ pos: e.namePos }, `${typeName(xt.t)} is not a struct: it has no field ${e.name}`);
      const f = lookupField(d, t, e.name);
      if (f.ok) return { k: 'go', t: f.steps[f.steps.length - 1]!.type };
      const why = f.reason === 'ambiguous' ? `ambiguous selector ${e.name} in` : `no field ${e.name} in`;
      return s.error({ pos: e.namePos }, `${why} ${typeName(t)}; its fields: ${sample(f.fields)}`);
    }
    case 'index':
      return checkIndex(s, e);
    case 'call':
      return checkCall(s, e);
    case 'assert': {
      const xt = checkNode(s, e.x);
      const r = resolveTypeExpr(d, e.type);
      if (!r.ok) return s.error(e.type, r.message);
      s.bindings.set(e, { kind: 'assert', type: r.type });
      if (xt.k === 'go' && kindOf(d, xt.t) !== 'interface')
        return s.error(e, `${typeName(xt.t)} is not an interface: cannot assert its type`);
      if (kindOf(d, r.type) === 'interface')
        return s.error(e.type, 'assertions to interface types are not supported');
      return xt.k === 'error' ? ERR : { k: 'go', t: r.type };
    }
    case 'unary':
      return checkUnary(s, e);
    case 'binary':
      return checkBinary(s, e);
  }
}

/** Resolves an identifier to a variable of the scope (or its escaped `&name` form); a string is an error. */
export function resolveLocal(s: CheckState, node: Expr & { kind: 'ident' }): Binding | undefined | string {
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
  let type = s.dwarf.typeAt(v.type);
  if (heapVars) {
    const inner = elemOf(s.dwarf, type);
    if (!inner) return `variable ${node.name} escaped to the heap but its pointer has no element type`;
    type = inner;
  }
  return { kind: 'local', name: node.name, vars, type, heap: heapVars !== undefined };
}

function checkIdent(s: CheckState, e: Expr & { kind: 'ident' }): SType {
  const b = resolveLocal(s, e);
  if (typeof b === 'string') return s.error(e, b);
  if (b) {
    s.bindings.set(e, b);
    return { k: 'go', t: b.type };
  }
  if (e.name === 'true' || e.name === 'false') return BOOL;
  if (e.name === 'nil') return { k: 'untyped', base: 'nil' };
  if (e.name === 'len' || e.name === 'cap')
    return s.error(e, `${e.name} is a builtin function: call it, ${e.name}(x)`);
  if (isPackageName(s.dwarf, e.name))
    return s.error(e, `use of package ${e.name} without a selector: write ${e.name}.Name`);
  const names = scopeNames(s);
  const where = s.scope ? `; its variables: ${sample(names)}` : '';
  return s.error(e, `unknown variable ${e.name}${where} (package variables are written pkg.Name)`);
}

function checkGlobal(s: CheckState, e: Expr, pkg: string, name: string, quoted: boolean): SType {
  const r = lookupGlobal(s.dwarf, pkg, name, quoted);
  if (!r.ok) return s.error(e, r.message);
  const type = s.dwarf.typeAt(r.global.type);
  s.bindings.set(e, { kind: 'global', global: r.global, type });
  return { k: 'go', t: type };
}

function checkIndex(s: CheckState, e: Expr & { kind: 'index' }): SType {
  const d = s.dwarf;
  const xt = checkNode(s, e.x);
  const it = checkNode(s, e.index);
  if (loose(xt)) return xt;
  if (xt.k === 'untyped' && xt.base === 'string') return requireInt(s, e.index, it, DYN);
  if (xt.k !== 'go') return s.error(e, `cannot index ${stypeName(xt)}`);
  let t = xt.t;
  let k = kindOf(d, t);
  if (k === 'ptr') {
    const p = elemOf(d, t);
    if (p && kindOf(d, p) === 'array') [t, k] = [p, 'array'];
  }
  if (k === 'map') {
    const key = keyOf(d, t);
    const elem = elemOf(d, t);
    if (!key || !elem) return s.error(e, `map type ${typeName(t)} has no key or element type in DWARF`);
    const want = category(d, { k: 'go', t: key });
    const got = category(d, it);
    if (!['string', 'int', 'bool'].includes(want))
      return s.error(
        e.index,
        `map key type ${typeName(key)} is not supported (string, integer and bool keys are)`,
      );
    if (got !== want && !loose(it))
      return s.error(
        e.index,
        `map key type mismatch: ${typeName(t)} has ${typeName(key)} keys, not ${stypeName(it)}`,
      );
    return { k: 'go', t: elem };
  }
  if (k === 'array' || k === 'slice' || k === 'string') {
    const elem = k === 'string' ? d.findType('uint8') : elemOf(d, t);
    if (!elem) return s.error(e, `${typeName(t)} has no element type in DWARF`);
    const r = requireInt(s, e.index, it, { k: 'go', t: elem });
    if (e.index.kind === 'int' && k === 'array') {
      const n = d.underlying(t).count ?? 0;
      if (e.index.value >= BigInt(n))
        return s.error(e.index, `index ${e.index.value} out of range for ${typeName(t)} (length ${n})`);
    }
    return r;
  }
  return s.error(e, `cannot index ${typeName(xt.t)} (kind ${k}): only arrays, slices, strings and maps`);
}

function requireInt(s: CheckState, node: Expr, it: SType, result: SType): SType {
  if (category(s.dwarf, it) !== 'int' && !loose(it))
    return s.error(node, `index must be an integer, not ${stypeName(it)}`);
  if (node.kind === 'int' && node.value < 0n)
    return s.error(node, `index ${node.value} must not be negative`);
  return result;
}

const LEN_KINDS = new Set(['string', 'slice', 'array', 'map', 'chan']);
const CAP_KINDS = new Set(['slice', 'array', 'chan']);

function checkCall(s: CheckState, e: Expr & { kind: 'call' }): SType {
  const fn = e.fn;
  const builtin =
    fn.kind === 'ident' && (fn.name === 'len' || fn.name === 'cap') && resolveLocal(s, fn) === undefined;
  if (!builtin)
    return s.error(e, 'only the builtins len(x) and cap(x) can be called; functions and methods cannot');
  const name = (fn as { name: string }).name;
  if (e.args.length !== 1) return s.error(e, `${name} takes exactly one argument, got ${e.args.length}`);
  const xt = checkNode(s, e.args[0]!);
  const int = s.dwarf.findType('int');
  const result: SType = int ? { k: 'go', t: int } : { k: 'untyped', base: 'int' };
  if (xt.k === 'error') return ERR;
  if (xt.k === 'dynamic') return result;
  if (xt.k === 'untyped') {
    if (xt.base === 'string' && name === 'len') return result;
    return s.error(e.args[0]!, `invalid argument ${stypeName(xt)} for ${name}`);
  }
  let k = kindOf(s.dwarf, xt.t);
  if (k === 'ptr' && kindOf(s.dwarf, elemOf(s.dwarf, xt.t) ?? xt.t) === 'array') k = 'array';
  const ok = name === 'len' ? LEN_KINDS : CAP_KINDS;
  if (!ok.has(k)) return s.error(e.args[0]!, `invalid argument: ${typeName(xt.t)} (kind ${k}) for ${name}`);
  return result;
}

function checkUnary(s: CheckState, e: Expr & { kind: 'unary' }): SType {
  const d = s.dwarf;
  const xt = checkNode(s, e.x);
  if (loose(xt)) return xt;
  const cat = category(d, xt);
  switch (e.op) {
    case '-':
    case '+':
      if (cat !== 'int' && cat !== 'float')
        return s.error(e, `operator ${e.op} needs a number, not ${stypeName(xt)}`);
      return xt.k === 'untyped' && xt.base === 'rune' ? { k: 'untyped', base: 'int' } : xt;
    case '!':
      if (cat !== 'bool') return s.error(e, `operator ! needs a bool, not ${stypeName(xt)}`);
      return xt;
    case '*': {
      if (xt.k !== 'go' || kindOf(d, xt.t) !== 'ptr')
        return s.error(e, `cannot dereference ${stypeName(xt)}: not a pointer`);
      const el = elemOf(d, xt.t);
      return el ? { k: 'go', t: el } : s.error(e, `pointer type ${typeName(xt.t)} has no element type`);
    }
    case '&': {
      if (xt.k !== 'go' || !addressable(e.x))
        return s.error(e, `cannot take the address of ${stypeName(xt)}`);
      const pt = d.findType(`*${typeName(xt.t)}`);
      return pt ? { k: 'go', t: pt } : s.error(e, `type *${typeName(xt.t)} is not in the binary`);
    }
  }
}

function addressable(e: Expr): boolean {
  if (e.kind === 'paren') return addressable(e.x);
  return ['ident', 'pkgvar', 'selector', 'index'].includes(e.kind) || (e.kind === 'unary' && e.op === '*');
}

function checkBinary(s: CheckState, e: Expr & { kind: 'binary' }): SType {
  const d = s.dwarf;
  const xt = checkNode(s, e.x);
  const yt = checkNode(s, e.y);
  if (xt.k === 'error' || yt.k === 'error') return ERR;
  const [cx, cy] = [category(d, xt), category(d, yt)];
  const dyn = xt.k === 'dynamic' || yt.k === 'dynamic';
  const op = e.op;
  if (op === '&&' || op === '||') {
    for (const [n, c, t] of [[e.x, cx, xt] as const, [e.y, cy, yt] as const])
      if (c !== 'bool' && c !== 'dynamic')
        return s.error(n, `operator ${op} needs bools, not ${stypeName(t)}`);
    return BOOL;
  }
  const numeric = (c: string): boolean => c === 'int' || c === 'float';
  if (['==', '!=', '<', '<=', '>', '>='].includes(op)) {
    if (dyn) return BOOL;
    const ordered = op !== '==' && op !== '!=';
    const same = (numeric(cx) && numeric(cy)) || (cx === cy && (cx === 'string' || cx === 'bool'));
    const nilCmp = (cx === 'nil' && cy === 'nilable') || (cy === 'nil' && cx === 'nilable');
    const ptrCmp = cx === 'nilable' && cy === 'nilable' && xt.k === 'go' && yt.k === 'go';
    if (!same && !nilCmp && !ptrCmp)
      return s.error(e, `cannot compare ${stypeName(xt)} ${op} ${stypeName(yt)}`);
    if (ordered && !(numeric(cx) || cx === 'string'))
      return s.error(e, `operator ${op} is not defined on ${stypeName(xt)}`);
    return BOOL;
  }
  if (dyn) return DYN;
  const okCat =
    op === '+'
      ? (c: string) => numeric(c) || c === 'string'
      : op === '%'
        ? (c: string) => c === 'int'
        : numeric;
  if (!okCat(cx) || !okCat(cy) || (cx === 'string') !== (cy === 'string'))
    return s.error(e, `operator ${op} is not defined on ${stypeName(xt)} and ${stypeName(yt)}`);
  if (
    (op === '/' || op === '%') &&
    (e.y.kind === 'int' ? e.y.value === 0n : e.y.kind === 'float' && e.y.value === 0)
  )
    return s.error(e.y, 'division by zero');
  if (xt.k === 'go') return xt;
  if (yt.k === 'go') return yt;
  return cx === 'float' || cy === 'float' ? { k: 'untyped', base: 'float' } : xt;
}

/** The names of the scope's variables (for "unknown variable" messages). */
export function scopeNames(s: CheckState): string[] {
  if (!s.scope) return [];
  return [...s.scope.variables.keys()]
    .filter((n) => !n.startsWith('~') && !n.startsWith('.'))
    .map((n) => (n.startsWith('&') ? n.slice(1) : n));
}
