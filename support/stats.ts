/** Small statistics over repeated benchmark samples. */

/** Summary of a set of samples: how many, median, min and max. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median of the samples (mean of the two middle ones when their count is even). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median, min and max of the samples. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summary of no samples');
  return { n: samples.length, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** Ratio anchor/ours formatted like "3.2x" (above 1 means we are faster or smaller). */
export function ratio(anchor: number, ours: number): string {
  if (!(ours > 0)) return 'n/a';
  const r = anchor / ours;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x`;
}

/** The q-quantile of the samples (nearest rank: p90 of 15 samples is the 14th smallest). */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('quantile of no samples');
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
