/**
 * Standing investigations (docs/investigations.md): each with its owner, state, triggers in
 * words, firings against its limit and when it last fired; one opens on its own page.
 */
import { listInvestigations } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { ago, when } from '../format.js';
import { checkedDefinition, triggersText } from '../investigation-text.js';
import { go } from '../router.js';
import { type Route, routeUrl } from '../routes.js';
import { AddInvestigation } from './investigation-add.js';

type InvestigationsRoute = Extract<Route, { view: 'investigations' }>;

/** The list of investigations. */
export function InvestigationsView({ r }: { r: InvestigationsRoute }) {
  const data = useAsync(() => listInvestigations(r.closed), [r.closed]);
  const list = data.value?.investigations ?? [];
  return (
    <div class="page">
      <section class="panel" aria-labelledby="investigations-title">
        <div class="row between">
          <h2 id="investigations-title">Investigations</h2>
          <span class="row">
            <label class="check">
              <input
                type="checkbox"
                checked={r.closed}
                onChange={(e) => go({ ...r, closed: e.currentTarget.checked })}
              />
              Show closed ones
            </label>
            <button type="button" onClick={data.reload}>
              Refresh
            </button>
          </span>
        </div>
        {data.error !== undefined && <ErrorBox error={data.error} />}
        {data.value && list.length === 0 && (
          <p class="empty">
            No {r.closed ? '' : 'open '}investigation. Add one with{' '}
            <code>periscope investigation add NAME --every 5m --report NAME=SQL</code>{' '}
            (docs/investigations.md).
          </p>
        )}
        {list.length > 0 && (
          <table class="grid" aria-label="Investigations">
            <thead>
              <tr>
                <th>name</th>
                <th>owner</th>
                <th>state</th>
                <th>triggers</th>
                <th class="num">fires</th>
                <th>last fired</th>
              </tr>
            </thead>
            <tbody>
              {list.map((x) => (
                <tr key={x.id}>
                  <td>
                    <a href={routeUrl({ view: 'investigation', id: x.id })}>{x.name}</a>
                    {x.question && <div class="muted">{x.question}</div>}
                  </td>
                  <td>{x.owner}</td>
                  <td class="nowrap">
                    <span class={x.state === 'open' ? 'ok' : 'muted'}>{x.state}</span>
                    {x.lastProblem && <div class="bad">{x.lastProblem}</div>}
                  </td>
                  <td>{triggersText(x.definition)}</td>
                  <td class="num nowrap">
                    {x.fires}
                    {maxFires(x.definition)}
                  </td>
                  <td class="nowrap" title={when(x.lastFiredAt)}>
                    {x.lastFiredAt ? ago(x.lastFiredAt) : <span class="muted">never</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <AddInvestigation onAdded={data.reload} />
    </div>
  );
}

function maxFires(d: Parameters<typeof checkedDefinition>[0]): string {
  const max = checkedDefinition(d)?.maxFires;
  return max ? ` / ${max}` : '';
}
