/**
 * How a spec fits one binary, without capturing anything: the check an agent runs when the
 * server asks before a new spec becomes current, the user's functions a binary lacks with the
 * names nearest to each, and the one-line texts of both kinds of problem, shared by every
 * surface that shows one (the CLI's summary and refusal, the server's refusal).
 */
import type { GoBinary } from '../gobinary/go-binary.js';
import { isBuiltInEntry } from '../spec/default-spec.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import type { SpecPosition } from '../spec/spec-types.js';
import { compileFunctions } from './capture-plan.js';
import { nearestFunctions } from './nearest-functions.js';
import type { CaptureError } from './snapshot-types.js';

/** What checking a spec against one binary found. */
export interface SpecFit {
  /** Entries that would not be captured from this binary, one per problem. */
  readonly errors: readonly CaptureError[];
  /** Spec functions the binary does not have (not an error: a spec serves many programs). */
  readonly functionsAbsent: readonly string[];
  /** For each of the user's functions (not built-in ones) it does not have: its nearest names here. */
  readonly nearest: Readonly<Record<string, readonly string[]>>;
}

/** A function of the user's spec that a binary does not have. */
export interface AbsentFunction {
  readonly function: string;
  readonly at?: SpecPosition;
  /** The binary's functions with the nearest names (none: nothing close). */
  readonly nearest: readonly string[];
}

/** Most user functions per binary whose nearest names are looked up (each scans every function name). */
const MAX_SUGGESTED = 32;

/** The user's functions (built-in entries are expected to be missing) among `absent`, with nearest names. */
export function absentUserFunctions(
  bin: GoBinary,
  spec: EffectiveSpec,
  absent: readonly string[],
): AbsentFunction[] {
  const missing = new Set(absent);
  return spec.functions
    .filter((f) => missing.has(f.function) && !isBuiltInEntry(f))
    .map((f, i) => ({
      function: f.function,
      ...(f.at ? { at: f.at } : {}),
      nearest: i < MAX_SUGGESTED ? nearestFunctions(bin, f.function) : [],
    }));
}

/** Checks every function and expression of the spec against a binary (throws `stripped` without DWARF). */
export function checkSpecFit(bin: GoBinary, spec: EffectiveSpec): SpecFit {
  const { absent, errors } = compileFunctions(bin, spec);
  const nearest: Record<string, readonly string[]> = {};
  for (const a of absentUserFunctions(bin, spec, absent)) nearest[a.function] = a.nearest;
  return { errors, functionsAbsent: absent, nearest };
}

/** `FILE:LINE:COLUMN: function: column = expression: why`, naming the spec file the user gave. */
export function captureErrorText(e: CaptureError, source = 'spec'): string {
  const where = e.at ? `${source}:${e.at.line}:${e.at.column}` : source;
  const what = e.column !== undefined ? `${e.function}: ${e.column} = ${e.expr ?? ''}` : e.function;
  return `${where}: ${what}: ${e.message}`;
}

/** `main.hadnle is not in <where>; nearest: main.handle, …` (without the position). */
export function absentFunctionMessage(a: Omit<AbsentFunction, 'at'>, where: string): string {
  const near =
    a.nearest.length > 0
      ? `; nearest: ${a.nearest.join(', ')}`
      : '; no function here has a similar name (a typo in the package path?)';
  return `${a.function} is not in ${where}${near}`;
}
