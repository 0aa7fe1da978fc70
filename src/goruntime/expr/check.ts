/**
 * Type-checks an expression against one binary and function before anything is captured:
 * resolves every name (parameters, locals, package variables, asserted types) and checks
 * every operation against the DWARF types, so a spec that no longer fits the code says so.
 */
import type { LinkAddress } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import { updateType } from './assign.js';
import { type Expr, exprText } from './ast.js';
import { type Binding, type CheckState, type ConstInfo, checkNode } from './check-ops.js';
import { defaultType, goType, type SType, stypeName } from './operand.js';
import { ExprSyntaxError, parseExpression } from './parser.js';
import { type FunctionScope, functionScope, similarFunctions } from './scope.js';

export type { Binding, ConstInfo } from './check-ops.js';
export type { SType } from './operand.js';

/** A checked expression, ready to evaluate on frames of its function (or anywhere, for globals only). */
export interface CompiledExpression {
  readonly source: string;
  readonly ast: Expr;
  readonly functionName: string | undefined;
  readonly scope: FunctionScope | undefined;
  readonly bindings: ReadonlyMap<Expr, Binding>;
  /** The constant subexpressions, with their exact values and final types (folded, never evaluated). */
  readonly consts: ReadonlyMap<Expr, ConstInfo>;
  /** The static type: a Go type name, 'untyped bool' etc., or 'dynamic' (through an interface). */
  readonly resultType: string;
  readonly staticType: SType;
  readonly dwarf: DwarfData;
}

/** A problem found while checking, at a 1-based column of the source. */
export type ExprProblem = CheckState['errors'][number];

/** Either a compiled expression or every problem found. */
export type CheckResult =
  | { readonly ok: true; readonly plan: CompiledExpression }
  | { readonly ok: false; readonly errors: readonly ExprProblem[] };

/** Options of checkExpression. */
export interface CheckOptions {
  /** A link-time PC in the function, to resolve an inlined function's variables at that site. */
  readonly pc?: LinkAddress;
}

/**
 * Parses and type-checks `source` for frames of `functionName` (undefined: package variables
 * only). Errors name the function, the variable and why.
 */
export function checkExpression(
  bin: GoBinary,
  functionName: string | undefined,
  source: string,
  opts: CheckOptions = {},
): CheckResult {
  let ast: Expr;
  try {
    ast = parseExpression(source);
  } catch (e) {
    if (e instanceof ExprSyntaxError)
      return { ok: false, errors: [{ column: e.column, message: e.message }] };
    throw e;
  }
  const dwarf = bin.requireDwarf('checking expressions');
  let scope: FunctionScope | undefined;
  if (functionName !== undefined) {
    scope = functionScope(dwarf, functionName, opts.pc);
    if (!scope) {
      const like = similarFunctions(dwarf, functionName);
      return {
        ok: false,
        errors: [
          {
            column: 1,
            message: `function ${functionName} is not in the binary${like.length > 0 ? `; similar: ${like.join(', ')}` : ''}`,
          },
        ],
      };
    }
  }
  const errors: ExprProblem[] = [];
  const state: CheckState = {
    bin,
    dwarf,
    scope,
    bindings: new Map(),
    consts: new Map(),
    shiftLhs: new Set(),
    errors,
    error(node, message) {
      errors.push({ column: node.pos, message: `${exprPrefix(functionName)}${message}` });
      return { k: 'error' };
    },
  };
  const x = checkNode(state, ast);
  // An untyped value that is not a constant (a comparison, `1 << n`) is evaluated in its default type.
  if (x.type.k === 'untyped' && x.mode !== 'constant' && x.type.base !== 'nil')
    updateType(state, ast, goType(defaultType(dwarf, x.type.base)));
  if (errors.length > 0) return { ok: false, errors };
  const t = x.type;
  return {
    ok: true,
    plan: {
      source,
      ast,
      functionName,
      scope,
      bindings: state.bindings,
      consts: state.consts,
      resultType: stypeName(t),
      staticType: t,
      dwarf,
    },
  };
}

function exprPrefix(fn: string | undefined): string {
  return fn === undefined ? '' : `in ${fn}: `;
}

export { exprText };
