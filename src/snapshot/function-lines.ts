/**
 * A function's source lines with the variables live at each, from the binary alone: the
 * line table's statement rows inside the function's code (rows of inlined calls left out:
 * they belong to the callee's source), and at each statement the parameters and locals whose
 * lexical scope holds it and whose location (one expression, or a location-list entry) covers
 * it. What the Spec view shows to pick a capture from.
 */
import type { LinkAddress } from '../common/address.js';
import { PeriscopeError } from '../common/errors.js';
import type { FunctionInfo, InlinedCall, Variable } from '../dwarf/functions.js';
import type { PcRange } from '../dwarf/ranges.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import { nearestFunctions } from './nearest-functions.js';

/** A variable live at a line. */
export interface LineVariable {
  readonly name: string;
  /** Its Go type as DWARF names it (`*main.Order`, `[]string`). */
  readonly type: string;
  readonly parameter: boolean;
}

/** One source line of a function with statements on it. */
export interface FunctionLine {
  readonly line: number;
  /** Variables live at one of the line's statements at least, parameters first, by name. */
  readonly variables: readonly LineVariable[];
}

/** A function's lines and what is live at each (the answer to `describe-function`). */
export interface FunctionLines {
  readonly function: string;
  /** The source file of its lines, as the binary's line table names it. */
  readonly file: string;
  readonly declLine?: number;
  readonly lines: readonly FunctionLine[];
  /** Variables of the function never live at any statement (optimized away). */
  readonly unavailable: readonly string[];
}

/** Most lines described: a generated function may span thousands. */
const MAX_LINES = 2000;

function inRanges(ranges: readonly PcRange[], pc: number): boolean {
  return ranges.some((r) => pc >= r.low && pc < r.high);
}

/** Whether `v` has a location at `pc` (inside its scope). */
function liveAt(v: Variable, pc: number): boolean {
  if (!inRanges(v.scope, pc) || !v.location) return false;
  if (v.location.kind === 'expr') return v.location.expr.length > 0;
  return v.location.entries.some((e) => e.isDefault || (pc >= e.low && pc < e.high));
}

function inlinedRanges(calls: readonly InlinedCall[]): PcRange[] {
  return calls.flatMap((c) => c.ranges);
}

/** The statement rows of `fn`'s own code: [pc, file, line] in address order. */
function statements(bin: GoBinary, fn: FunctionInfo): { pc: number; file: string; line: number }[] {
  const inlined = inlinedRanges(fn.inlined);
  const out: { pc: number; file: string; line: number }[] = [];
  const ranges = fn.ranges.length > 0 ? fn.ranges : [{ low: fn.lowPc, high: fn.highPc }];
  for (const r of ranges) {
    const h = bin.lines.programFor(r.low);
    if (!h) continue;
    const table = bin.lines.table(h.offset);
    const seq = table.sequenceFor(r.low);
    if (!seq) continue;
    for (let i = table.rowIndexIn(seq, r.low); i < seq.endRow; i++) {
      const row = table.row(i);
      if (row.address >= r.high) break;
      if (row.address < r.low || !row.isStmt || row.endSequence || inRanges(inlined, row.address)) continue;
      out.push({ pc: row.address, file: row.file, line: row.line });
    }
  }
  return out;
}

/**
 * The lines of function `name` in `bin` and the variables live at each; a `not-found` error
 * names the nearest functions the binary has.
 */
export function describeFunction(bin: GoBinary, name: string): FunctionLines {
  const dwarf = bin.requireDwarf(`the variables of ${name}`);
  const fn = dwarf.findFunction(name);
  if (!fn) {
    const near = nearestFunctions(bin, name);
    throw new PeriscopeError(
      'not-found',
      `${bin.path} has no function ${name}${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
    );
  }
  const stmts = statements(bin, fn);
  const entry = bin.lines.lineForPC(fn.entryPc as LinkAddress);
  const file = entry?.file ?? stmts[0]?.file ?? '';
  const typeName = (v: Variable): string => {
    if (v.type === undefined) return '?';
    try {
      return dwarf.typeAt(v.type).name ?? '?';
    } catch {
      return '?';
    }
  };
  const shown = (v: Variable) => v.name !== '' && !v.name.startsWith('.') && !v.name.startsWith('~');
  const byLine = new Map<number, Map<string, LineVariable>>();
  const seen = new Set<string>();
  for (const s of stmts) {
    if (s.file !== file) continue;
    let vars = byLine.get(s.line);
    if (!vars) {
      if (byLine.size >= MAX_LINES) continue;
      vars = new Map();
      byLine.set(s.line, vars);
    }
    for (const v of fn.variables) {
      if (!shown(v) || vars.has(v.name) || !liveAt(v, s.pc)) continue;
      vars.set(v.name, { name: v.name, type: typeName(v), parameter: v.isParameter });
      seen.add(v.name);
    }
  }
  const order = (a: LineVariable, b: LineVariable) =>
    Number(b.parameter) - Number(a.parameter) || a.name.localeCompare(b.name);
  const lines = [...byLine.entries()]
    .sort(([a], [b]) => a - b)
    .map(([line, vars]) => ({ line, variables: [...vars.values()].sort(order) }));
  const unavailable = [
    ...new Set(fn.variables.filter((v) => shown(v) && !seen.has(v.name)).map((v) => v.name)),
  ].sort();
  return {
    function: fn.name,
    file,
    ...(fn.declLine !== undefined ? { declLine: fn.declLine } : {}),
    lines,
    unavailable,
  };
}
