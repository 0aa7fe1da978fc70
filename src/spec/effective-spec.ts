/**
 * The spec in effect: what every surface captures with and builds tables from. It is the
 * user's spec with the built-in entries (default-spec.ts) merged under it, and this module
 * is the one place that merge happens. Capture plans (snapshot/capture-plan.ts) and the
 * store's views (store/query-views.ts) accept only an `EffectiveSpec`, which only this
 * module makes, so a surface cannot hand them a spec that skipped the merge.
 */
import { defaultSpec } from './default-spec.js';
import { parseSpec } from './spec-parse.js';
import { EMPTY_SPEC, type FunctionSpec, type LinkSpec, type Spec } from './spec-types.js';

declare const inEffect: unique symbol;

/** A spec as it applies: the user's entries with the built-in ones merged under them. */
export type EffectiveSpec = Spec & { readonly [inEffect]: true };

/** Options of effectiveSpec. */
export interface EffectOptions {
  /** Leave the built-in entries out (the user's spec alone, e.g. `--no-default-spec`). Default: include them. */
  readonly defaults?: boolean;
}

/**
 * The user's spec with the built-in entries added. The user's entries win: a user function
 * replaces a built-in one for the same Go function or the same table, a user derived table
 * or link replaces a built-in one of the same name, and a built-in link whose tables are no
 * longer both defined is dropped. Programs, limits and the source name are the user's.
 */
export function effectiveSpec(user: Spec, opts: EffectOptions = {}): EffectiveSpec {
  if (opts.defaults === false) return inEffectAs(user);
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
  return inEffectAs({ ...user, functions, derived, links });
}

function inEffectAs(spec: Spec): EffectiveSpec {
  return spec as unknown as EffectiveSpec;
}

/**
 * The spec in effect for a stored or received YAML text ('' or blank: no user spec, only the
 * built-in entries); a text that does not parse throws SpecError naming `source`.
 */
export function effectiveSpecOfText(text: string, source: string, opts: EffectOptions = {}): EffectiveSpec {
  return effectiveSpec(text.trim() === '' ? EMPTY_SPEC : parseSpec(text, source), opts);
}

/** Stacks only: no user spec and no built-in entries (library callers that want no values). */
export const STACKS_ONLY: EffectiveSpec = effectiveSpec(EMPTY_SPEC, { defaults: false });

/** A spec that captured some stored snapshots without becoming the store's spec, and which ones. */
export interface AttachedSpec {
  readonly spec: Spec;
  /** The snapshots it captured, for messages (e.g. `snapshot 7`). */
  readonly snapshots: string;
}

/**
 * The tables a query sees when its snapshots include some captured with a one-off spec:
 * the spec in effect, plus each attached spec's function tables, derived tables and links
 * whose names it does not define (the first attached spec wins among them; a link is added
 * only when both its tables are there). A name both define differently keeps the spec in
 * effect's definition, and a note says so.
 */
export function withAttachedSpecs(
  spec: EffectiveSpec,
  attached: readonly AttachedSpec[],
): { spec: EffectiveSpec; notes: string[] } {
  if (attached.length === 0) return { spec, notes: [] };
  const functions = [...spec.functions];
  const derived = [...spec.derived];
  const links = [...spec.links];
  const notes: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const bare = <T extends { at?: unknown }>({ at: _at, ...rest }: T) => rest;
  const bareFunction = (f: FunctionSpec) => ({
    ...bare(f),
    capture: f.capture.map(({ at: _a, exprAt: _e, ...c }) => c),
    columns: f.columns.map(bare),
  });
  for (const { spec: one, snapshots } of attached) {
    const tables = new Map<string, unknown>([
      ...functions.map((f): [string, unknown] => [f.table, bareFunction(f)]),
      ...derived.map((d): [string, unknown] => [d.name, bare(d)]),
    ]);
    const clash = (kind: string, name: string) =>
      notes.push(
        `${kind} "${name}" of the spec that captured ${snapshots} differs from the store's spec; the store's spec's is shown`,
      );
    for (const f of one.functions) {
      const had = tables.get(f.table);
      if (had === undefined) functions.push(f);
      else if (!same(had, bareFunction(f))) clash('table', f.table);
    }
    for (const d of one.derived) {
      const had = tables.get(d.name);
      if (had === undefined) derived.push(d);
      else if (!same(had, bare(d))) clash('derived table', d.name);
    }
    const names = new Set([...functions.map((f) => f.table), ...derived.map((d) => d.name)]);
    for (const l of one.links) {
      const had = links.find((x) => x.name === l.name);
      if (had === undefined) {
        if (names.has(l.from.table) && names.has(l.to.table)) links.push(l);
      } else if (!same(bare(had), bare(l))) clash('link', l.name);
    }
  }
  return { spec: inEffectAs({ ...spec, functions, derived, links }), notes };
}
