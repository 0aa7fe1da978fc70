/**
 * Metrics kept in memory for `/metrics` (server and agent): counters and histograms that code
 * updates as things happen, gauges read when scraped, and the whole set encoded in the
 * Prometheus text format (prometheus-text.ts). Series are keyed by their label values; a
 * family with labels from the outside (probe names) caps its series so a flood of names
 * cannot grow memory without bound.
 */
import {
  encodeFamilies,
  type Family,
  type HistogramSample,
  type Labels,
  type Sample,
} from './prometheus-text.js';

function keyOf(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Series per family at most; further label sets are counted in one `{overflow="true"}` series. */
const MAX_SERIES = 2000;
const OVERFLOW: Labels = { overflow: 'true' };
const OVERFLOW_KEY = keyOf(OVERFLOW);

/** A counter family: only goes up. */
export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Adds `n` (default 1; negative or non-finite amounts are ignored) to the series of `labels`. */
  inc(labels: Labels = {}, n = 1): void {
    if (!(n >= 0) || !Number.isFinite(n)) return;
    const key = keyOf(labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES && key !== OVERFLOW_KEY) {
        this.inc(OVERFLOW, n);
        return;
      }
      s = { labels: { ...labels }, value: 0 };
      this.series.set(key, s);
    }
    s.value += n;
  }

  /** The value of one series (0 when it never moved). */
  value(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0;
  }

  /** The family to encode. */
  family(): Family {
    return { name: this.name, help: this.help, type: 'counter', samples: [...this.series.values()] };
  }
}

/** A histogram family with fixed bucket bounds. */
export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending. */
    readonly bounds: readonly number[],
  ) {}

  /** Records one observation in the series of `labels` (non-finite values are ignored). */
  observe(value: number, labels: Labels = {}): void {
    if (!Number.isFinite(value)) return;
    const key = keyOf(labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES && key !== OVERFLOW_KEY) {
        this.observe(value, OVERFLOW);
        return;
      }
      s = { labels: { ...labels }, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] ?? 0)) i++;
    s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
  }

  /** The family to encode. */
  family(): Family {
    const samples: HistogramSample[] = [...this.series.values()].map((s) => ({
      labels: s.labels,
      bounds: this.bounds,
      counts: s.counts,
      sum: s.sum,
    }));
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/** A gauge (or a counter kept elsewhere) whose series are read when scraped. */
export interface Collected {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  collect(): readonly Sample[];
}

/** The metrics of one process, in the order they are shown. */
export class MetricsRegistry {
  private readonly entries: (Counter | Histogram | Collected)[] = [];

  /** A new counter family. */
  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.entries.push(c);
    return c;
  }

  /** A new histogram family. */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    const h = new Histogram(name, help, bounds);
    this.entries.push(h);
    return h;
  }

  /** A gauge (or counter) read when scraped. */
  collected(name: string, help: string, type: 'gauge' | 'counter', collect: () => readonly Sample[]): void {
    this.entries.push({ name, help, type, collect });
  }

  /** Every family in the Prometheus text format. */
  render(): string {
    return encodeFamilies(
      this.entries.map((e) =>
        e instanceof Counter || e instanceof Histogram
          ? e.family()
          : { name: e.name, help: e.help, type: e.type, samples: e.collect() },
      ),
    );
  }
}

/** Pause buckets, seconds: 100 us to 1 s (a pause is ~1 ms; the budget is far below a second). */
export const PAUSE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Duration buckets of whole operations, seconds: 10 ms to 2 minutes. */
export const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** This process's CPU time and resident memory, as `periscope_process_*` gauges and counters. */
export function addProcessMetrics(m: MetricsRegistry): void {
  m.collected(
    'periscope_process_cpu_seconds_total',
    'User and system CPU time of this process (all its threads), seconds.',
    'counter',
    () => {
      const u = process.cpuUsage();
      return [{ labels: {}, value: (u.user + u.system) / 1e6 }];
    },
  );
  m.collected(
    'periscope_process_resident_memory_bytes',
    'Resident memory of this process, bytes.',
    'gauge',
    () => [{ labels: {}, value: process.memoryUsage.rss() }],
  );
  const started = Date.now() / 1000;
  m.collected(
    'periscope_process_start_time_seconds',
    'When this process started, seconds since the Unix epoch.',
    'gauge',
    () => [{ labels: {}, value: Math.round(started) }],
  );
}
