/**
 * One probe: its hit rate over time, the histogram of its durations, its events' stacks as a
 * flame graph (distinct stacks counted in the database), and its latest events, followed live.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ProbeEventView, ProbeView } from '../../api/responses.js';
import { probeEvents, query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { FlameGraph } from '../components/flame-graph.js';
import { type Json, JsonTree } from '../components/json-tree.js';
import { DurationChart, RateChart } from '../components/probe-charts.js';
import { useAsync } from '../components/use-async.js';
import { duration, shortFile } from '../format.js';
import {
  bucketMs,
  type DurationRow,
  durationsSql,
  MAX_STACKS,
  type RateRow,
  rateSql,
  type StackRow,
  stacksSql,
} from '../probe-sql.js';
import { go } from '../router.js';
import { PROBE_WINDOWS, type Route } from '../routes.js';
import { rowsOf } from '../sql.js';

type ProbesRoute = Extract<Route, { view: 'probes' }>;

/** Events kept on the page. */
const KEEP = 100;
/** How long one long poll of GET /v1/events waits for a new event, ms. */
const POLL_WAIT_MS = 20_000;

/** The picked probe's charts and events. */
export function ProbeDetail({ probe, r }: { probe: ProbeView; r: ProbesRoute }) {
  const [tick, setTick] = useState(0);
  const [follow, setFollow] = useState(true);
  const charts = useAsync(
    () =>
      Promise.all([
        query(rateSql(probe.name, r.minutes), { latest: true }).then((q) => rowsOf<RateRow>(q)),
        probe.duration
          ? query(durationsSql(probe.name, r.minutes), { latest: true }).then((q) => rowsOf<DurationRow>(q))
          : Promise.resolve([]),
        probe.stack > 0
          ? query(stacksSql(probe.name, r.minutes), { latest: true }).then((q) =>
              rowsOf<StackRow>(q).map((x) => ({ functions: x.functions, count: x.n })),
            )
          : Promise.resolve([]),
      ]),
    [probe.name, r.minutes, tick],
  );
  // The charts move with the events: counts arrive a second at a time.
  useEffect(() => {
    if (!follow) return;
    const t = setInterval(() => setTick((x) => x + 1), 2000);
    return () => clearInterval(t);
  }, [follow]);
  const [rate, durations, stacks] = charts.value ?? [[], [], []];
  return (
    <section class="panel probe-detail" aria-labelledby="probe-detail">
      <div class="row between">
        <h2 id="probe-detail">
          Probe {probe.name} <span class="muted fname">{probe.site}</span>
        </h2>
        <label>
          Window
          <select
            value={String(r.minutes)}
            onChange={(e) => go({ ...r, minutes: Number((e.target as HTMLSelectElement).value) }, true)}
          >
            {PROBE_WINDOWS.map((m) => (
              <option key={m} value={String(m)}>
                last {m < 60 ? `${m} minutes` : `${m / 60} hour${m === 60 ? '' : 's'}`}
              </option>
            ))}
          </select>
        </label>
      </div>
      {charts.error !== undefined && <ErrorBox error={charts.error} />}
      <div class="charts">
        <div>
          <h3>Hit rate (hits a second, all processes)</h3>
          <RateChart
            rows={rate}
            minutes={r.minutes}
            bucketMs={bucketMs(r.minutes)}
            label={`Hit rate of ${probe.name}`}
          />
        </div>
        {probe.duration && (
          <div>
            <h3>Durations</h3>
            {durations.length > 0 ? (
              <DurationChart rows={durations} label={`Durations of ${probe.name}`} />
            ) : (
              <p class="empty">No call has returned yet in this window.</p>
            )}
          </div>
        )}
      </div>
      {probe.stack > 0 && (
        <div class="probe-stacks">
          <h3>Stacks of its events</h3>
          {stacks.length > 0 ? (
            <FlameGraph
              stacks={stacks}
              partial={stacks.length >= MAX_STACKS}
              unit="events"
              label={`Flame graph of the stacks of ${probe.name}'s events, outermost frame at the top`}
            />
          ) : (
            <p class="empty">No event with a stack in this window yet.</p>
          )}
        </div>
      )}
      <Events probe={probe} follow={follow} setFollow={setFollow} />
    </section>
  );
}

/** The latest events, newest first; while following, a long poll of GET /v1/events adds new ones. */
function Events(p: { probe: ProbeView; follow: boolean; setFollow: (f: boolean) => void }) {
  const [events, setEvents] = useState<readonly ProbeEventView[]>([]);
  const [error, setError] = useState<unknown>();
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    const stop = new AbortController();
    let after = 0;
    const add = (got: readonly ProbeEventView[]) => {
      if (got.length > 0) setEvents((old) => [...[...got].reverse(), ...old].slice(0, KEEP));
    };
    (async () => {
      try {
        const first = await probeEvents({ probe: p.probe.name, last: 50 }, stop.signal);
        setEvents([...first.events].reverse());
        setLoaded(true);
        after = first.next;
        while (p.follow && !stop.signal.aborted) {
          const next = await probeEvents(
            { probe: p.probe.name, after, waitMs: POLL_WAIT_MS, limit: 200 },
            stop.signal,
          );
          add(next.events);
          after = next.next;
          setError(undefined);
        }
      } catch (e) {
        if (!stop.signal.aborted) setError(e);
      }
    })();
    return () => stop.abort();
  }, [p.probe.name, p.probe.since, p.follow]);
  const columns = new Map(Object.entries(p.probe.captures).map(([c, e]) => [e, c]));
  return (
    <div class="events">
      <div class="row between">
        <h3>Latest events</h3>
        <label class="check">
          <input
            type="checkbox"
            checked={p.follow}
            onChange={(e) => p.setFollow((e.target as HTMLInputElement).checked)}
          />{' '}
          Follow new events
        </label>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {loaded && events.length === 0 && (
        <p class="empty">No event yet{p.follow ? ': new ones appear here as they come.' : '.'}</p>
      )}
      <ol class="event-list" aria-label={`Events of ${p.probe.name}, newest first`}>
        {events.map((e) => (
          <li key={e.seq} class="event">
            <div class="event-head">
              <span class="mono">{clock(e.timeUs)}</span>
              <span>{e.process}</span>
              <span class="muted">goroutine {e.goroutine}</span>
              <span class="muted">
                {e.site.kind} {e.site.file ? `${shortFile(e.site.file)}:${e.site.line}` : ''}
              </span>
              {e.durationNs !== undefined && <span class="chip">took {duration(e.durationNs)}</span>}
              {Object.entries(e.labels ?? {}).map(([k, v]) => (
                <span key={k} class="chip">
                  {k}={v}
                </span>
              ))}
            </div>
            <div class="event-values">
              {Object.entries(e.values).map(([expr, v]) => (
                <JsonTree key={expr} name={columns.get(expr) ?? expr} value={v as Json} open />
              ))}
              {Object.entries(e.errors ?? {}).map(([expr, why]) => (
                <div key={expr} class="j-line bad">
                  {columns.get(expr) ?? expr}: {why}
                </div>
              ))}
            </div>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** A time in µs since the epoch as local HH:MM:SS.mmm. */
function clock(us: number): string {
  const d = new Date(us / 1000);
  const pad = (x: number, n = 2) => String(x).padStart(n, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
