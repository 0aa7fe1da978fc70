/** SQL the probes view sends through `POST /v1/query`: hit rate over time and durations (no DOM). */
import { lit } from './sql.js';

/** Buckets of a chart over a window. */
export const CHART_BUCKETS = 60;

/** The width of one bucket of a window, ms (whole seconds: counts are per second). */
export function bucketMs(minutes: number): number {
  return Math.max(1000, Math.round((minutes * 60_000) / CHART_BUCKETS / 1000) * 1000);
}

/** One bucket of the hit rate: hits, events kept and what was not kept, over every process. */
export interface RateRow {
  /** Start of the bucket, ms since the epoch. */
  readonly t: number;
  readonly hits: number;
  readonly events: number;
  readonly dropped: number;
  /** The server's clock when it answered, ms since the epoch. */
  readonly now: number;
}

/** Counts of one probe per bucket over the last `minutes` (from `probe_counts`). */
export function rateSql(probe: string, minutes: number): string {
  const b = bucketMs(minutes);
  return `SELECT (epoch_ms(end_time) // ${b}) * ${b} AS t, sum(hits)::DOUBLE AS hits, sum(events)::DOUBLE AS events,
  sum(rejected + rate_limited + ring_full + agent_dropped)::DOUBLE AS dropped, epoch_ms(now()) AS now
FROM probe_counts WHERE probe = ${lit(probe)} AND end_time > now() - to_milliseconds(${minutes * 60_000})
GROUP BY 1 ORDER BY 1`;
}

/** One bucket of the durations histogram: calls that took less than `lt_ns` (and more than the bucket before). */
export interface DurationRow {
  readonly lt_ns: number;
  readonly n: number;
}

/** The durations histogram of one probe over the last `minutes` (from `probe_durations`). */
export function durationsSql(probe: string, minutes: number): string {
  return `SELECT lt_ns, sum(count)::DOUBLE AS n FROM probe_durations
WHERE probe = ${lit(probe)} AND end_time > now() - to_milliseconds(${minutes * 60_000}) AND count > 0
GROUP BY 1 ORDER BY 1`;
}

/** One distinct stack of a probe's events: its functions innermost first, and how many events had it. */
export interface StackRow {
  readonly functions: readonly string[];
  readonly n: number;
}

/** Most distinct stacks sent to the page (the flame graph draws the widest anyway). */
export const MAX_STACKS = 2000;

/**
 * The distinct stacks of one probe's events over the last `minutes`, deduplicated by the hash
 * of their functions in the database (`probe_events.stack`, innermost frame first), most
 * frequent first. An entry probe's stack starts at its caller: the probed function is put
 * innermost, so the graph reads as the calls that reached it.
 */
export function stacksSql(probe: string, minutes: number): string {
  return `SELECT any_value(fns) AS functions, count(*)::DOUBLE AS n FROM (
  SELECT CASE WHEN s[1] = function THEN s ELSE list_prepend(function, s) END AS fns
  FROM (SELECT function, json_extract_string(stack, '$[*].function') AS s, "time" FROM probe_events
    WHERE probe = ${lit(probe)} AND stack IS NOT NULL)
  WHERE "time" > now() - to_milliseconds(${minutes * 60_000})
) WHERE len(fns) > 0 GROUP BY hash(fns) ORDER BY n DESC LIMIT ${MAX_STACKS}`;
}
