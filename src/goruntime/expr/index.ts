/**
 * The expression language of the spec, the entry of this room for the layers below: an
 * expression checked against a function's DWARF before any capture (`checkExpression`,
 * `functionScope`), then evaluated on one frame of a paused process (`evaluate`;
 * `evaluateRef` for the typed value itself, which a caller reads on from).
 */
export { type CheckOptions, type CheckResult, type CompiledExpression, checkExpression } from './check.js';
export {
  type ConditionFailure,
  type ExprResult,
  evaluate,
  evaluateCondition,
  evaluateRef,
  type RefResult,
} from './eval.js';
export type { FrameContext } from './frame-context.js';
export { type FunctionScope, functionScope } from './scope.js';
