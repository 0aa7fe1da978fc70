/**
 * Evaluates a checked expression on one frame (or, for package variables only, on a
 * process): walks the syntax tree with the bindings the checker resolved, reading only the
 * memory each step needs, and decodes the result to JSON with decodeValue. Values that are
 * not available at the frame's PC give null and the reason; runtime errors (index out of
 * range, nil dereference, wrong dynamic type) give the error, never a crash.
 */
import type { Address } from '../../common/address.js';
import type { DwarfType } from '../../dwarf/types.js';
import { typeAtOffset } from '../values/built-types.js';
import type { ValueContext } from '../values/context.js';
import { decodeValue, type GoValue } from '../values/decode.js';
import { decodePartial } from '../values/partial.js';
import { floatJson, goStringText } from '../values/scalars.js';
import { type Expr, exprText } from './ast.js';
import type { Binding, CompiledExpression, ConstInfo } from './check.js';
import { roundRat } from './constants.js';
import { dereference, indexValue, lengthOf, selectField, typeAssert } from './eval-access.js';
import { convert, realImag } from './eval-convert.js';
import { arithmetic, compare, shiftOp, truth, unaryOp, valTypeName } from './eval-ops.js';
import { sliceValue } from './eval-slice.js';
import { type FrameContext, inRanges, readVariable } from './frame-context.js';
import { RedactedRead } from './redaction.js';
import { constScalar, constToGo, encodeNumber } from './scalar.js';
import { ScratchMemory } from './scratch.js';
import { basicType, pointerTo } from './synthetic-types.js';
import { ExprEvalError, type GoVal, load, lvalue, rvalue, type Val } from './values.js';

/** The outcome of evaluating an expression on a frame. */
export type ExprResult =
  | { readonly ok: true; readonly value: GoValue; readonly type: string }
  | {
      readonly ok: false;
      readonly value: null;
      readonly error: string;
      /** The value is not available at this PC (optimized out, in an outer frame's register, out of scope). */
      readonly unavailable: boolean;
    };

/** A condition that could not be decided, and why. */
export interface ConditionFailure {
  readonly error: string;
  readonly unavailable: boolean;
}

/** Where an evaluation reads from: the process, and the frame when there is one. */
type Env = {
  readonly ctx: ValueContext;
  readonly frame: FrameContext | undefined;
  readonly plan: CompiledExpression;
};

/** Evaluates a compiled expression on a frame; package-variable-only expressions accept a bare ValueContext. */
export function evaluate(plan: CompiledExpression, frame: FrameContext | ValueContext): ExprResult {
  const env = envOf(plan, frame);
  try {
    const v = evalNode(env, plan.ast);
    return { ok: true, value: toJson(env.ctx, v), type: valTypeName(v) };
  } catch (e) {
    if (e instanceof RedactedRead) return { ok: true, value: e.mark(), type: plan.resultType };
    return { ok: false, value: null, ...failure(e) };
  }
}

/** The Go value an expression evaluates to, unrendered, for callers that read on from it themselves. */
export type RefResult =
  | {
      readonly ok: true;
      readonly type: DwarfType;
      /** Where it is in memory (undefined for a value held in registers); read it through `ctx`. */
      readonly address: Address | undefined;
      readonly bytes: Uint8Array;
      /** The evaluation's context: its memory also holds the values the expression computed. */
      readonly ctx: ValueContext;
    }
  | { readonly ok: false; readonly error: string; readonly unavailable: boolean };

/** Evaluates a compiled expression to its typed value, without decoding it to JSON. */
export function evaluateRef(plan: CompiledExpression, frame: FrameContext | ValueContext): RefResult {
  const env = envOf(plan, frame);
  try {
    const v = evalNode(env, plan.ast);
    if (v.k !== 'go') return { ok: false, error: `an untyped ${v.k}, not a Go value`, unavailable: false };
    return { ok: true, type: v.t, address: v.address, bytes: load(env.ctx, v), ctx: env.ctx };
  } catch (e) {
    return { ok: false, ...failure(e) };
  }
}

