/**
 * What a user asks of a probe, before it meets a binary: where (a function's entry or its
 * returns, or a file:line), what to capture (expressions of the snapshot expression
 * language), a condition, a rate limit, durations and stacks, and how much of each value to
 * keep. `compileProbe` (compile/compile-probe.ts) turns it into BPF for one binary, or
 * refuses it with the reason.
 */
import { PeriscopeError } from '../common/errors.js';

/** How much of each captured value a probe copies (the same limits snapshots render with). */
export interface CaptureLimits {
  /** Bytes of a string copied. */
  readonly maxString: number;
  /** Elements of a slice or array copied. */
  readonly maxElements: number;
  /** Levels of pointers, structs, slices and arrays followed. */
  readonly maxDepth: number;
}

/** The defaults: small, because every hit pays for the copy. */
export const DEFAULT_CAPTURE_LIMITS: CaptureLimits = { maxString: 64, maxElements: 8, maxDepth: 2 };

/** Ceilings a probe cannot raise (the BPF stack, record and program sizes follow from them). */
export const CAPTURE_CEILINGS: CaptureLimits = { maxString: 4096, maxElements: 64, maxDepth: 6 };

/** Where a probe fires. */
export type ProbePlacement =
  /** The function's entry (after its stack check) and the entry of every inlined copy. */
  | { readonly kind: 'entry'; readonly function: string }
  /** Every RET of the function: captures see its results (by name, unnamed ones as r0, r1, …). */
  | { readonly kind: 'return'; readonly function: string }
  /** Every place a source line starts (file is a path suffix, e.g. main.go). */
  | { readonly kind: 'line'; readonly file: string; readonly line: number }
  /**
   * Every direct CALL to `callee` in `function`'s code, before the callee runs (an emulated
   * instruction: no single step); expressions see `function`'s variables there.
   */
  | { readonly kind: 'call'; readonly function: string; readonly callee: string };

/** One probe as the user wrote it. */
export interface ProbeSpec {
  /** A name unique among the probes set on one process (events carry it). */
  readonly name: string;
  readonly at: ProbePlacement;
  /** Expressions captured at each hit; none: the probe only counts hits. */
  readonly captures?: readonly string[];
  /** Only hits where this is true count and emit (evaluated in the kernel). */
  readonly condition?: string;
  /** At most this many events per second per process (token bucket), bursts of `burst`. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst?: number };
  /**
   * Time each call from entry to return (function placements only): a log2 histogram per
   * process, and `durationNs` on the events of a 'return' probe.
   */
  readonly duration?: boolean;
  /** Return addresses to walk (frame pointers) and keep per event, deduplicated; 0 or absent: none. */
  readonly stackFrames?: number;
  /** Copy the goroutine's pprof labels (Go 1.24+: up to maxElements pairs). */
  readonly labels?: boolean;
  readonly limits?: Partial<CaptureLimits>;
}

/** The largest stack a probe walks. */
export const MAX_STACK_FRAMES = 32;

/** The limits of a spec with defaults filled in; a bad-spec error for values out of range. */
export function captureLimits(spec: ProbeSpec): CaptureLimits {
  const l = { ...DEFAULT_CAPTURE_LIMITS, ...spec.limits };
  for (const k of ['maxString', 'maxElements', 'maxDepth'] as const) {
    const v = l[k];
    if (!Number.isInteger(v) || v < 0 || v > CAPTURE_CEILINGS[k])
      throw new PeriscopeError(
        'bad-spec',
        `probe ${spec.name}: limits.${k} must be an integer from 0 to ${CAPTURE_CEILINGS[k]}, not ${v}`,
      );
  }
  return l;
}

/** Checks the parts of a spec that do not depend on a binary; a bad-spec error naming the field. */
export function validateProbeSpec(spec: ProbeSpec): void {
  const bad = (msg: string): never => {
    throw new PeriscopeError('bad-spec', `probe ${spec.name || '(unnamed)'}: ${msg}`);
  };
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(spec.name))
    bad('a probe name is 1-64 characters of letters, digits and _ . : -');
  if (spec.at.kind === 'line' && (!Number.isInteger(spec.at.line) || spec.at.line < 1))
    bad(`line must be a positive integer, not ${spec.at.line}`);
  if (spec.duration && (spec.at.kind === 'line' || spec.at.kind === 'call'))
    bad(`duration needs a function placement (entry or return), not a ${spec.at.kind}`);
  const r = spec.rateLimit;
  if (r) {
    if (!(r.perSecond > 0 && r.perSecond <= 1e9))
      bad(`rateLimit.perSecond must be in (0, 1e9], not ${r.perSecond}`);
    if (r.burst !== undefined && !(Number.isInteger(r.burst) && r.burst >= 1 && r.burst <= 1e6))
      bad(`rateLimit.burst must be an integer from 1 to 1000000, not ${r.burst}`);
  }
  const f = spec.stackFrames ?? 0;
  if (!Number.isInteger(f) || f < 0 || f > MAX_STACK_FRAMES)
    bad(`stackFrames must be an integer from 0 to ${MAX_STACK_FRAMES}, not ${f}`);
  captureLimits(spec);
}
