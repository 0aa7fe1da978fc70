/** Distributions of benchmark samples: min, median, p90, max. */
import { median } from './stats.js';

/** Min, median, 90th percentile and max of some samples. */
export interface Distribution {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
}

/** The q-quantile (0..1) of the samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new Error('quantile of no samples');
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** The distribution of the samples. */
export function distribution(samples: readonly number[]): Distribution {
  return {
    n: samples.length,
    min: Math.min(...samples),
    median: median(samples),
    p90: quantile(samples, 0.9),
    max: Math.max(...samples),
  };
}

/** A distribution as "min / median / p90 / max" with a unit formatter. */
export function formatDistribution(d: Distribution, fmt: (x: number) => string): string {
  return [d.min, d.median, d.p90, d.max].map(fmt).join(' / ');
}
