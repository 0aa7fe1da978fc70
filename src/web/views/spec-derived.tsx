/** The Spec view's "define a derived table": a name and SQL, checked as typed (`POST /v1/spec/check`), saved as a new spec version. */
import { useState } from 'preact/hooks';
import { ErrorBox } from '../components/error-box.js';
import { withDerivedTable } from '../spec-yaml.js';
import { type Draft, draft, useSpecDraft } from './spec-draft.js';

/** The form; `onSaved` runs once a new version is stored. */
export function DefineDerived({ yaml, onSaved }: { yaml: string; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [sql, setSql] = useState('');
  const ready = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.trim()) && sql.trim() !== '';
  const text: Draft = ready ? draft(() => withDerivedTable(yaml, name.trim(), sql.trim())) : undefined;
  const { busy, current, saved, save: saveDraft } = useSpecDraft(text, onSaved);
  const sqlProblems = current?.out?.check.sql ?? [];
  const save = (e: Event) => {
    e.preventDefault();
    void saveDraft(`has the derived table ${name.trim()}`, () => {
      setName('');
      setSql('');
    });
  };
  return (
    <section class="panel" aria-labelledby="spec-derived">
      <h2 id="spec-derived">Define a derived table</h2>
      <p class="muted">
        A view over the other tables (SQL), in every snapshot from the next spec version on. The Tables view
        saves a query as one too.
      </p>
      <form class="capture-form" onSubmit={save} aria-label="Define a derived table">
        <div class="row">
          <label>
            Derived table
            <input
              value={name}
              placeholder="ledger_per_item"
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="wide">
            SQL
            <textarea
              class="mono"
              rows={3}
              value={sql}
              placeholder="SELECT item, count(*) AS writes FROM inventory_ledger_writes GROUP BY item"
              onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <button
            type="submit"
            class="primary"
            disabled={
              busy || typeof text !== 'string' || current?.out === undefined || sqlProblems.length > 0
            }
          >
            {busy ? 'Saving…' : 'Save table'}
          </button>
        </div>
        <div role="status" aria-label="Check of the derived table">
          {text instanceof Error && <p class="error">{text.message}</p>}
          {typeof text === 'string' && !current && <p class="muted">Checking…</p>}
          {current?.error !== undefined && <ErrorBox error={current.error} />}
          {current?.out && sqlProblems.length === 0 && <p class="ok">The spec's tables build with it.</p>}
          {sqlProblems.map((p) => (
            <pre key={p.text} class="error wrap">
              {p.text}
            </pre>
          ))}
          {saved && <p class={saved.ok ? 'ok' : 'error'}>{saved.text}</p>}
        </div>
      </form>
    </section>
  );
}
