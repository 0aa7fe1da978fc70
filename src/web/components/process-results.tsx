/** The processes of a snapshot: captured (goroutines, pause) or why not, in plain words. */
import type { ProcessResult } from '../../api/responses.js';
import { count, duration } from '../format.js';

/** A table of per-process outcomes; failures first. */
export function ProcessResults({ processes }: { processes: readonly ProcessResult[] }) {
  const sorted = [...processes].sort((a, b) => Number(a.ok) - Number(b.ok) || a.key.localeCompare(b.key));
  return (
    <table class="grid compact">
      <thead>
        <tr>
          <th>process</th>
          <th>program</th>
          <th>outcome</th>
          <th class="num">goroutines</th>
          <th class="num">pause</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((p) => (
          <tr key={p.key} class={p.ok ? '' : 'failed'}>
            <td>
              {p.hostname}:{p.pid}
            </td>
            <td>{p.program ?? p.executable.split('/').pop()}</td>
            <td>
              {p.ok ? (
                <span class="ok">
                  captured{p.captureErrors ? ` (${p.captureErrors} spec entries did not fit)` : ''}
                </span>
              ) : (
                <span class="bad">
                  <b>{p.error?.kind}</b> {p.error?.message}
                </span>
              )}
            </td>
            <td class="num">{count(p.goroutines)}</td>
            <td class="num">{p.pauseNs !== undefined ? duration(p.pauseNs) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
