/** The Investigations view's "add an investigation" form: POST /v1/investigations, the server's refusal shown by it. */
import { useState } from 'preact/hooks';
import { addInvestigation } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { type InvestigationFormFields, investigationBody } from '../investigation-form.js';

const EMPTY: InvestigationFormFields = {
  name: '',
  question: '',
  trigger: 'schedule',
  every: '',
  select: '',
  probe: '',
  where: '',
  trace: '',
  over: '',
  snapshot: '',
  maxFires: '',
  minInterval: '',
  reports: '',
};

/** The form; `onAdded` runs once the server stored the investigation. */
export function AddInvestigation({ onAdded }: { onAdded: () => void }) {
  const [f, setF] = useState<InvestigationFormFields>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: string } | { error: unknown }>();
  const set = (k: keyof InvestigationFormFields) => (e: Event) =>
    setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const text = (k: keyof InvestigationFormFields, label: string, placeholder: string, cls = '') => (
    <label class={cls}>
      {label}
      <input value={f[k]} placeholder={placeholder} onInput={set(k)} />
    </label>
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = investigationBody(f);
    if (body instanceof Error) {
      setOutcome({ error: body });
      return;
    }
    setBusy(true);
    try {
      const added = await addInvestigation(body);
      setOutcome({ ok: `Added investigation ${added.name} (#${added.id}).` });
      setF(EMPTY);
      onAdded();
    } catch (err) {
      setOutcome({ error: err });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-labelledby="investigation-add">
      <h2 id="investigation-add">Add an investigation</h2>
      <form class="capture-form" onSubmit={submit} aria-label="Add an investigation">
        <div class="row">
          {text('name', 'Name', 'mutex-pileup')}
          {text('question', 'Question', 'why do requests pile up behind a mutex?', 'wide')}
        </div>
        <div class="row">
          <label>
            Trigger
            <select value={f.trigger} onChange={set('trigger')}>
              <option value="schedule">schedule: every N</option>
              <option value="probe">probe event</option>
              <option value="slow">slow request (trace)</option>
              <option value="error">failed request (trace)</option>
            </select>
          </label>
          {f.trigger === 'schedule' && text('every', 'Every', '5m')}
          {f.trigger === 'schedule' && text('select', 'Processes', 'all, or program=api')}
          {f.trigger === 'probe' && text('probe', 'Probe', 'place_order')}
          {f.trigger === 'probe' && text('where', 'Where', 'qty > 1000', 'wide')}
          {(f.trigger === 'slow' || f.trigger === 'error') && text('trace', 'Trace', 'checkout (empty: any)')}
          {f.trigger === 'slow' && text('over', 'Over', '2s')}
          <label>
            Snapshot
            <select value={f.snapshot} onChange={set('snapshot')}>
              <option value="">default</option>
              <option value="process">the process</option>
              <option value="program">its program</option>
              <option value="none">none</option>
            </select>
          </label>
          {text('maxFires', 'At most', 'firings')}
          {text('minInterval', 'Min interval', '30m')}
        </div>
        <div class="row">
          <label class="wide">
            Report (one query a line: NAME=SQL)
            <textarea
              class="mono"
              rows={2}
              value={f.reports}
              placeholder="waiters=SELECT top_function, count(*) AS n FROM goroutines GROUP BY 1 ORDER BY n DESC"
              onInput={set('reports')}
            />
          </label>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add investigation'}
          </button>
        </div>
        <div role="status" aria-label="Investigation added">
          {outcome && 'ok' in outcome && <p class="ok">{outcome.ok}</p>}
          {outcome && 'error' in outcome && <ErrorBox error={outcome.error} />}
        </div>
      </form>
    </section>
  );
}