/** Evaluates a compiled bool expression as a probe condition. */
export function evaluateCondition(
  plan: CompiledExpression,
  frame: FrameContext | ValueContext,
): boolean | ConditionFailure {
  const env = envOf(plan, frame);
  try {
    return truth(env.ctx, evalNode(env, plan.ast));
  } catch (e) {
    return failure(e);
  }
}

/** The evaluation's context: the process, with scratch memory for the values it computes. */
function envOf(plan: CompiledExpression, frame: FrameContext | ValueContext): Env {
  const base = 'ctx' in frame ? frame.ctx : frame;
  const ctx: ValueContext = { ...base, memory: new ScratchMemory(base.memory) };
  return 'ctx' in frame ? { ctx, frame, plan } : { ctx, frame: undefined, plan };
}

function failure(e: unknown): ConditionFailure {
  if (e instanceof ExprEvalError) return { error: e.message, unavailable: e.unavailable };
  if (e instanceof RangeError) return { error: `malformed target memory: ${e.message}`, unavailable: false };
  if (e instanceof Error) return { error: e.message, unavailable: false };
  return { error: String(e), unavailable: false };
}

/** The JSON form of a value. */
function toJson(ctx: ValueContext, v: Val): GoValue {
  switch (v.k) {
    case 'go':
      return v.missing
        ? decodePartial(ctx, v.t, v.bytes ?? new Uint8Array(0), v.missing)
        : decodeValue(ctx, v.t, load(ctx, v), v.address);
    case 'const': {
      if (v.c.k === 'num' && (v.base === 'float' || v.base === 'complex')) {
        const [re, im] = [roundRat(v.c.re, 53), roundRat(v.c.im, 53)];
        return v.base === 'float' ? floatJson(re) : { real: floatJson(re), imag: floatJson(im) };
      }
      const s = constScalar(v.c);
      if (s.c === 'int')
        return s.v >= BigInt(Number.MIN_SAFE_INTEGER) && s.v <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(s.v)
          : s.v.toString();
      if (s.c === 'float') return floatJson(s.v);
      if (s.c === 'complex') return { real: floatJson(s.re), imag: floatJson(s.im) };
      if (s.c === 'string') return goStringText(s.v);
      return s.c === 'bool' ? s.v : null;
    }
    case 'bool':
      return v.v;
    case 'nil':
      return null;
  }
}

/** One step, and the redaction check of what it reached: a value of a secret type ends the evaluation. */
function evalNode(env: Env, e: Expr): Val {
  const v = evalStep(env, e);
  const name = v.k === 'go' ? v.t.name : undefined;
  const rule = name === undefined ? undefined : env.ctx.redact?.byType(name);
  if (rule !== undefined) throw new RedactedRead(rule, name);
  return v;
}

function evalStep(env: Env, e: Expr): Val {
  const { ctx } = env;
  const c = env.plan.consts.get(e);
  if (c) return constVal(env, c);
  switch (e.kind) {
    case 'paren':
      return evalNode(env, e.x);
    case 'ident':
    case 'pkgvar':
      return evalName(env, e);
    case 'selector': {
      const b = env.plan.bindings.get(e);
      if (b) return bound(env, b, e);
      return selectField(ctx, evalNode(env, e.x), e.name);
    }
    case 'index':
      return indexValue(ctx, evalNode(env, e.x), evalNode(env, e.index));
    case 'slice': {
      const opt = (x: Expr | undefined) => (x === undefined ? undefined : evalNode(env, x));
      return sliceValue(ctx, evalNode(env, e.x), opt(e.low), opt(e.high), opt(e.max));
    }
    case 'call':
      return evalCall(env, e);
    case 'assert': {
      const b = env.plan.bindings.get(e);
      if (b?.kind !== 'assert') throw new ExprEvalError('type assertion was not checked');
      return typeAssert(ctx, evalNode(env, e.x), b.type);
    }
    case 'unary': {
      if (e.op === '!') return { k: 'bool', v: !truth(ctx, evalNode(env, e.x)) };
      if (e.op === '*') return dereference(ctx, evalNode(env, e.x));
      if (e.op === '&') return addressOf(env, evalNode(env, e.x));
      return unaryOp(ctx, e.op, evalNode(env, e.x));
    }
    case 'binary': {
      const { op } = e;
      if (op === '&&' || op === '||') {
        const x = truth(ctx, evalNode(env, e.x));
        if (op === '&&' ? !x : x) return { k: 'bool', v: x };
        return { k: 'bool', v: truth(ctx, evalNode(env, e.y)) };
      }
      const x = evalNode(env, e.x);
      const y = evalNode(env, e.y);
      if (op === '<<' || op === '>>') return shiftOp(ctx, op, x, y);
      if (['==', '!=', '<', '<=', '>', '>='].includes(op)) return { k: 'bool', v: compare(ctx, op, x, y) };
      return arithmetic(ctx, op, x, y);
    }
  }
  throw new ExprEvalError(`${exprText(e)} was not resolved when the expression was checked`);
}

