/**
 * The known names nearest to one that is not known (a mistyped trace, probe, …), for an error
 * message that says what the user probably meant.
 */

/** Levenshtein distance (names are short). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `max` of `known`, nearest to `wanted` first (case-insensitive; ties by name). */
export function nearestNames(wanted: string, known: Iterable<string>, max = 3): string[] {
  const w = wanted.toLowerCase();
  return [...new Set(known)]
    .map((k) => ({ k, d: editDistance(w, k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .slice(0, max)
    .map((x) => x.k);
}
