/**
 * The default spec (built-in functions and links that work with no user setup) and how it
 * combines with a user's spec. The text lives in default-spec-yaml.ts; see docs/links.md.
 */
import { DEFAULT_SPEC_YAML } from './default-spec-yaml.js';
import { parseSpec } from './spec-parse.js';
import type { FunctionSpec, LinkSpec, Spec } from './spec-types.js';

let parsed: Spec | undefined;

/** Drops source positions: they would point into the built-in text, not the user's file. */
function unplaced(spec: Spec): Spec {
  return {
    ...spec,
    functions: spec.functions.map(({ at: _at, ...f }) => ({
      ...f,
      capture: f.capture.map(({ at: _c, ...c }) => c),
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

/** Options of withDefaultSpec. */
export interface MergeOptions {
  /** Leave the built-in entries out (the user's spec alone). Default: include them. */
  readonly defaults?: boolean;
}

/**
 * The user's spec with the built-in entries added. The user's entries win: a user function
 * replaces a built-in one for the same Go function or the same table, a user derived table
 * or link replaces a built-in one of the same name, and a built-in link whose tables are no
 * longer both defined is dropped. Programs and limits are the user's.
 */
export function withDefaultSpec(user: Spec, opts: MergeOptions = {}): Spec {
  if (opts.defaults === false) return user;
  const base = defaultSpec();
  const userFns = new Set(user.functions.map((f) => f.function));
  const userTables = new Set([...user.functions.map((f) => f.table), ...user.derived.map((d) => d.name)]);
  const functions: FunctionSpec[] = [
    ...base.functions.filter((f) => !userFns.has(f.function) && !userTables.has(f.table)),
    ...user.functions,
  ];
  const derived = [...base.derived.filter((d) => !userTables.has(d.name)), ...user.derived];
  const tables = new Set([...functions.map((f) => f.table), ...derived.map((d) => d.name)]);
  const userLinks = new Set(user.links.map((l) => l.name));
  const links: LinkSpec[] = [
    ...base.links.filter((l) => !userLinks.has(l.name) && tables.has(l.from.table) && tables.has(l.to.table)),
    ...user.links,
  ];
  return { ...user, functions, derived, links };
}

/** Whether a table or link of a spec comes from the built-in spec (by name). */
export function isBuiltIn(kind: 'table' | 'link', name: string): boolean {
  const base = defaultSpec();
  return kind === 'link'
    ? base.links.some((l) => l.name === name)
    : base.functions.some((f) => f.table === name) || base.derived.some((d) => d.name === name);
}
