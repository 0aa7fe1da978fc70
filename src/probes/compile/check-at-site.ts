/**
 * Parsing and type-checking a probe's expression with the snapshot expression checker,
 * against the function's DWARF scope at the site's PC (an inlined copy's own variables at
 * its site). At RET sites Go's unnamed results (`~r0`, `~r1`, which no expression can spell)
 * are also named `r0`, `r1`, … unless a variable already has that name.
 */
import type { LinkAddress } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { Variable } from '../../dwarf/functions.js';
import type { DwarfType } from '../../dwarf/types.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import {
  type Binding,
  type CheckState,
  type ConstInfo,
  checkNode,
  defaultType,
  type Expr,
  ExprSyntaxError,
  type FunctionScope,
  functionScope,
  goType,
  parseExpression,
  type SType,
  stypeName,
  updateType,
} from '../../goruntime/expr/index.js';

/** A checked expression at one site. */
export type SiteCheck =
  | {
      readonly ok: true;
      readonly ast: Expr;
      readonly bindings: ReadonlyMap<Expr, Binding>;
      /** Constant subexpressions, folded by the checker with their final types. */
      readonly consts: ReadonlyMap<Expr, ConstInfo>;
      readonly type: SType;
      /** The whole expression is a constant. */
      readonly constant: boolean;
    }
  | { readonly ok: false; readonly message: string };

/** Checks `source` in the scope of `functionName` at link-time `pc`. */
export function checkAtSite(
  bin: GoBinary,
  dwarf: DwarfData,
  functionName: string,
  source: string,
  pc: LinkAddress,
  atReturn: boolean,
): SiteCheck {
  let ast: Expr;
  try {
    ast = parseExpression(source);
  } catch (e) {
    if (e instanceof ExprSyntaxError) return { ok: false, message: `column ${e.column}: ${e.message}` };
    throw e;
  }
  const base = functionScope(dwarf, functionName, pc);
  if (!base)
    return { ok: false, message: `function ${functionName} has no DWARF description in this binary` };
  const scope = atReturn ? withResultNames(base) : base;
  const errors: { column: number; message: string }[] = [];
  const state: CheckState = {
    bin,
    dwarf,
    scope,
    bindings: new Map(),
    consts: new Map(),
    shiftLhs: new Set(),
    errors,
    error(node, message) {
      errors.push({ column: node.pos, message });
      return { k: 'error' };
    },
  };
  const x = checkNode(state, ast);
  // As checkExpression does: an untyped value that is not a constant takes its default type.
  if (x.type.k === 'untyped' && x.mode !== 'constant' && x.type.base !== 'nil')
    updateType(state, ast, goType(defaultType(dwarf, x.type.base)));
  if (errors.length > 0)
    return { ok: false, message: errors.map((e) => `column ${e.column}: ${e.message}`).join('; ') };
  const type =
    x.type.k === 'untyped' && x.mode !== 'constant' && x.type.base !== 'nil'
      ? goType(defaultType(dwarf, x.type.base))
      : x.type;
  return {
    ok: true,
    ast,
    bindings: state.bindings,
    consts: state.consts,
    type,
    constant: x.mode === 'constant',
  };
}

/**
 * The scope at a RET: results are located (Go leaves them without a location; the register
 * ABI puts them, see site-frame.ts), and each unnamed result `~rN` is also `rN`.
 */
function withResultNames(scope: FunctionScope): FunctionScope {
  const vars = new Map<string, readonly Variable[]>();
  for (const [name, vs] of scope.variables)
    vars.set(
      name,
      vs.map((v) => (v.isReturn ? { ...v, location: ABI_LOCATED } : v)),
    );
  for (const [name, vs] of [...vars]) {
    const m = /^~r(\d+)$/.exec(name);
    if (m && !vars.has(`r${m[1]}`)) vars.set(`r${m[1]}`, vs);
  }
  return { ...scope, variables: vars };
}

/** A stand-in location for results at a RET (never read: the ABI assignment is used there). */
const ABI_LOCATED = { kind: 'expr', expr: Uint8Array.of(0x9c) } as const;

/** The DWARF type a capture's static type is recorded as, or why it cannot be captured. */
export function captureType(dwarf: DwarfData, t: SType): DwarfType | string {
  if (t.k === 'go') return t.t;
  if (t.k === 'dynamic')
    return 'its type is only known at run time (through an interface): assert the dynamic type first, e.g. x.(*pkg.T).Field';
  if (t.k === 'untyped' && t.base === 'bool') return dwarf.findType('bool') ?? 'the binary has no bool type';
  return `it is a constant (${stypeName(t)}): nothing to capture`;
}
