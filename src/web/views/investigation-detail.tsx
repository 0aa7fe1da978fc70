/**
 * One investigation: its question and notes, triggers, limits, report queries; its latest
 * firings (time, trigger, request, snapshot, webhook outcome) each with its report as grids;
 * closing it, after a confirmation.
 */
import { useState } from 'preact/hooks';
import type { FiringView, InvestigationView } from '../../api/investigation-views.js';
import { closeInvestigation, query, showInvestigation } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { ResultGrid } from '../components/result-grid.js';
import { useAsync } from '../components/use-async.js';
import { when } from '../format.js';
import {
  checkedDefinition,
  limitsText,
  type ReportRow,
  reportResults,
  reportSql,
  triggerText,
} from '../investigation-text.js';
import { type Route, routeUrl } from '../routes.js';
import { rowsOf } from '../sql.js';

type InvestigationRoute = Extract<Route, { view: 'investigation' }>;

/** The page of one investigation. */
export function InvestigationDetailView({ r }: { r: InvestigationRoute }) {
  const data = useAsync(async () => {
    const inv = await showInvestigation(r.id);
    const ids = (inv.firings ?? []).map((f) => f.id);
    const rows = ids.length ? rowsOf<ReportRow>(await query(reportSql(inv.id, ids), { all: true })) : [];
    return { inv, rows };
  }, [r.id]);
  const inv = data.value?.inv;
  return (
    <div class="page investigation">
      <p>
        <a href={routeUrl({ view: 'investigations', closed: false })}>← Investigations</a>
      </p>
      {data.error !== undefined && <ErrorBox error={data.error} />}
      {inv && <Definition inv={inv} onClosed={data.reload} />}
      {inv && (
        <section class="panel" aria-labelledby="firings-title">
          <div class="row between">
            <h2 id="firings-title">
              Firings{' '}
              <span class="muted">
                ({inv.fires} in all
                {inv.fires > (inv.firings?.length ?? 0) ? `, the latest ${inv.firings?.length}` : ''})
              </span>
            </h2>
            <button type="button" onClick={data.reload}>
              Refresh
            </button>
          </div>
          {(inv.firings ?? []).length === 0 ? (
            <p class="empty">It has not fired yet.</p>
          ) : (
            <FiringsTable firings={inv.firings ?? []} />
          )}
          {(inv.definition.report ?? []).length > 0 &&
            (inv.firings ?? []).map((f, i) => (
              <FiringReport key={f.id} firing={f} rows={data.value?.rows ?? []} open={i === 0} />
            ))}
        </section>
      )}
    </div>
  );
}

