/**
 * Derived tables refer to each other by name: this orders them so that each comes after the
 * tables it reads, and finds cycles (a spec error). A reference is the table's name as a
 * whole word (or a quoted identifier) anywhere in the SQL.
 */
import type { DerivedTableSpec } from '../spec/spec-types.js';

/** The derived tables in dependency order, and those caught in a cycle (reported, not built). */
export interface DerivedOrder {
  readonly ordered: readonly DerivedTableSpec[];
  /** Each cycle as the names along it, e.g. ['a', 'b', 'a']. */
  readonly cycles: readonly string[][];
}

/** Whether `sql` mentions table `name` (as a whole word or quoted identifier, any case). */
export function mentions(sql: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_"])"?${escaped}"?($|[^A-Za-z0-9_"])`, 'i').test(sql);
}

/** Orders derived tables by their references to each other. */
export function orderDerived(derived: readonly DerivedTableSpec[]): DerivedOrder {
  const byName = new Map(derived.map((d) => [d.name.toLowerCase(), d]));
  const deps = new Map<string, string[]>();
  for (const d of derived) {
    deps.set(
      d.name.toLowerCase(),
      derived.filter((o) => o !== d && mentions(d.sql, o.name)).map((o) => o.name.toLowerCase()),
    );
  }
  const state = new Map<string, 'visiting' | 'done' | 'cyclic'>();
  const ordered: DerivedTableSpec[] = [];
  const cycles: string[][] = [];
  const visit = (name: string, path: string[]): boolean => {
    const s = state.get(name);
    if (s === 'done') return true;
    if (s === 'cyclic') return false;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      cycles.push(cycle.map((n) => byName.get(n)?.name ?? n));
      for (const n of cycle) state.set(n, 'cyclic');
      return false;
    }
    state.set(name, 'visiting');
    let ok = true;
    for (const dep of deps.get(name) ?? []) ok = visit(dep, [...path, name]) && ok;
    if (state.get(name) === 'cyclic' || !ok) {
      state.set(name, 'cyclic');
      return false;
    }
    state.set(name, 'done');
    ordered.push(byName.get(name)!);
    return true;
  };
  for (const d of derived) visit(d.name.toLowerCase(), []);
  return { ordered, cycles };
}
