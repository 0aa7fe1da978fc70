/**
 * The spec: one versioned document that says what to capture and how to tabulate it.
 * This module holds only the shape; parsing and validation live beside it.
 */
import type { TraceEntry } from './trace-types.js';

/** Where something was written in the spec file (1-based), for precise error messages. */
export interface SpecPosition {
  readonly line: number;
  readonly column: number;
}

/** One value to capture on each frame of a function: a column name and a Go expression. */
export interface CaptureSpec {
  readonly column: string;
  readonly expr: string;
  /** Where the value starts (its opening quote, if quoted). */
  readonly at?: SpecPosition;
  /**
   * Where the expression's first character is, when the expression's columns are the file's
   * columns on that line (a plain or quoted scalar without escapes on one line), so that a
   * problem at column N of the expression is at `exprAt.column + N - 1` of the file.
   */
  readonly exprAt?: SpecPosition;
}

/** What to capture on the frames of one function, and the table it fills. */
export interface FunctionSpec {
  /** Fully qualified Go name, e.g. `main.(*Server).handle`. */
  readonly function: string;
  /** Name of the function table (default: derived from the function name). */
  readonly table: string;
  readonly capture: readonly CaptureSpec[];
  /** Extra columns: name -> SQL expression over the captured columns. */
  readonly columns: readonly { readonly name: string; readonly sql: string; readonly at?: SpecPosition }[];
  readonly at?: SpecPosition;
}

/** A rule that picks processes by their labels (regular expressions per label). */
export interface ProgramSpec {
  readonly name: string;
  /** Label name (executable, cmdline, hostname, pid, env.NAME, container, pod, …) -> regex. */
  readonly match: Readonly<Record<string, string>>;
  readonly at?: SpecPosition;
}

/** A table defined by SQL over other tables. */
export interface DerivedTableSpec {
  readonly name: string;
  readonly sql: string;
  readonly at?: SpecPosition;
}

/** Columns of one table equal to columns of another, possibly in other processes. */
export interface LinkSpec {
  readonly name: string;
  readonly description: string;
  readonly from: { readonly table: string; readonly columns: readonly string[] };
  readonly to: { readonly table: string; readonly columns: readonly string[] };
  readonly at?: SpecPosition;
}

/** Where a probe fires: a function's entry (and every inlined copy of it), its returns, or a source line. */
export type ProbeSite =
  | { readonly kind: 'entry'; readonly function: string }
  | { readonly kind: 'return'; readonly function: string }
  | { readonly kind: 'line'; readonly file: string; readonly line: number }
  /** Every direct CALL to `callee` in `function` (placed by traces for goroutine creation; not written in a spec). */
  | { readonly kind: 'call'; readonly function: string; readonly callee: string };

/** An expression with where it was written (a probe's condition). */
export interface SpecExpr {
  readonly expr: string;
  readonly at?: SpecPosition;
  /** As CaptureSpec.exprAt. */
  readonly exprAt?: SpecPosition;
}

/**
 * A probe (a dynamic log): on the processes its program selector picks, at its site, capture
 * these expressions under the condition, at most `rateLimit` events a second per process, for
 * `ttlMs` from the spec version that brought it. Its events make the table named `name`.
 */
export interface ProbeEntry {
  /** Unique among the probes, and the name of its table (letters, digits and _). */
  readonly name: string;
  /** The spec program whose processes it goes to. */
  readonly program?: string;
  /** Or label regular expressions, as a program rule's (all must match). */
  readonly match?: Readonly<Record<string, string>>;
  readonly site: ProbeSite;
  /** Column -> Go expression, evaluated at each hit. None: the probe only counts. */
  readonly capture: readonly CaptureSpec[];
  readonly condition?: SpecExpr;
  /** Events a second per process (token bucket in the kernel), bursts of `burst`. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst?: number };
  /** Frames of the goroutine's stack kept per event (0: none). */
  readonly stack: number;
  /** Time each call from entry to return (function sites). */
  readonly duration: boolean;
  /** Copy the goroutine's pprof labels into each event. */
  readonly labels: boolean;
  /** How long the probe stays on, from the first spec version that has it as it is, ms. */
  readonly ttlMs: number;
  /** The CPU share of a process (0–1) the probe may cost it before it is switched off there. */
  readonly maxCpu: number;
  /** How much of each value is copied (defaults: maxString 64, maxElements 8, maxDepth 2). */
  readonly limits?: Partial<ValueLimits>;
  readonly at?: SpecPosition;
}

/** Limits on how much of each captured value is kept. */
export interface ValueLimits {
  /** Bytes of a string kept (default 512). */
  readonly maxString: number;
  /** Elements of an array, slice or map kept (default 64). */
  readonly maxElements: number;
  /** Levels of nesting followed (default 4). */
  readonly maxDepth: number;
}

/**
 * What is redacted besides the built-in rules (goruntime/values/redaction.ts), and where
 * redaction is off. See docs/security.md.
 */
export interface RedactionSpec {
  /** Name patterns added to the defaults (fields, variables, string map keys). */
  readonly names: readonly string[];
  /** Go type names added to the defaults, exactly as Go spells them (`crypto/tls.Certificate`). */
  readonly types: readonly string[];
  /**
   * Programs (names of `programs` entries; `*`: every process) whose values are not redacted.
   * A server stores a spec that changes this list only from an admin token.
   */
  readonly off: readonly string[];
  readonly at?: SpecPosition;
}

/** The whole spec document. */
export interface Spec {
  readonly version: 1;
  /** The name errors give the document: the file the user gave (e.g. `starter.yaml`). */
  readonly source?: string;
  readonly programs: readonly ProgramSpec[];
  readonly functions: readonly FunctionSpec[];
  readonly derived: readonly DerivedTableSpec[];
  readonly links: readonly LinkSpec[];
  readonly limits: ValueLimits;
  /** Probes (absent: none). */
  readonly probes?: readonly ProbeEntry[];
  /** Request traces (absent: none; docs/traces.md). */
  readonly traces?: readonly TraceEntry[];
  /** Redaction rules added to the defaults, and where it is off (absent: the defaults everywhere). */
  readonly redaction?: RedactionSpec;
}

/** The defaults of value limits. */
export const DEFAULT_LIMITS: ValueLimits = { maxString: 512, maxElements: 64, maxDepth: 4 };

/** An empty spec: capture stacks only. */
export const EMPTY_SPEC: Spec = {
  version: 1,
  programs: [],
  functions: [],
  derived: [],
  links: [],
  limits: DEFAULT_LIMITS,
};
