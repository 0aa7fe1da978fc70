/**
 * Whether a compiled expression reads a secret by name: a variable, field or string map key
 * it names (`apiToken`, `cfg.Password`, `h["Authorization"]`), or a variable, conversion or
 * assertion of a secret type. Such a capture is replaced by a redaction mark without being
 * evaluated, so nothing derived from the secret (its length, a byte, a comparison) leaves
 * either. Values reached without being named (a struct's `Password` field inside `cfg`) are
 * redacted while they are decoded (values/redaction.ts).
 */
import type { GoValue } from '../values/decode.js';
import { type Redactor, redactedMark } from '../values/redaction.js';
import type { Expr } from './ast.js';
import type { CompiledExpression } from './check.js';
import { parseExpression } from './parser.js';
import { typeName } from './types.js';

/**
 * Thrown while evaluating when a step reaches a value a rule covers that the expression does
 * not name (a map entry under a key held in a variable, a value of a secret type converted to
 * another): the whole result is the mark.
 */
export class RedactedRead extends Error {
  constructor(
    readonly rule: string,
    readonly type: string | undefined,
  ) {
    super(`reads a redacted value (rule ${rule})`);
    this.name = 'RedactedRead';
  }

  /** The mark the result becomes. */
  mark(): GoValue {
    return redactedMark(this.rule, this.type);
  }
}

/** The rule an expression matches and the type it names, or undefined when it reads no secret by name. */
export function secretInExpression(
  plan: CompiledExpression,
  redactor: Redactor,
): { readonly rule: string; readonly type?: string } | undefined {
  for (const b of plan.bindings.values()) {
    if (b.kind === 'builtin') continue;
    const name = typeName(b.type);
    const rule = redactor.byType(name);
    if (rule !== undefined) return { rule, type: name };
  }
  const byResult = redactor.byType(plan.resultType);
  if (byResult !== undefined) return { rule: byResult, type: plan.resultType };
  const rule = namedSecret(plan.ast, redactor);
  return rule === undefined ? undefined : { rule, type: plan.resultType };
}

/**
 * The same for an expression known only by its text and result type (a probe's capture,
 * decoded from a record): its names and string literals, and its result type. A text that
 * does not parse names nothing.
 */
export function secretInExpressionText(
  source: string,
  resultType: string | undefined,
  redactor: Redactor,
): { readonly rule: string; readonly type?: string } | undefined {
  const byType = resultType === undefined ? undefined : redactor.byType(resultType);
  if (byType !== undefined) return { rule: byType, type: resultType };
  let ast: Expr;
  try {
    ast = parseExpression(source);
  } catch {
    return undefined;
  }
  const rule = namedSecret(ast, redactor);
  if (rule === undefined) return undefined;
  return resultType === undefined ? { rule } : { rule, type: resultType };
}

/** The rule of the first name or string literal in the tree that matches, if any. */
function namedSecret(e: Expr, r: Redactor): string | undefined {
  switch (e.kind) {
    case 'ident':
    case 'pkgvar':
      return r.byName(e.name);
    case 'string':
      return r.byName(new TextDecoder().decode(e.bytes));
    case 'selector':
      return r.byName(e.name) ?? namedSecret(e.x, r);
    case 'paren':
    case 'unary':
    case 'assert':
      return namedSecret(e.x, r);
    case 'index':
      return namedSecret(e.x, r) ?? namedSecret(e.index, r);
    case 'slice':
      for (const x of [e.x, e.low, e.high, e.max]) {
        const hit = x === undefined ? undefined : namedSecret(x, r);
        if (hit !== undefined) return hit;
      }
      return undefined;
    case 'call':
      for (const x of [e.fn, ...e.args]) {
        const hit = namedSecret(x, r);
        if (hit !== undefined) return hit;
      }
      return undefined;
    case 'binary':
      return namedSecret(e.x, r) ?? namedSecret(e.y, r);
    default:
      return undefined;
  }
}
