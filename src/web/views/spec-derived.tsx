/** The Spec view's "define a derived table": a name and SQL, checked as typed (`POST /v1/spec/check`), saved as a new spec version. */
import { useEffect, useState } from 'preact/hooks';
import type { SpecCheckResponse } from '../../api/responses.js';
import { checkSpec, putSpec } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { withDerivedTable } from '../spec-yaml.js';

/** The form; `onSaved` runs once a new version is stored. */
export function DefineDerived({ yaml, onSaved }: { yaml: string; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [sql, setSql] = useState('');
  const [check, setCheck] = useState<{ text: string; out?: SpecCheckResponse; error?: unknown }>();
  const [saved, setSaved] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  const ready = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.trim()) && sql.trim() !== '';
  let text: string | Error | undefined;
  try {
    text = ready ? withDerivedTable(yaml, name.trim(), sql.trim()) : undefined;
  } catch (e) {
    text = e as Error;
  }
  const key = text instanceof Error ? text.message : text;
  // Checked a moment after the last keystroke, as the captures are; older answers are dropped.
  useEffect(() => {
    if (typeof text !== 'string') return;
    const t0 = text;
    let live = true;
    const t = setTimeout(() => {
      checkSpec(t0, 'web').then(
        (out) => live && setCheck({ text: t0, out }),
        (error: unknown) => live && setCheck({ text: t0, error }),
      );
    }, 350);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [key]);
  const current = check && check.text === text ? check : undefined;
  const sqlProblems = current?.out?.check.sql ?? [];
  const save = async (e: Event) => {
    e.preventDefault();
    if (typeof text !== 'string') return;
    setBusy(true);
    try {
      const out = await putSpec(text, 'web');
      if (out.ok) {
        setSaved({
          ok: true,
          text: `Saved: spec version ${out.result.version} has the derived table ${name.trim()}.`,
        });
        setName('');
        setSql('');
        onSaved();
      } else setSaved({ ok: false, text: out.refused.error.message });
    } catch (err) {
      setSaved({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
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
