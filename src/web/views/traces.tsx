/**
 * Kept request traces (docs/traces.md), newest first: each with its outcome, duration, the
 * values its start captured and its error; filtered by trace and outcome (in the URL).
 */
import { query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { count, duration, when } from '../format.js';
import { go } from '../router.js';
import { type Route, routeUrl, TRACE_OUTCOMES } from '../routes.js';
import { rowsOf } from '../sql.js';
import {
  TRACE_LIST_LIMIT,
  type TraceCountsRow,
  type TraceRow,
  traceCountsSql,
  traceNamesSql,
  tracesSql,
} from '../trace-sql.js';

type TracesRoute = Extract<Route, { view: 'traces' }>;

/** Values as short `k=v` text. */
export function valuesText(v: Readonly<Record<string, unknown>> | null): string {
  return Object.entries(v ?? {})
    .map(([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)
    .join(' ');
}

/** The list of kept traces. */
export function TracesView({ r }: { r: TracesRoute }) {
  const data = useAsync(
    () =>
      Promise.all([
        query(tracesSql(r), { all: true }).then((q) => rowsOf<TraceRow>(q)),
        query(traceNamesSql(), { all: true }).then((q) => rowsOf<{ trace: string }>(q).map((t) => t.trace)),
        query(traceCountsSql(), { all: true }).then((q) => rowsOf<TraceCountsRow>(q)),
      ]),
    [r.trace, r.outcome],
  );
  const [list, names, counts] = data.value ?? [[], [], []];
  return (
    <div class="page">
      <section class="panel" aria-labelledby="traces-title">
        <div class="row between">
          <h2 id="traces-title">Request traces</h2>
          <button type="button" onClick={data.reload}>
            Refresh
          </button>
        </div>
        <div class="row trace-filters">
          <label>
            Trace{' '}
            <select
              aria-label="Trace"
              value={r.trace ?? ''}
              onChange={(e) => go({ ...r, trace: e.currentTarget.value || undefined })}
            >
              <option value="">any</option>
              {[...new Set([...names, ...(r.trace ? [r.trace] : [])])].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label>
            Outcome{' '}
            <select
              aria-label="Outcome"
              value={r.outcome ?? ''}
              onChange={(e) => go({ ...r, outcome: e.currentTarget.value || undefined })}
            >
              <option value="">any</option>
              {TRACE_OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          {data.value && (
            <span class="muted">
              {count(list.length)} trace{list.length === 1 ? '' : 's'}
              {list.length >= TRACE_LIST_LIMIT ? ' (the latest)' : ''}
            </span>
          )}
        </div>
        {data.error !== undefined && <ErrorBox error={data.error} />}
        {data.value && list.length === 0 && (
          <p class="empty">
            No kept trace{r.trace || r.outcome ? ' matches' : ' yet'}. A spec's <code>traces:</code> section
            keeps the requests that fail or are slow (docs/traces.md).
          </p>
        )}
        {list.length > 0 && (
          <table class="grid" aria-label="Kept traces">
            <thead>
              <tr>
                <th>ended</th>
                <th>trace</th>
                <th>outcome</th>
                <th class="num">duration</th>
                <th>start values</th>
                <th>error</th>
                <th>process</th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.request_id} class={t.outcome === 'error' || t.outcome === 'panic' ? 'failed' : ''}>
                  <td class="nowrap">
                    <a
                      href={routeUrl({ view: 'trace', request: t.request_id })}
                      aria-label={`Trace ${t.trace} ended ${when(t.end_time)}`}
                    >
                      {when(t.end_time)}
                    </a>
                  </td>
                  <td>{t.trace}</td>
                  <td class={t.outcome === 'error' || t.outcome === 'panic' ? 'bad' : ''}>{t.outcome}</td>
                  <td class="num nowrap">{duration(t.duration_ms * 1e6)}</td>
                  <td class="values">{valuesText(t.start_values)}</td>
                  <td class="bad">{t.error ?? ''}</td>
                  <td class="nowrap muted">{t.process_id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {counts.length > 0 && <TraceCounts counts={counts} />}
    </div>
  );
}

/** Per trace, what the agents did with its requests in the last hour (`trace_counts`). */
function TraceCounts({ counts }: { counts: readonly TraceCountsRow[] }) {
  const cols: [keyof TraceCountsRow, string, string][] = [
    ['requests', 'requests', 'requests that ended'],
    ['kept', 'kept', 'kept by the keep rule and sent'],
    ['dropped', 'dropped', 'the keep rule did not keep them (only counted)'],
    ['over_rate', 'over rate', 'kept by the rule, over keptPerSecond'],
    ['over_memory', 'over memory', 'not recorded: the trace held more than 7/8 of its memory'],
    ['events_dropped', 'events dropped', 'events over eventsPerTrace'],
    ['unfinished', 'unfinished', 'no end seen (a panic past the function, or older than 10 minutes)'],
  ];
  return (
    <section class="panel" aria-labelledby="trace-counts-title">
      <h2 id="trace-counts-title">What each trace kept and dropped in the last hour</h2>
      <table class="grid compact" aria-label="Trace counts of the last hour">
        <thead>
          <tr>
            <th>trace</th>
            {cols.map(([k, label, title]) => (
              <th key={k} class="num" title={title}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {counts.map((c) => (
            <tr key={c.trace}>
              <td>{c.trace}</td>
              {cols.map(([k]) => (
                <td
                  key={k}
                  class={`num${!['requests', 'kept', 'dropped'].includes(k) && Number(c[k]) > 0 ? ' bad' : ''}`}
                >
                  {count(Number(c[k]))}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
