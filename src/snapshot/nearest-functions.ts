/**
 * The functions of a binary whose names are nearest to one it does not have: what a spec
 * names wrongly (`main.hadnle`, `main.(*Server).handle` for a value receiver, a package path
 * one letter off) is usually a short edit away from the real name, or has the same last name
 * in another package or on another receiver. A binary may have 100,000s of functions, so
 * only those of packages spelled like the wanted one, and those with its last name, are
 * compared letter by letter.
 */
import type { GoBinary } from '../gobinary/go-binary.js';
import { matchName } from './capture-plan.js';

/** A binary's function names (generic arguments erased), by package and by last name. */
interface NameIndex {
  readonly byPackage: ReadonlyMap<string, readonly string[]>;
  readonly byLast: ReadonlyMap<string, readonly string[]>;
  /** The longest name's length. */
  readonly longest: number;
}

const indexes = new WeakMap<GoBinary, NameIndex>();

/** `google.golang.org/grpc` of `google.golang.org/grpc.(*Server).handleStream`. */
function packageOf(name: string): string {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  return dot < 0 ? name : name.slice(0, dot);
}

/** `handleStream` of `google.golang.org/grpc.(*Server).handleStream`. */
function lastOf(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function indexOf(bin: GoBinary): NameIndex {
  let idx = indexes.get(bin);
  if (idx) return idx;
  const byPackage = new Map<string, string[]>();
  const byLast = new Map<string, string[]>();
  const seen = new Set<string>();
  let longest = 0;
  for (const f of bin.symtab.pcln.functions()) {
    const name = matchName(f.name);
    if (seen.has(name)) continue;
    seen.add(name);
    if (name.length > longest) longest = name.length;
    for (const [map, key] of [
      [byPackage, packageOf(name)],
      [byLast, lastOf(name)],
    ] as const) {
      const list = map.get(key);
      if (list) list.push(name);
      else map.set(key, [name]);
    }
  }
  idx = { byPackage, byLast, longest };
  indexes.set(bin, idx);
  return idx;
}

/** Edit distance between a and b, or `limit + 1` as soon as it must exceed `limit`. */
function boundedDistance(a: string, b: string, limit: number, rows: Int32Array[]): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = rows[0]!;
  let cur = rows[1]!;
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = cur[j - 1]! + 1;
      const v = Math.min(sub, del, ins);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[b.length]!;
}

/**
 * Up to `max` functions of the binary nearest to `wanted` (linker names, as a spec writes
 * them): by edit distance (at most a third of the name) among the functions of packages
 * spelled within a quarter of the package's name, then those with the same last name.
 */
export function nearestFunctions(bin: GoBinary, wanted: string, max = 3): string[] {
  const idx = indexOf(bin);
  const target = matchName(wanted);
  const pkg = packageOf(target);
  const limit = Math.max(2, Math.floor(target.length / 3));
  const pkgLimit = Math.max(1, Math.floor(pkg.length / 4));
  const width = Math.max(target.length, idx.longest) + 1;
  const rows = [new Int32Array(width), new Int32Array(width)];
  const scored = new Map<string, number>();
  for (const [p, names] of idx.byPackage) {
    if (boundedDistance(pkg, p, pkgLimit, rows) > pkgLimit) continue;
    for (const name of names) {
      const d = boundedDistance(target, name, limit, rows);
      if (d <= limit) scored.set(name, d);
    }
  }
  // The same last name elsewhere (another package or receiver) ranks after close spellings.
  for (const name of idx.byLast.get(lastOf(target)) ?? []) if (!scored.has(name)) scored.set(name, limit + 1);
  return [...scored]
    .sort((a, b) => a[1] - b[1] || a[0].length - b[0].length || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([n]) => n);
}
