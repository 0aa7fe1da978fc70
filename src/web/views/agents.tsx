/** Agents and processes: what is monitored, with labels and health. */
import { agents, processes } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { ago, when } from '../format.js';

/** The agents page. */
export function AgentsView() {
  const data = useAsync(() => Promise.all([agents(), processes()]), []);
  const [a, p] = data.value ?? [];
  return (
    <div class="page">
      {data.error !== undefined && <ErrorBox error={data.error} />}
      <section class="panel" aria-labelledby="agents-title">
        <div class="row between">
          <h2 id="agents-title">Agents</h2>
          <button type="button" onClick={data.reload}>
            Refresh
          </button>
        </div>
        <table class="grid" aria-label="Agents">
          <thead>
            <tr>
              <th>agent</th>
              <th>host</th>
              <th>state</th>
              <th>since</th>
              <th>last heard</th>
              <th class="num">processes</th>
              <th>version</th>
            </tr>
          </thead>
          <tbody>
            {(a?.agents ?? []).map((x) => (
              <tr key={`${x.id}${x.instance ?? ''}`}>
                <td>{x.id}</td>
                <td>{x.hostname}</td>
                <td>
                  <span class={`health h-${x.state}`}>{x.state}</span>
                  {x.refusal && <div class="bad">{x.refusal}</div>}
                </td>
                <td title={x.connectedAt}>{when(x.connectedAt)}</td>
                <td title={x.lastSeen}>
                  {x.unresponsiveSince ? `silent since ${when(x.unresponsiveSince)}` : ago(x.lastSeen)}
                </td>
                <td class="num">{x.processes}</td>
                <td>{x.version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="panel" aria-labelledby="procs-title">
        <h2 id="procs-title">Monitored processes</h2>
        <table class="grid" aria-label="Monitored processes">
          <thead>
            <tr>
              <th>process</th>
              <th>programs</th>
              <th>executable</th>
              <th>agent</th>
              <th>labels</th>
            </tr>
          </thead>
          <tbody>
            {(p?.processes ?? []).map((x) => (
              <tr key={`${x.agentId}:${x.pid}`}>
                <td>
                  {x.hostname}:{x.pid}
                </td>
                <td>{x.programs.join(', ')}</td>
                <td class="mono nowrap" title={x.executable}>
                  {x.executable.slice(x.executable.lastIndexOf('/') + 1)}
                </td>
                <td class="nowrap">{x.agentId}</td>
                <td>
                  {x.goVersion && !('go_version' in x.labels) && <span class="chip">{x.goVersion}</span>}
                  {Object.entries(x.labels)
                    .filter(([k]) => k !== 'hostname' && k !== 'pid' && k !== 'executable')
                    .map(([k, v]) => (
                      <span key={k} class="chip">
                        {k}={v}
                      </span>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
