/**
 * The Prometheus text exposition format (version 0.0.4): metric families as `# HELP` and
 * `# TYPE` lines followed by their samples, label values and help texts escaped as the format
 * says, histograms as cumulative `_bucket{le="…"}` series ending in `+Inf`, then `_sum` and
 * `_count`. Pure: no registry, no I/O (metrics.ts keeps the values).
 */

/** The media type of this format (callers add `; charset=utf-8`). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4';

/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** One series of a counter or gauge. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** One series of a histogram: counts per upper bound (not cumulative), their sum and count. */
export interface HistogramSample {
  readonly labels: Labels;
  /** Upper bounds, ascending, without +Inf. */
  readonly bounds: readonly number[];
  /** Observations in each bucket (bounds.length + 1 entries: the last is above every bound). */
  readonly counts: readonly number[];
  readonly sum: number;
}

/** A metric family ready to encode. */
export type Family =
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'counter' | 'gauge';
      readonly samples: readonly Sample[];
    }
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'histogram';
      readonly samples: readonly HistogramSample[];
    };

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether `name` is a valid metric name. */
export function validMetricName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Whether `name` is a valid label name (names starting with `__` are reserved). */
export function validLabelName(name: string): boolean {
  return LABEL_RE.test(name) && !name.startsWith('__');
}

/** A HELP text escaped: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value escaped: backslash, double quote and line feed. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as the format writes it (`+Inf`, `-Inf`, `NaN`, else Go's float text). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function labelText(labels: Labels, extra?: readonly [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Encodes families; throws on an invalid metric or label name (a programming error). */
export function encodeFamilies(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!validMetricName(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      for (const k of Object.keys(s.labels))
        if (!validLabelName(k) || (f.type === 'histogram' && k === 'le'))
          throw new Error(`invalid label name ${JSON.stringify(k)} in ${f.name}`);
      if (f.type !== 'histogram') {
        const v = (s as Sample).value;
        out.push(`${f.name}${labelText(s.labels)} ${formatValue(v)}`);
        continue;
      }
      const h = s as HistogramSample;
      let cumulative = 0;
      h.bounds.forEach((b, i) => {
        cumulative += h.counts[i] ?? 0;
        out.push(`${f.name}_bucket${labelText(h.labels, ['le', formatValue(b)])} ${cumulative}`);
      });
      cumulative += h.counts[h.bounds.length] ?? 0;
      out.push(`${f.name}_bucket${labelText(h.labels, ['le', '+Inf'])} ${cumulative}`);
      out.push(`${f.name}_sum${labelText(h.labels)} ${formatValue(h.sum)}`);
      out.push(`${f.name}_count${labelText(h.labels)} ${cumulative}`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
