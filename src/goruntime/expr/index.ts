/**
 * The expression language of the spec, the entry of this room for the layers below: an
 * expression checked against a function's DWARF before any capture (`checkExpression`,
 * `functionScope`), then evaluated on one frame of a paused process (`evaluate`;
 * `evaluateRef` for the typed value itself, which a caller reads on from).
 */

export { updateType } from './assign.js';
export { type BinaryOp, type Expr, exprText } from './ast.js';
export { type CheckOptions, type CheckResult, type CompiledExpression, checkExpression } from './check.js';
export { type Binding, type CheckState, type ConstInfo, checkNode } from './check-ops.js';
export {
  type ConditionFailure,
  type ExprResult,
  evaluate,
  evaluateCondition,
  evaluateRef,
  type RefResult,
} from './eval.js';
export type { FrameContext } from './frame-context.js';
export { inlineChainAt } from './frame-context.js';
export { defaultType, goType, type Operand, type SType, stypeName } from './operand.js';
export { ExprSyntaxError, parseExpression } from './parser.js';
export { secretInExpression, secretInExpressionText } from './redaction.js';
export { type FunctionScope, functionScope } from './scope.js';
export {
  elemOf,
  INT_KINDS,
  isFloatKind,
  isIntKind,
  kindOf,
  lookupField,
  POINTER_KINDS,
  typeName,
} from './types.js';
