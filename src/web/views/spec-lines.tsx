/**
 * A function's source lines with the variables live at each (GET /v1/spec/function: an agent
 * reads the binary's line table and DWARF scopes and locations; the server adds the text of
 * the lines when it can read the file). A variable clicked is offered as a capture.
 */
import { describeFunction } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';

/** The lines panel of one function of one binary. */
export function FunctionLinesPanel(p: { buildId: string; fn: string; onPick: (name: string) => void }) {
  const d = useAsync(() => describeFunction(p.buildId, p.fn), [p.buildId, p.fn]);
  const v = d.value;
  const source = v?.source;
  // With the source, every line of the function shows (blank and comment lines too), else only
  // the lines with statements.
  const first = v ? Math.min(v.declLine ?? Number.POSITIVE_INFINITY, v.lines[0]?.line ?? 0) : 0;
  const last = v?.lines[v.lines.length - 1]?.line ?? 0;
  const byLine = new Map((v?.lines ?? []).map((l) => [l.line, l]));
  const numbers = source
    ? Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i)
    : (v?.lines ?? []).map((l) => l.line);
  return (
    <section class="panel fn-lines" aria-labelledby="spec-lines">
      <h2 id="spec-lines">Lines and live variables</h2>
      {d.loading && <p class="muted">Asking an agent that has this binary…</p>}
      {d.error !== undefined && <ErrorBox error={d.error} />}
      {v && (
        <>
          <p class="muted">
            <span class="mono">{v.file}</span> · read by agent {v.agentId}
            {source ? '' : ' · the source file is not readable on the server, so only line numbers show'}.
            Click a variable to capture it.
          </p>
          <div class="lines-scroll">
            <table class="grid compact lines" aria-label={`Lines of ${v.function}`}>
              <thead>
                <tr>
                  <th class="num">line</th>
                  {source && <th>source</th>}
                  <th>live variables</th>
                </tr>
              </thead>
              <tbody>
                {numbers.map((n) => {
                  const l = byLine.get(n);
                  return (
                    <tr key={n} class={l ? '' : 'nostmt'}>
                      <td class="num">{n}</td>
                      {source && (
                        <td class="src-cell">
                          <code class="src">{source[n] ?? ''}</code>
                        </td>
                      )}
                      <td class="vars">
                        {(l?.variables ?? []).map((x) => (
                          <button
                            type="button"
                            key={x.name}
                            class={`chip${x.parameter ? ' param' : ''}`}
                            aria-label={`Capture ${x.name} (${x.type}) at line ${n}`}
                            title={`${x.parameter ? 'parameter' : 'local'} ${x.name} ${x.type}`}
                            onClick={() => p.onPick(x.name)}
                          >
                            {x.name}
                            <span class="muted"> {x.type}</span>
                          </button>
                        ))}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {v.unavailable.length > 0 && (
            <p class="muted">Optimized away (live at no statement): {v.unavailable.join(', ')}</p>
          )}
        </>
      )}
    </section>
  );
}
