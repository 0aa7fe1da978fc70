/**
 * The default spec: built-in functions and links that work with no user setup. The text
 * lives in default-spec-yaml.ts (see docs/links.md); it is merged under a user's spec only by
 * effective-spec.ts.
 */
import { DEFAULT_SPEC_YAML } from './default-spec-yaml.js';
import { parseSpec } from './spec-parse.js';
import type { FunctionSpec, Spec } from './spec-types.js';

let parsed: Spec | undefined;

/** Drops source positions: they would point into the built-in text, not the user's file. */
function unplaced({ source: _source, ...spec }: Spec): Spec {
  return {
    ...spec,
    functions: spec.functions.map(({ at: _at, ...f }) => ({
      ...f,
      capture: f.capture.map(({ at: _c, exprAt: _e, ...c }) => c),
      columns: f.columns.map(({ at: _c, ...c }) => c),
    })),
    derived: spec.derived.map(({ at: _at, ...d }) => d),
    links: spec.links.map(({ at: _at, ...l }) => l),
    programs: spec.programs.map(({ at: _at, ...p }) => p),
  };
}

/** The built-in spec: gRPC and net/http functions and the links between clients and servers. */
export function defaultSpec(): Spec {
  parsed ??= unplaced(parseSpec(DEFAULT_SPEC_YAML, 'the default spec'));
  return parsed;
}

/** Whether a table, link or Go function of a spec comes from the built-in spec (by name). */
export function isBuiltIn(kind: 'table' | 'link' | 'function', name: string): boolean {
  const base = defaultSpec();
  if (kind === 'function') return base.functions.some((f) => f.function === name);
  return kind === 'link'
    ? base.links.some((l) => l.name === name)
    : base.functions.some((f) => f.table === name) || base.derived.some((d) => d.name === name);
}

/**
 * Whether a function entry of a spec in effect is a built-in one: effectiveSpec keeps the
 * built-in entries as they are, so they are these very objects (a user's entry for the same
 * Go function is another object, and the user's).
 */
export function isBuiltInEntry(f: FunctionSpec): boolean {
  return defaultSpec().functions.includes(f);
}