/** A constant with its final type: a typed Go value, or an untyped constant. */
function constVal(env: Env, c: ConstInfo): Val {
  if (c.type.k === 'go') return constToGo(env.ctx, c.type.t, c.val);
  if (c.val.k === 'bool') return { k: 'bool', v: c.val.v };
  return { k: 'const', c: c.val, base: c.type.k === 'untyped' ? c.type.base : 'int' };
}

function evalCall(env: Env, e: Expr & { kind: 'call' }): Val {
  const b = env.plan.bindings.get(e);
  const arg = evalNode(env, e.args[0]!);
  if (b?.kind === 'convert') return convert(env.ctx, arg, b.type, b.itab);
  if (b?.kind !== 'builtin') throw new ExprEvalError('call was not checked');
  if (b.name === 'real' || b.name === 'imag') return realImag(env.ctx, b.name, arg);
  return encodeNumber(env.ctx, basicType(env.ctx.dwarf, 'int'), BigInt(lengthOf(env.ctx, b.name, arg)));
}

function evalName(env: Env, e: Expr & { kind: 'ident' | 'pkgvar' }): Val {
  const b = env.plan.bindings.get(e);
  if (b) return bound(env, b, e);
  if (e.kind === 'ident' && e.name === 'nil') return { k: 'nil' };
  throw new ExprEvalError(`${e.name} was not resolved when the expression was checked`);
}

/** The value of a name the checker bound. */
function bound(env: Env, b: Binding, e: Expr): Val {
  if (b.kind === 'global') return lvalue(b.type, env.ctx.bias.toRuntime(b.global.address));
  if (b.kind !== 'local') throw new ExprEvalError(`unexpected binding for ${e.kind}`);
  const frame = env.frame;
  if (!frame)
    throw new ExprEvalError(`${b.name} is a local variable: it needs a frame of ${env.plan.functionName}`);
  const pc = env.ctx.bias.toLink(frame.pc);
  const inScope = b.vars.filter((v) => inRanges(v.scope, pc));
  if (inScope.length === 0) {
    const line = env.ctx.bin.lineForPC(pc)?.line;
    const decl = b.vars[0]?.declLine;
    throw new ExprEvalError(
      `${b.name} is not in scope at line ${line ?? '?'}${decl ? ` (declared at line ${decl})` : ''}`,
      true,
    );
  }
  // The innermost block wins (the smallest scope holding the PC).
  const span = (r: readonly { low: number; high: number }[]): number =>
    r.reduce((n, x) => n + x.high - x.low, 0);
  const v = inScope.reduce((best, x) => (span(x.scope) < span(best.scope) ? x : best));
  const varType = typeAtOffset(env.plan.dwarf, v.type!);
  const r = readVariable(v, varType.byteSize ?? 0, { ...frame, ctx: env.ctx });
  if (!r.ok) throw new ExprEvalError(`${b.name}: ${r.reason}`, true);
  const val: GoVal =
    r.address !== undefined
      ? { k: 'go', t: varType, address: r.address, bytes: r.bytes }
      : r.missing
        ? { k: 'go', t: varType, address: undefined, bytes: r.bytes, missing: r.missing }
        : rvalue(varType, r.bytes);
  return b.heap ? dereference(env.ctx, val) : val;
}

function addressOf(env: Env, v: Val): Val {
  if (v.k !== 'go' || v.address === undefined)
    throw new ExprEvalError(`cannot take the address of a ${valTypeName(v)} that is not in memory`);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v.address), true);
  return rvalue(pointerTo(env.ctx.dwarf, v.t), b);
}
