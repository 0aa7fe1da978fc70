/**
 * How a spec fits one binary, without capturing anything: the check an agent runs when the
 * server asks before a new spec becomes current, and the one-line text of a capture error,
 * shared by every surface that shows one (the CLI's summary, the server's refusal).
 */
import type { GoBinary } from '../gobinary/go-binary.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import { compileFunctions } from './capture-plan.js';
import type { CaptureError } from './snapshot-types.js';

/** What checking a spec against one binary found. */
export interface SpecFit {
  /** Entries that would not be captured from this binary, one per problem. */
  readonly errors: readonly CaptureError[];
  /** Spec functions the binary does not have (not an error: a spec serves many programs). */
  readonly functionsAbsent: readonly string[];
}

/** Checks every function and expression of the spec against a binary (throws `stripped` without DWARF). */
export function checkSpecFit(bin: GoBinary, spec: EffectiveSpec): SpecFit {
  const { absent, errors } = compileFunctions(bin, spec);
  return { errors, functionsAbsent: absent };
}

/** `FILE:LINE:COLUMN: function: column = expression: why`, naming the spec file the user gave. */
export function captureErrorText(e: CaptureError, source = 'spec'): string {
  const where = e.at ? `${source}:${e.at.line}:${e.at.column}` : source;
  const what = e.column !== undefined ? `${e.function}: ${e.column} = ${e.expr ?? ''}` : e.function;
  return `${where}: ${what}: ${e.message}`;
}
