/**
 * The checks of what agents send in their batches (probe and trace data), which the server
 * treats as input: strings with a length bound, finite numbers, plain objects, and lists
 * bounded in length with the malformed items left out.
 */

/** A string of at most `max` characters. */
export const str = (v: unknown, max = 2000): v is string => typeof v === 'string' && v.length <= max;

/** A finite number. */
export const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A plain object (not null, not an array). */
export const obj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first `max` items of a list that pass `ok` (none when `v` is not a list). */
export const list = <T>(v: unknown, ok: (x: unknown) => x is T, max = 100_000): T[] =>
  Array.isArray(v) ? v.slice(0, max).filter(ok) : [];
