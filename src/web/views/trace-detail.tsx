/**
 * One kept request trace: start, end, outcome and error, the values at its start and end, its
 * events in time order with their values as collapsible JSON, and the goroutines it touched
 * (each linked to a snapshot taken while the request ran, when one holds it).
 */
import { query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { type Json, JsonTree } from '../components/json-tree.js';
import { useAsync } from '../components/use-async.js';
import { duration, shortFunction, when } from '../format.js';
import { type Route, routeUrl } from '../routes.js';
import { rowsOf } from '../sql.js';
import {
  type TraceEventRow,
  type TraceGoroutineRow,
  type TraceRow,
  traceEventsSql,
  traceGoroutinesSql,
  traceSql,
} from '../trace-sql.js';

type TraceRoute = Extract<Route, { view: 'trace' }>;

/** Milliseconds with microseconds of an ISO time (`…T10:00:00.123456Z`), for offsets within a request. */
function epochUs(iso: string): number {
  const m = /\.(\d+)Z$/.exec(iso);
  const frac = m ? (m[1] ?? '').padEnd(6, '0').slice(0, 6) : '000000';
  return Math.floor(Date.parse(iso) / 1000) * 1_000_000 + Number(frac);
}

/** The page of one kept trace. */
export function TraceDetailView({ r }: { r: TraceRoute }) {
  const data = useAsync(
    () =>
      Promise.all([
        query(traceSql(r.request), { all: true }).then((q) => rowsOf<TraceRow>(q)[0]),
        query(traceEventsSql(r.request), { all: true }).then((q) => rowsOf<TraceEventRow>(q)),
        query(traceGoroutinesSql(r.request), { all: true }).then((q) => rowsOf<TraceGoroutineRow>(q)),
      ]),
    [r.request],
  );
  const [t, events, goroutines] = data.value ?? [undefined, [], []];
  const t0 = events[0] ? epochUs(events[0].time) : 0;
  return (
    <div class="page trace">
      <p>
        <a href={routeUrl({ view: 'traces' })}>← Request traces</a>
      </p>
      {data.error !== undefined && <ErrorBox error={data.error} />}
      {data.value && !t && (
        <ErrorBox
          error={new Error(`No kept trace has the request id ${r.request} (retention may have removed it).`)}
        />
      )}
      {t && (
        <section class="panel" aria-labelledby="trace-title">
          <h2 id="trace-title">
            Trace {t.trace}{' '}
            <span class={t.outcome === 'error' || t.outcome === 'panic' ? 'bad' : 'warn'}>({t.outcome})</span>
          </h2>
          <dl class="deflist">
            <dt>request</dt>
            <dd>{t.request_id}</dd>
            <dt>ran</dt>
            <dd>
              {when(t.start_time)} → {when(t.end_time)} ({duration(t.duration_ms * 1e6)}) on {t.process_id}{' '}
              goroutine {t.goroutine_id}
            </dd>
            {t.error && (
              <>
                <dt>error</dt>
                <dd class="bad">{t.error}</dd>
              </>
            )}
            <dt>at start</dt>
            <dd>
              <JsonTree value={(t.start_values ?? {}) as Json} open />
            </dd>
            <dt>at end</dt>
            <dd>
              <JsonTree value={(t.end_values ?? {}) as Json} open />
            </dd>
            <dt>goroutines</dt>
            <dd>
              <ul class="plain inline" aria-label="Goroutines of the request">
                {goroutines.map((g) => (
                  <li key={g.goroutine_id}>
                    {g.snapshot_id !== null ? (
                      <a
                        href={routeUrl({
                          view: 'goroutines',
                          snapshot: g.snapshot_id,
                          filters: { process: t.process_id },
                          sort: 'count',
                          goroutine: `${t.process_id}:${g.goroutine_id}`,
                        })}
                        aria-label={`Goroutine ${g.goroutine_id} in snapshot ${g.snapshot_id}`}
                      >
                        {g.goroutine_id} (snapshot {g.snapshot_id})
                      </a>
                    ) : (
                      <span title="no snapshot was taken while the request ran">{g.goroutine_id}</span>
                    )}
                  </li>
                ))}
              </ul>
              {goroutines.some((g) => g.snapshot_id === null) && (
                <span class="muted">
                  {goroutines.every((g) => g.snapshot_id === null) ? '' : 'unlinked ones: '}in no snapshot
                  taken while the request ran
                </span>
              )}
            </dd>
          </dl>
        </section>
      )}
      {t && (
        <section class="panel" aria-labelledby="events-title">
          <h2 id="events-title">
            Events{' '}
            <span class="muted">
              ({events.length}
              {t.events_dropped > 0 ? `, ${t.events_dropped} not kept` : ''})
            </span>
          </h2>
          <table class="grid" aria-label="Trace events">
            <thead>
              <tr>
                <th class="num">at</th>
                <th>event</th>
                <th class="num">goroutine</th>
                <th>function</th>
                <th>values</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.seq}>
                  <td class="num nowrap" title={e.time}>
                    +{duration((epochUs(e.time) - t0) * 1000) || '0ns'}
                  </td>
                  <td>{e.probe}</td>
                  <td class="num">{e.goroutine_id}</td>
                  <td class="fname" title={e.function}>
                    {shortFunction(e.function)}
                  </td>
                  <td>
                    {e.captures && Object.keys(e.captures).length > 0 ? (
                      Object.entries(e.captures).map(([k, v]) => (
                        <JsonTree key={k} name={k} value={v as Json} />
                      ))
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
