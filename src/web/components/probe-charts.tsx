/** The probes view's two small SVG charts: hit rate over time, and the histogram of durations. */
import { count, duration } from '../format.js';
import type { DurationRow, RateRow } from '../probe-sql.js';

const W = 640;
const H = 150;
const LEFT = 44;
const BOTTOM = 20;
const TOP = 10;

/** A round-ish top for an axis. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function plural(n: number, what: string): string {
  return `${count(n)} ${what}${n === 1 ? '' : 's'}`;
}

function rateText(perSecond: number): string {
  return perSecond >= 10 ? count(Math.round(perSecond)) : perSecond.toFixed(perSecond >= 1 ? 1 : 2);
}

/** Hits a second of one probe over a window, a bar per bucket (events not kept drawn on top). */
export function RateChart(p: { rows: readonly RateRow[]; minutes: number; bucketMs: number; label: string }) {
  const to = p.rows.at(-1)?.now ?? Date.now();
  const from = to - p.minutes * 60_000;
  const secs = p.bucketMs / 1000;
  const max = niceMax(Math.max(0, ...p.rows.map((r) => r.hits / secs)));
  const plotW = W - LEFT - 6;
  const plotH = H - TOP - BOTTOM;
  const x = (t: number) => LEFT + ((t - from) / (to - from)) * plotW;
  const y = (v: number) => TOP + plotH - (v / max) * plotH;
  const barW = Math.max(1, (p.bucketMs / (to - from)) * plotW - 1);
  const total = p.rows.reduce((s, r) => s + r.hits, 0);
  const peak = Math.max(0, ...p.rows.map((r) => r.hits / secs));
  const summary = `${p.label}: ${plural(total, 'hit')} in the last ${p.minutes} minutes, at most ${rateText(peak)} a second`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line class="grid-line" x1={LEFT} x2={W - 6} y1={y(max * f)} y2={y(max * f)} />
            <text class="axis" x={LEFT - 6} y={y(max * f) + 4} text-anchor="end">
              {rateText(max * f)}
            </text>
          </g>
        ))}
        {p.rows
          .filter((r) => r.t + p.bucketMs > from)
          .map((r) => {
            const hits = r.hits / secs;
            const kept = Math.min(hits, r.events / secs);
            return (
              <g key={r.t}>
                <title>
                  {new Date(r.t).toLocaleTimeString()}: {rateText(hits)} hits/s, {count(r.events)} events kept
                  {r.dropped > 0 ? `, ${count(r.dropped)} not kept` : ''}
                </title>
                <rect class="bar-hits" x={x(r.t)} y={y(hits)} width={barW} height={y(0) - y(hits)} />
                <rect class="bar-kept" x={x(r.t)} y={y(kept)} width={barW} height={y(0) - y(kept)} />
              </g>
            );
          })}
        <line class="axis-line" x1={LEFT} x2={W - 6} y1={y(0)} y2={y(0)} />
        <text class="axis" x={LEFT} y={H - 4}>
          −{p.minutes} min
        </text>
        <text class="axis" x={W - 6} y={H - 4} text-anchor="end">
          now
        </text>
      </svg>
      <figcaption>
        <div>{summary}.</div>
        <div>
          <span class="key key-kept" /> kept as events <span class="key key-hits" /> not kept (condition
          false, rate limit, full buffers)
        </div>
      </figcaption>
    </figure>
  );
}

/** Calls per log2 bucket of their duration. */
export function DurationChart({ rows: given, label }: { rows: readonly DurationRow[]; label: string }) {
  if (given.length === 0) return null;
  const rows = log2Slots(given);
  const max = niceMax(Math.max(...rows.map((r) => r.n)));
  const plotW = W - LEFT - 6;
  const plotH = H - TOP - BOTTOM;
  const slot = plotW / rows.length;
  const y = (v: number) => TOP + plotH - (v / max) * plotH;
  const total = rows.reduce((s, r) => s + r.n, 0);
  let acc = 0;
  const median = rows.find((r) => {
    acc += r.n;
    return acc >= total / 2;
  });
  const summary = `${label}: ${plural(total, 'call')} timed, half under ${duration(median?.lt_ns)}`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        {[0, 0.5, 1]
          .filter((f) => Number.isInteger(max * f))
          .map((f) => (
            <g key={f}>
              <line class="grid-line" x1={LEFT} x2={W - 6} y1={y(max * f)} y2={y(max * f)} />
              <text class="axis" x={LEFT - 6} y={y(max * f) + 4} text-anchor="end">
                {count(max * f)}
              </text>
            </g>
          ))}
        {rows.map((r, i) => (
          <g key={r.lt_ns}>
            <title>
              {count(r.n)} calls under {duration(r.lt_ns)}
            </title>
            <rect
              class="bar-kept"
              x={LEFT + i * slot + 1}
              y={y(r.n)}
              width={Math.max(1, slot - 2)}
              height={y(0) - y(r.n)}
            />
            {(rows.length <= 16 || i % 2 === 0) && (
              <text class="axis" x={LEFT + (i + 0.5) * slot} y={H - 4} text-anchor="middle">
                &lt;{duration(r.lt_ns)}
              </text>
            )}
          </g>
        ))}
        <line class="axis-line" x1={LEFT} x2={W - 6} y1={y(0)} y2={y(0)} />
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}

/** The histogram's buckets with the empty ones between (and around, to at least 8) filled in: a gap reads as a gap. */
function log2Slots(rows: readonly DurationRow[]): DurationRow[] {
  const byExp = new Map(rows.map((r) => [Math.round(Math.log2(r.lt_ns)), r]));
  let lo = Math.min(...byExp.keys());
  let hi = Math.max(...byExp.keys());
  while (hi - lo + 1 < 8) {
    if (lo > 10) lo--;
    if (hi - lo + 1 < 8) hi++;
  }
  const out: DurationRow[] = [];
  for (let e = lo; e <= hi; e++) out.push(byExp.get(e) ?? { lt_ns: 2 ** e, n: 0 });
  return out;
}