function Definition({ inv, onClosed }: { inv: InvestigationView; onClosed: () => void }) {
  const d = inv.definition;
  const limits = limitsText(checkedDefinition(d));
  return (
    <section class="panel" aria-labelledby="investigation-title">
      <div class="row between">
        <h2 id="investigation-title">
          Investigation {inv.name} <span class={inv.state === 'open' ? 'ok' : 'muted'}>({inv.state})</span>
        </h2>
        {inv.state === 'open' && <CloseButton inv={inv} onClosed={onClosed} />}
      </div>
      {inv.question && <p class="question">{inv.question}</p>}
      {inv.notes && <p class="muted">{inv.notes}</p>}
      <dl class="deflist">
        <dt>owner</dt>
        <dd>
          {inv.owner}, added {when(inv.createdAt)}
          {inv.closedAt && `; closed ${when(inv.closedAt)} by ${inv.closedBy ?? '?'}`}
        </dd>
        <dt>triggers</dt>
        <dd>
          <ul class="plain">
            {d.triggers.map((t, i) => (
              <li key={i}>{triggerText(t)}</li>
            ))}
          </ul>
        </dd>
        <dt>limits</dt>
        <dd>{limits || <span class="muted">none</span>}</dd>
        <dt>report</dt>
        <dd>
          {(d.report ?? []).length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <ul class="plain">
              {(d.report ?? []).map((q) => (
                <li key={q.name}>
                  <strong>{q.name}</strong>: <code>{q.sql}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
        {d.webhook && (
          <>
            <dt>webhook</dt>
            <dd>{d.webhook.url}</dd>
          </>
        )}
      </dl>
      {inv.lastProblem && <p class="bad">Last problem: {inv.lastProblem}</p>}
      {(inv.unresolved ?? []).map((u) => (
        <p key={`${u.probe}${u.agentId}${u.executable}`} class="warn">
          probe {u.probe} no longer resolves on {u.executable} (agent {u.agentId}): {u.error}
        </p>
      ))}
      {(inv.missingTraces ?? []).map((m) => (
        <p key={`${m.trigger}${m.trace}`} class="warn">
          {m.trigger} trigger: {m.text}
        </p>
      ))}
      {(inv.missingProbes ?? []).map((m) => (
        <p key={`probe${m.probe}`} class="warn">
          probe trigger: {m.text}
        </p>
      ))}
    </section>
  );
}

function CloseButton({ inv, onClosed }: { inv: InvestigationView; onClosed: () => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  if (!asking)
    return (
      <button type="button" onClick={() => setAsking(true)}>
        Close investigation
      </button>
    );
  const close = async () => {
    setBusy(true);
    try {
      await closeInvestigation(inv.id);
      setAsking(false);
      onClosed();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset class="confirm" aria-label="Confirm closing">
      <span>Close {inv.name}? It stops firing; its firings and reports stay.</span>{' '}
      <button type="button" class="danger" disabled={busy} onClick={close}>
        {busy ? 'Closing…' : `Yes, close ${inv.name}`}
      </button>{' '}
      <button type="button" disabled={busy} onClick={() => setAsking(false)}>
        Cancel
      </button>
      {error !== undefined && <ErrorBox error={error} />}
    </fieldset>
  );
}

function snapshotHref(f: FiringView): string | undefined {
  if (f.snapshotId === undefined) return undefined;
  return routeUrl({
    view: 'goroutines',
    snapshot: f.snapshotId,
    filters: f.process ? { process: f.process } : {},
    sort: 'count',
    ...(f.process && f.goroutine !== undefined ? { goroutine: `${f.process}:${f.goroutine}` } : {}),
  });
}

function FiringsTable({ firings }: { firings: readonly FiringView[] }) {
  // A schedule's firings come from no process and no request: no empty columns for them.
  const where = firings.some((f) => f.process);
  const requests = firings.some((f) => f.requestId);
  return (
    <table class="grid" aria-label="Firings">
      <thead>
        <tr>
          <th>fired</th>
          <th>trigger</th>
          {where && <th>where</th>}
          {requests && <th>request</th>}
          <th>snapshot</th>
          <th class="num">report rows</th>
          <th>webhook</th>
          <th>error</th>
        </tr>
      </thead>
      <tbody>
        {firings.map((f) => {
          const href = snapshotHref(f);
          return (
            <tr key={f.id} class={f.error ? 'failed' : ''}>
              <td class="nowrap">
                <a href={`#firing-${f.id}`}>{when(f.firedAt)}</a>
              </td>
              <td>{f.trigger}</td>
              {where && (
                <td class="nowrap">
                  {f.process ?? ''}
                  {f.goroutine !== undefined ? ` goroutine ${f.goroutine}` : ''}
                </td>
              )}
              {requests && (
                <td>
                  {f.requestId &&
                    (f.traceKept ? (
                      <a href={routeUrl({ view: 'trace', request: f.requestId })}>{f.requestId}</a>
                    ) : (
                      f.requestId
                    ))}
                </td>
              )}
              <td>
                {href ? (
                  <a href={href} aria-label={`Goroutines of snapshot ${f.snapshotId}`}>
                    snapshot {f.snapshotId}
                  </a>
                ) : (
                  <span class="muted">none</span>
                )}
              </td>
              <td class="num">{f.reportRows}</td>
              <td class={f.webhook && !/^2\d\d$/.test(f.webhook) ? 'bad' : ''}>
                {f.webhook ?? <span class="muted">none</span>}
              </td>
              <td class="bad">{f.error ?? ''}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** One firing's report, folded but for the latest firing's. */
function FiringReport(p: { firing: FiringView; rows: readonly ReportRow[]; open: boolean }) {
  const results = reportResults(p.rows, p.firing.id, p.firing.snapshotId);
  return (
    <details class="report" id={`firing-${p.firing.id}`} open={p.open}>
      <summary>
        Report of the firing at {when(p.firing.firedAt)}
        {p.firing.snapshotId !== undefined && <span class="muted"> · snapshot {p.firing.snapshotId}</span>}
        <span class="muted"> · {p.firing.reportRows} rows</span>
      </summary>
      {results.length === 0 && <p class="muted">No rows.</p>}
      {results.map((q) => (
        <div key={q.query} class="report-query">
          <h4>{q.query}</h4>
          {q.error ? (
            <p class="bad">{q.error}</p>
          ) : (
            <ResultGrid
              result={q.result}
              label={`Report ${q.query} of the firing at ${when(p.firing.firedAt)}`}
            />
          )}
        </div>
      ))}
    </details>
  );
}
