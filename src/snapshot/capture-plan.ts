/**
 * Preparing a snapshot, outside any pause: the binary's goroutine capture plan and the
 * spec's expressions compiled against this binary. A spec serves many programs, so a
 * function this binary lacks is noted, not an error; an expression that does not type-check
 * against a function the binary has costs only that expression: it is recorded as a
 * CaptureError (function, column, expression, where in the spec, why) and everything else is
 * captured.
 *
 * A capture written `socket(EXPR)` reads the socket behind the connection EXPR evaluates to
 * (goruntime/values/socket.ts) instead of EXPR's value. A built-in function whose socket
 * capture's static type cannot hold a socket in this binary can never link here: it is left
 * out of the plan, so the pause spends nothing on it, and a link note says why.
 */
import type { LoadBias } from '../common/address.js';
import { describeError } from '../common/errors.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import {
  type CompiledExpression,
  checkExpression,
  functionScope,
  secretInExpression,
} from '../goruntime/expr/index.js';
import {
  frameHostRanges,
  type GoroutineCapturePlan,
  type HostRanges,
  planGoroutineCapture,
  stackSymbolsFor,
} from '../goruntime/goroutines/index.js';
import { type Redactor, socketReach } from '../goruntime/values/index.js';
import { isBuiltInEntry } from '../spec/default-spec.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import { redactionFor } from '../spec/redaction.js';
import type { CaptureSpec, FunctionSpec, LinkSpec, Spec, ValueLimits } from '../spec/spec-types.js';
import type { CaptureError, LinkNote } from './snapshot-types.js';

/** One capture of a function compiled for one binary. */
export interface CapturePlanEntry {
  readonly column: string;
  /** The expression as the spec writes it (`socket(c.rwc)` for a socket capture). */
  readonly expr: string;
  /** The compiled expression (for a socket capture: the connection inside `socket(…)`). */
  readonly plan: CompiledExpression;
  /** `socket(EXPR)`: the socket behind EXPR is captured, not EXPR's value. */
  readonly socket: boolean;
  /** The expression names a secret (redaction rule and type): it is not evaluated, its value is the mark. */
  readonly redacted?: { readonly rule: string; readonly type?: string };
}

/** One `functions:` entry compiled for one binary (a function may have several: one a table). */
export interface FunctionPlan {
  readonly spec: FunctionSpec;
  /** The function name with generic type arguments erased, as frames are matched. */
  readonly matchName: string;
  /** A built-in entry (its values are read after the user's, and only where it can link). */
  readonly builtIn: boolean;
  /** In evaluation order: for a built-in entry, its socket captures first (the rest is skipped when they find none). */
  readonly captures: readonly CapturePlanEntry[];
}

/** Everything a capture of one process needs, computed before pausing it. */
export interface CapturePlan {
  readonly bin: GoBinary;
  /** The executable's load bias in the process. */
  readonly bias: LoadBias;
  readonly goroutines: GoroutineCapturePlan;
  /** Spec'd functions present in the binary, by match name: every entry of that function, in spec order. */
  readonly functions: ReadonlyMap<string, readonly FunctionPlan[]>;
  readonly functionsAbsent: readonly string[];
  /** Spec entries that do not fit this binary: not captured, everything else is. */
  readonly captureErrors: readonly CaptureError[];
  readonly limits: ValueLimits;
  /** Where frames of the spec'd functions can be (the functions and those they are inlined into). */
  readonly frameHosts: HostRanges;
  /** The spec's links (to say which cannot resolve here). */
  readonly links: readonly LinkSpec[];
  /** Links that cannot resolve in this binary whatever it runs (built-in functions left out of the plan). */
  readonly linkNotes: readonly LinkNote[];
  /** The redaction rules values are decoded with; undefined when the spec turns redaction off for this process. */
  readonly redaction: Redactor | undefined;
}

/** `socket(EXPR)`: EXPR and where it starts in the text, or undefined for a plain expression. */
export function socketExpression(expr: string): { inner: string; offset: number } | undefined {
  const m = /^(\s*socket\(\s*)([\s\S]*?)\s*\)\s*$/.exec(expr);
  return m ? { inner: m[2]!, offset: m[1]!.length } : undefined;
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
  // Also functions that exist only inlined into others: a scan of the package's functions'
  // inline trees (most of a prepare of the built-in spec on a large binary), remembered.
  let known = inlinedOnly.get(bin);
  if (!known) {
    known = new Map();
    inlinedOnly.set(bin, known);
  }
  let found = known.get(name);
  if (found === undefined) {
    found = functionScope(dwarf, name) !== undefined;
    if (known.size < MAX_INLINED_ONLY) known.set(name, found);
  }
  return found;
}

/** Per binary: whether a function absent from the pclntab exists inlined (DWARF), by name. */
const inlinedOnly = new WeakMap<GoBinary, Map<string, boolean>>();
export const MAX_INLINED_ONLY = 4096;

/** The answers hasFunction learned about `bin` by scanning its inline trees, to store them. */
export function inlinedOnlyOf(bin: GoBinary): [string, boolean][] {
  return [...(inlinedOnly.get(bin) ?? [])];
}

/** Answers learned earlier for a binary with the same bytes (see inlinedOnlyOf). */
export function seedInlinedOnly(bin: GoBinary, answers: readonly (readonly [string, boolean])[]): void {
  const known = inlinedOnly.get(bin) ?? new Map<string, boolean>();
  for (const [name, found] of answers) if (known.size < MAX_INLINED_ONLY) known.set(name, found);
  inlinedOnly.set(bin, known);
}

