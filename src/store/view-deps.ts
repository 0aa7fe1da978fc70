/**
 * What each view of a query reads, so that a query builds only the views it names and the
 * views those read, transitively: `stacks` reads `goroutines`; a function table reads `frames`
 * and `captured` (and whatever its SQL columns mention); a derived table whatever its SQL
 * mentions; `links` every table a link joins. Mentions are found as in derived-order.ts (a
 * name as a whole word): a false match builds one view too many, never one too few.
 */
import type { Spec } from '../spec/spec-types.js';
import { mentions } from './derived-order.js';
import { INVESTIGATION_TABLES } from './investigation-schema.js';
import { BUILTIN_TABLES, SNAPSHOT_TABLES } from './schema.js';

/** Views that need no spec: the per-snapshot tables, `stacks`, `spec_versions` and the investigation tables. */
export const BASE_VIEWS: ReadonlySet<string> = new Set([
  ...SNAPSHOT_TABLES.map(([name]) => name),
  'stacks',
  'spec_versions',
  ...INVESTIGATION_TABLES,
]);

/** Every view name a query over this spec can see (lower case). */
export function knownViews(spec: Spec): Set<string> {
  return new Set([
    ...BUILTIN_TABLES,
    ...spec.functions.map((f) => f.table.toLowerCase()),
    ...spec.derived.map((d) => d.name.toLowerCase()),
    ...(spec.probes ?? []).map((p) => p.name.toLowerCase()),
  ]);
}

function readsOf(spec: Spec, known: ReadonlySet<string>, name: string): string[] {
  const inSql = (sql: string) => [...known].filter((k) => k !== name && mentions(sql, k));
  if (name === 'stacks') return ['goroutines'];
  if (name === 'links')
    return spec.links.flatMap((l) => [l.from.table.toLowerCase(), l.to.table.toLowerCase()]);
  const f = spec.functions.find((x) => x.table.toLowerCase() === name);
  if (f) return ['frames', 'captured', ...f.columns.flatMap((c) => inSql(c.sql))];
  const d = spec.derived.find((x) => x.name.toLowerCase() === name);
  if (d) return inSql(d.sql);
  return [];
}

/** `names` (lower case) and every view they read, transitively. */
export function viewClosure(spec: Spec, names: Iterable<string>): Set<string> {
  const known = knownViews(spec);
  const out = new Set<string>();
  const todo = [...names];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (out.has(name)) continue;
    out.add(name);
    for (const r of readsOf(spec, known, name)) if (!out.has(r)) todo.push(r);
  }
  return out;
}
