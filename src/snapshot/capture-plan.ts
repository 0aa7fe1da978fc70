/**
 * Preparing a snapshot, outside any pause: the binary's goroutine capture plan and the
 * spec's expressions compiled against this binary. A spec serves many programs, so a
 * function this binary lacks is noted, not an error; an expression that does not type-check
 * against a function the binary has costs only that expression: it is recorded as a
 * CaptureError (function, column, expression, where in the spec, why) and everything else is
 * captured.
 */
import type { LoadBias } from '../common/address.js';
import { describeError } from '../common/errors.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import { type CompiledExpression, checkExpression, functionScope } from '../goruntime/expr/index.js';
import {
  frameHostRanges,
  type GoroutineCapturePlan,
  type HostRanges,
  planGoroutineCapture,
  stackSymbolsFor,
} from '../goruntime/goroutines/index.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import type { CaptureSpec, FunctionSpec, Spec, ValueLimits } from '../spec/spec-types.js';
import type { CaptureError } from './snapshot-types.js';

/** One spec'd function compiled for one binary. */
export interface FunctionPlan {
  readonly spec: FunctionSpec;
  /** The function name with generic type arguments erased, as frames are matched. */
  readonly matchName: string;
  readonly captures: readonly {
    readonly column: string;
    readonly expr: string;
    readonly plan: CompiledExpression;
  }[];
}

/** Everything a capture of one process needs, computed before pausing it. */
export interface CapturePlan {
  readonly bin: GoBinary;
  /** The executable's load bias in the process. */
  readonly bias: LoadBias;
  readonly goroutines: GoroutineCapturePlan;
  /** Spec'd functions present in the binary, by match name. */
  readonly functions: ReadonlyMap<string, FunctionPlan>;
  readonly functionsAbsent: readonly string[];
  /** Spec entries that do not fit this binary: not captured, everything else is. */
  readonly captureErrors: readonly CaptureError[];
  readonly limits: ValueLimits;
  /** Where frames of the spec'd functions can be (the functions and those they are inlined into). */
  readonly frameHosts: HostRanges;
}

/** `main.Map[go.shape.int].Get` and `main.Map[...].Get` both become `main.Map[].Get`. */
export function matchName(fn: string): string {
  let out = '';
  let depth = 0;
  for (const ch of fn) {
    if (ch === '[') {
      if (depth === 0) out += '[';
      depth++;
    } else if (ch === ']') {
      depth--;
      if (depth === 0) out += ']';
    } else if (depth === 0) out += ch;
  }
  return out;
}

function hasFunction(bin: GoBinary, name: string): boolean {
  if (bin.symtab.pcln.funcByName(name)) return true;
  const dwarf = bin.dwarf;
  if (!dwarf) return false;
  // Also functions that exist only inlined into others.
  return functionScope(dwarf, name) !== undefined;
}

/** The spec's functions compiled against one binary. */
export interface CompiledFunctions {
  /** Spec'd functions present in the binary, by match name. */
  readonly functions: ReadonlyMap<string, FunctionPlan>;
  readonly absent: readonly string[];
  readonly errors: readonly CaptureError[];
}

/** The problem of one expression as a CaptureError, at its own column of the spec file when known. */
function expressionError(f: FunctionSpec, c: CaptureSpec, column: number, message: string): CaptureError {
  // The checker's messages may repeat what the error already says: the column and the function.
  let why = message.startsWith(`column ${column}: `) ? message.slice(`column ${column}: `.length) : message;
  if (why.startsWith(`in ${f.function}: `)) why = why.slice(`in ${f.function}: `.length);
  const at = c.exprAt
    ? { line: c.exprAt.line, column: c.exprAt.column + column - 1 }
    : c.at
      ? { line: c.at.line, column: c.at.column }
      : undefined;
  const where = c.exprAt || column <= 1 ? '' : ` (column ${column} of the expression)`;
  return {
    function: f.function,
    table: f.table,
    column: c.column,
    expr: c.expr,
    ...(at ? { at } : {}),
    message: `${why}${where}`,
  };
}

/**
 * Compiles each function and capture of the spec against a binary. What does not fit is
 * returned as errors, one per problem, never thrown: one bad entry costs only itself.
 * A binary without DWARF cannot capture any value: that throws (`stripped`).
 */
export function compileFunctions(bin: GoBinary, spec: Spec): CompiledFunctions {
  const functions = new Map<string, FunctionPlan>();
  const absent: string[] = [];
  const errors: CaptureError[] = [];
  if (spec.functions.length > 0) bin.requireDwarf('capturing values of the spec');
  for (const f of spec.functions) {
    try {
      if (!hasFunction(bin, f.function)) {
        absent.push(f.function);
        continue;
      }
    } catch (e) {
      errors.push({
        function: f.function,
        table: f.table,
        ...(f.at ? { at: f.at } : {}),
        message: describeError(e),
      });
      continue;
    }
    const captures: FunctionPlan['captures'][number][] = [];
    for (const c of f.capture) {
      try {
        const r = checkExpression(bin, f.function, c.expr);
        if (r.ok) captures.push({ column: c.column, expr: c.expr, plan: r.plan });
        else for (const e of r.errors) errors.push(expressionError(f, c, e.column, e.message));
      } catch (e) {
        // A binary whose DWARF the checker cannot read for this expression: this entry only.
        errors.push(expressionError(f, c, 1, describeError(e)));
      }
    }
    functions.set(matchName(f.function), { spec: f, matchName: matchName(f.function), captures });
  }
  return { functions, absent, errors };
}

/** Compiles the spec against a binary: what fits is planned, what does not is in `captureErrors`. */
export function prepareCapture(bin: GoBinary, spec: EffectiveSpec, bias: LoadBias): CapturePlan {
  const { functions, absent, errors } = compileFunctions(bin, spec);
  warmUp(bin, functions.size > 0);
  const frameHosts = frameHostRanges(bin, new Set(functions.keys()), matchName);
  return {
    bin,
    bias,
    goroutines: planGoroutineCapture(bin, { bias }),
    functions,
    functionsAbsent: absent,
    captureErrors: errors,
    limits: spec.limits,
    frameHosts,
  };
}

/** Loads, outside the pause, what decoding inside it would otherwise load on first use. */
function warmUp(bin: GoBinary, values: boolean): void {
  stackSymbolsFor(bin);
  bin.waitReasons();
  bin.runtimeLayout();
  if (values) {
    bin.elf.symbol('runtime.types');
    bin.lines;
  }
}
