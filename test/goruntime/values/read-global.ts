/**
 * Reads a package-level variable of a fixture the way users' specs do: the expression
 * checker resolves the name against the binary's DWARF, the evaluator reads and decodes it.
 * The values tests go through this path, so their oracles check the code that runs.
 */
import assert from 'node:assert/strict';
import type { Address } from '../../../src/common/address.js';
import type { DwarfType } from '../../../src/dwarf/types.js';
import { checkExpression, type ExprResult, evaluate } from '../../../src/goruntime/expr/index.js';
import type { ValueContext } from '../../../src/goruntime/values/context.js';
import type { GoValue } from '../../../src/goruntime/values/decode.js';

/** Checks and evaluates an expression over package variables (e.g. "main.vTime"). */
export function evaluateGlobal(ctx: ValueContext, source: string): ExprResult {
  const c = checkExpression(ctx.bin, undefined, source);
  assert.ok(c.ok, `${source}: ${c.ok ? '' : c.errors.map((e) => e.message).join('; ')}`);
  return evaluate(c.plan, ctx);
}

/** The decoded value of `main.<name>`; fails the test when the evaluation fails. */
export function globalValue(ctx: ValueContext, name: string): GoValue {
  const r = evaluateGlobal(ctx, `main.${name}`);
  assert.ok(r.ok, `main.${name}: ${r.ok ? '' : r.error}`);
  return r.value;
}

/** Where `main.<name>` lives and its type, as the checker resolved it (for the map walk tests). */
export function globalPlace(ctx: ValueContext, name: string): { address: Address; type: DwarfType } {
  const c = checkExpression(ctx.bin, undefined, `main.${name}`);
  assert.ok(c.ok, name);
  const b = [...c.plan.bindings.values()][0];
  assert.ok(b?.kind === 'global', `main.${name} is bound to a package variable`);
  return { address: ctx.bias.toRuntime(b.global.address), type: b.type };
}
