/**
 * The functions of a binary whose names are nearest to one it does not have: what a spec
 * names wrongly (`main.hadnle`, `main.(*Server).handle` for a value receiver, a package path
 * one directory off) is usually a short edit away from the real name, or has the same last
 * name in another package or on another receiver.
 */
import type { GoBinary } from '../gobinary/go-binary.js';
import { matchName } from './capture-plan.js';

/** Edit distance between a and b, or `limit + 1` as soon as it must exceed `limit`. */
function boundedDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (cur[j]! < rowMin) rowMin = cur[j]!;
    }
    if (rowMin > limit) return limit + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** The name after the last dot outside brackets: `handle` of `main.(*Server).handle`. */
function lastName(fn: string): string {
  const m = matchName(fn);
  return m.slice(m.lastIndexOf('.') + 1);
}

/**
 * Up to `max` functions of the binary nearest to `wanted` (linker names, as a spec writes
 * them): by edit distance (at most a third of the name), then those with the same last name.
 */
export function nearestFunctions(bin: GoBinary, wanted: string, max = 3): string[] {
  const target = matchName(wanted);
  const tail = lastName(wanted);
  const limit = Math.max(2, Math.floor(target.length / 3));
  const scored = new Map<string, number>();
  for (const f of bin.symtab.pcln.functions()) {
    const name = matchName(f.name);
    if (scored.has(name)) continue;
    const d = boundedDistance(target, name, limit);
    // The same last name elsewhere (another package or receiver) ranks after close spellings.
    const score = d <= limit ? d : lastName(name) === tail ? limit + 1 : undefined;
    if (score !== undefined) scored.set(name, score);
  }
  return [...scored]
    .sort((a, b) => a[1] - b[1] || a[0].length - b[0].length || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([n]) => n);
}
