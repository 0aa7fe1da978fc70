/** A spec check's per-binary report: which binaries the spec fits, and what no longer resolves in the others. */
import type { SpecCheckReport } from '../../api/responses.js';
import { count } from '../format.js';

/** The check's binaries as a table, with its SQL problems, missing functions and warnings below. */
export function CheckReport({ check, label }: { check: SpecCheckReport; label: string }) {
  return (
    <div class="check-report">
      <table class="grid compact" aria-label={label}>
        <thead>
          <tr>
            <th>binary</th>
            <th>Go</th>
            <th>hosts</th>
            <th class="num">processes</th>
            <th>fits</th>
            <th>what does not resolve</th>
          </tr>
        </thead>
        <tbody>
          {check.binaries.map((b) => (
            <tr key={`${b.buildId ?? ''}${b.executable}`}>
              <td class="mono nowrap" title={b.executable}>
                {b.executable.slice(b.executable.lastIndexOf('/') + 1)}
                {b.buildId && <div class="muted">build {b.buildId.slice(0, 12)}…</div>}
              </td>
              <td class="nowrap">{b.goVersion ?? ''}</td>
              <td>{b.hosts.join(', ')}</td>
              <td class="num">{count(b.processes)}</td>
              <td class="nowrap">
                {b.status === 'fits' ? (
                  <span class="ok">fits</span>
                ) : b.status === 'does-not-fit' ? (
                  <span class="bad">does not fit</span>
                ) : (
                  <span class="muted">not checked</span>
                )}
              </td>
              <td>
                {b.reason && <div class="muted">{b.reason}</div>}
                {b.problems.length > 0 && (
                  <ul class="problems">
                    {b.problems.map((x) => (
                      <li key={x.text} class="mono">
                        {x.text}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
          {check.binaries.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No binary to check: no agent reports a process of the spec's programs.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {[...check.sql.map((s) => s.text), ...check.functionsMissing.map((m) => m.text)].map((t) => (
        <p key={t} class="error mono">
          {t}
        </p>
      ))}
      {check.warnings.map((w) => (
        <p key={w} class="warn">
          {w}
        </p>
      ))}
    </div>
  );
}