/** The spec's functions compiled against one binary. */
export interface CompiledFunctions {
  /** Spec'd functions present in the binary, by match name: every entry of that function, in spec order. */
  readonly functions: ReadonlyMap<string, readonly FunctionPlan[]>;
  /** Spec'd functions the binary lacks, each once. */
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
 * Compiles each function entry and capture of the spec against a binary. What does not fit is
 * returned as errors, one per problem, never thrown: one bad entry costs only itself. Several
 * entries on one function (one per table) are all compiled: each table gets its rows from
 * that function's frames.
 * A binary without DWARF cannot capture any value: that throws (`stripped`). A capture whose
 * expression names a secret under the redaction of `programs` (spec/redaction.ts) is marked
 * `redacted`.
 */
export function compileFunctions(
  bin: GoBinary,
  spec: Spec,
  programs: readonly string[] = [],
): CompiledFunctions {
  const redaction = redactionFor(spec, programs);
  const functions = new Map<string, FunctionPlan[]>();
  const absent = new Set<string>();
  const errors: CaptureError[] = [];
  if (spec.functions.length > 0) bin.requireDwarf('capturing values of the spec');
  for (const f of spec.functions) {
    try {
      if (!hasFunction(bin, f.function)) {
        absent.add(f.function);
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
    const captures: CapturePlanEntry[] = [];
    for (const c of f.capture) {
      const sock = socketExpression(c.expr);
      try {
        const r = checkExpression(bin, f.function, sock ? sock.inner : c.expr);
        if (r.ok) {
          // A socket's description holds addresses only: never a secret, whatever its connection is named.
          const secret = sock || !redaction ? undefined : secretInExpression(r.plan, redaction);
          captures.push({
            column: c.column,
            expr: c.expr,
            plan: r.plan,
            socket: sock !== undefined,
            ...(secret ? { redacted: secret } : {}),
          });
        } else
          for (const e of r.errors)
            errors.push(expressionError(f, c, e.column + (sock?.offset ?? 0), e.message));
      } catch (e) {
        // A binary whose DWARF the checker cannot read for this expression: this entry only.
        errors.push(expressionError(f, c, 1, describeError(e)));
      }
    }
    const builtIn = isBuiltInEntry(f);
    if (builtIn) captures.sort((a, b) => Number(b.socket) - Number(a.socket));
    const name = matchName(f.function);
    const entries = functions.get(name) ?? [];
    entries.push({ spec: f, matchName: name, builtIn, captures });
    functions.set(name, entries);
  }
  return { functions, absent: [...absent], errors };
}

/**
 * The built-in functions whose socket captures cannot hold a socket in this binary (their
 * static type leads to none), each with the notes of the links it feeds: left out of the
 * pause, since nothing they read could link.
 */
function unlinkable(
  bin: GoBinary,
  functions: ReadonlyMap<string, readonly FunctionPlan[]>,
  links: readonly LinkSpec[],
): { dropped: Set<FunctionPlan>; notes: LinkNote[] } {
  const dropped = new Set<FunctionPlan>();
  const notes: LinkNote[] = [];
  const dwarf = bin.dwarf;
  if (!dwarf) return { dropped, notes };
  for (const fp of [...functions.values()].flat()) {
    if (!fp.builtIn) continue;
    const dead = fp.captures.find(
      (c) => c.socket && c.plan.staticType.k === 'go' && socketReach(dwarf, c.plan.staticType.t) === 'no',
    );
    if (!dead) continue;
    dropped.add(fp);
    const type = dead.plan.resultType;
    const why =
      dead.plan.staticType.k === 'go' &&
      (dead.plan.staticType.t.kind ?? dwarf.underlying(dead.plan.staticType.t).kind) === 'interface'
        ? 'no socket-backed connection (*net.TCPConn, *net.UnixConn, …) is ever stored in an interface in this binary'
        : `a ${type} holds no socket, nor a net.Conn or anything else that could lead to one`;
    for (const l of links)
      if (l.from.table === fp.spec.table || l.to.table === fp.spec.table)
        notes.push({
          link: l.name,
          table: fp.spec.table,
          column: dead.column,
          message: `not captured in this binary, it could not link: ${dead.expr}: ${why}`,
        });
  }
  return { dropped, notes };
}

/**
 * Compiles the spec against a binary: what fits is planned, what does not is in
 * `captureErrors`. `programs` are the spec's program rules the process matches (where
 * `redaction.off` may apply).
 */
export function prepareCapture(
  bin: GoBinary,
  spec: EffectiveSpec,
  bias: LoadBias,
  programs: readonly string[] = [],
): CapturePlan {
  const compiled = compileFunctions(bin, spec, programs);
  const { dropped, notes } = unlinkable(bin, compiled.functions, spec.links);
  const functions = new Map<string, readonly FunctionPlan[]>();
  for (const [name, entries] of compiled.functions) {
    const kept = entries.filter((fp) => !dropped.has(fp));
    if (kept.length > 0) functions.set(name, kept);
  }
  warmUp(bin, functions.size > 0);
  const frameHosts = frameHostRanges(bin, new Set(functions.keys()), matchName);
  return {
    bin,
    bias,
    goroutines: planGoroutineCapture(bin, { bias }),
    functions,
    functionsAbsent: compiled.absent,
    captureErrors: compiled.errors,
    limits: spec.limits,
    frameHosts,
    links: spec.links,
    linkNotes: notes,
    redaction: redactionFor(spec, programs),
  };
}

/** Loads, outside the pause, what decoding inside it would otherwise load on first use. */
function warmUp(bin: GoBinary, values: boolean): void {
  stackSymbolsFor(bin);
  bin.waitReasons();
  bin.runtimeLayout();
  if (values) bin.elf.symbol('runtime.types');
}
