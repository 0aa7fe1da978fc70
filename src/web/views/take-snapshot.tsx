/** "Take snapshot": a selector (or every process), labels, and the outcome per process, errors said plainly. */
import { useState } from 'preact/hooks';
import { snapshotRequestBody } from '../../api/requests.js';
import type { SnapshotTaken } from '../../api/responses.js';
import { takeSnapshot } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { ProcessResults } from '../components/process-results.js';
import { duration } from '../format.js';

/** Parses `k=v, k2=v2` into labels; throws a message naming the bad part. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`label "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The form and the last result. */
export function TakeSnapshot({ onTaken }: { onTaken: (t: SnapshotTaken) => void }) {
  const [select, setSelect] = useState('');
  const [all, setAll] = useState(true);
  const [labels, setLabels] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [taken, setTaken] = useState<SnapshotTaken | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = snapshotRequestBody({
        ...(all ? { all: true } : { select }),
        labels: parseLabels(labels),
      });
      const t = await takeSnapshot(body);
      setTaken(t);
      onTaken(t);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel take" aria-labelledby="take-title">
      <h2 id="take-title">Take a snapshot</h2>
      <form class="row" onSubmit={submit}>
        <label class="check">
          <input
            type="checkbox"
            checked={all}
            onChange={(e) => setAll((e.target as HTMLInputElement).checked)}
          />
          every process
        </label>
        <label>
          Selector
          <input
            name="select"
            aria-label="Process selector"
            placeholder="program=orders,hostname~web-.*"
            value={select}
            disabled={all}
            onInput={(e) => setSelect((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Labels
          <input
            name="labels"
            aria-label="Snapshot labels"
            placeholder="incident=42, note=slow checkout"
            value={labels}
            onInput={(e) => setLabels((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy || (!all && select.trim() === '')}>
          {busy ? 'Taking…' : 'Take snapshot'}
        </button>
      </form>
      {error !== undefined && <ErrorBox error={error} />}
      {taken && (
        <div class="taken" role="status">
          <p>
            Snapshot <a href={`/snapshots/${taken.snapshotId}`}>{taken.snapshotId}</a>:{' '}
            {taken.processes.filter((p) => p.ok).length} of {taken.processes.length} processes captured in{' '}
            {duration(taken.durationMs * 1e6)} (capture skew {duration(taken.captureSkewMs * 1e6)}).
          </p>
          <ProcessResults processes={taken.processes} />
        </div>
      )}
    </section>
  );
}
