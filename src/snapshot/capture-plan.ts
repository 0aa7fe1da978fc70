/**
 * Preparing a snapshot, outside any pause: the binary's goroutine capture plan and the
 * spec's expressions compiled against this binary. A spec serves many programs, so a
 * function this binary lacks is noted, not an error; an expression that does not type-check
 * against a function the binary has is an error that names the function, the expression
 * and why.
 */
import type { LoadBias } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import { type CompiledExpression, checkExpression, functionScope } from '../goruntime/expr/index.js';
import {
  frameHostRanges,
  type GoroutineCapturePlan,
  type HostRanges,
  planGoroutineCapture,
  stackSymbolsFor,
} from '../goruntime/goroutines/index.js';
import type { FunctionSpec, Spec, ValueLimits } from '../spec/spec-types.js';

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

/** Compiles the spec against a binary; throws one error listing every expression that does not fit. */
export function prepareCapture(bin: GoBinary, spec: Spec, bias: LoadBias): CapturePlan {
  const functions = new Map<string, FunctionPlan>();
  const absent: string[] = [];
  const problems: string[] = [];
  if (spec.functions.length > 0) bin.requireDwarf('capturing values of the spec');
  for (const f of spec.functions) {
    if (!hasFunction(bin, f.function)) {
      absent.push(f.function);
      continue;
    }
    const captures: FunctionPlan['captures'][number][] = [];
    for (const c of f.capture) {
      const r = checkExpression(bin, f.function, c.expr);
      if (r.ok) captures.push({ column: c.column, expr: c.expr, plan: r.plan });
      else {
        const at = c.at ? `line ${c.at.line}: ` : '';
        for (const e of r.errors)
          problems.push(`${at}${f.function}: ${c.column} = ${c.expr}: column ${e.column}: ${e.message}`);
      }
    }
    functions.set(matchName(f.function), { spec: f, matchName: matchName(f.function), captures });
  }
  if (problems.length > 0) {
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join('; ')})` : '';
    throw new PeriscopeError(
      'bad-spec',
      `the spec does not fit ${bin.path} (${bin.goVersion ?? 'unknown Go'}): ${problems[0]}${more}`,
    );
  }
  warmUp(bin, functions.size > 0);
  const frameHosts = frameHostRanges(bin, new Set(functions.keys()), matchName);
  return {
    bin,
    bias,
    goroutines: planGoroutineCapture(bin, { bias }),
    functions,
    functionsAbsent: absent,
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
