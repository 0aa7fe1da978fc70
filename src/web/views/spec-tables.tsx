/**
 * The Spec view's "define a function table" and "define a link": each builds the spec with the
 * new entry in the user's own text, checks it as typed (`POST /v1/spec/check`, against every
 * binary of the fleet), and saves it as a new spec version.
 */
import { useEffect, useState } from 'preact/hooks';
import type { SpecCheckResponse } from '../../api/responses.js';
import { checkSpec, putSpec } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { captureLines } from '../probe-form.js';
import { withFunctionTable, withLink } from '../spec-yaml.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The new spec text, the error saying what to fix, or undefined while the form is incomplete. */
type Draft = string | Error | undefined;

/** The check of `text` a moment after the last keystroke (older answers dropped), and saving it. */
function useSpecDraft(text: Draft, onSaved: () => void) {
  const [check, setCheck] = useState<{ text: string; out?: SpecCheckResponse; error?: unknown }>();
  const [saved, setSaved] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
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
  }, [text instanceof Error ? text.message : text]);
  const current = check && check.text === text ? check : undefined;
  const save = async (what: string, reset: () => void) => {
    if (typeof text !== 'string') return;
    setBusy(true);
    try {
      const out = await putSpec(text, 'web');
      if (out.ok) {
        setSaved({ ok: true, text: `Saved: spec version ${out.result.version} has ${what}.` });
        reset();
        onSaved();
      } else setSaved({ ok: false, text: out.refused.error.message });
    } catch (err) {
      setSaved({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const canSave = !busy && typeof text === 'string' && current?.out?.check.fits === true;
  const status = (
    <>
      {text instanceof Error && <p class="error">{text.message}</p>}
      {typeof text === 'string' && !current && <p class="muted">Checking against the binaries…</p>}
      {current?.error !== undefined && <ErrorBox error={current.error} />}
      {current?.out?.check.fits === true && (
        <p class="ok">
          Fits every checked binary (
          {current.out.check.binaries.filter((b) => b.status !== 'not-checked').length} checked).
        </p>
      )}
      {current?.out?.message && <pre class="error wrap">{current.out.message}</pre>}
      {saved && <p class={saved.ok ? 'ok' : 'error'}>{saved.text}</p>}
    </>
  );
  return { busy, canSave, save, status };
}

function draft(make: () => string): Draft {
  try {
    return make();
  } catch (e) {
    return e as Error;
  }
}

/** The form adding a function table: a function, the table's name, one capture a line. */
export function DefineFunctionTable({ yaml, onSaved }: { yaml: string; onSaved: () => void }) {
  const [fn, setFn] = useState('');
  const [table, setTable] = useState('');
  const [columns, setColumns] = useState('');
  let text: Draft;
  if (fn.trim() !== '' && table.trim() !== '' && columns.trim() !== '') {
    const capture = captureLines(columns, 'Columns');
    if (capture instanceof Error) text = capture;
    else if (!NAME.test(table.trim()))
      text = new Error('Table: letters, digits and _, not starting with a digit.');
    else text = draft(() => withFunctionTable(yaml, { fn: fn.trim(), table: table.trim(), capture }));
  }
  const d = useSpecDraft(text, onSaved);
  const submit = (e: Event) => {
    e.preventDefault();
    void d.save(`the function table ${table.trim()}`, () => {
      setFn('');
      setTable('');
      setColumns('');
    });
  };
  return (
    <form class="capture-form" onSubmit={submit} aria-label="Define a function table">
      <h3>Define a function table</h3>
      <p class="muted">
        A row for each goroutine with the function on its stack, a column for each Go expression read on that
        frame (docs/spec.md).
      </p>
      <div class="row">
        <label class="wide">
          Function
          <input
            class="mono"
            value={fn}
            placeholder="main.(*Server).handle"
            onInput={(e) => setFn((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Function table
          <input
            value={table}
            placeholder="handle"
            onInput={(e) => setTable((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <div class="row">
        <label class="wide">
          Columns (one a line: COLUMN=EXPRESSION)
          <textarea
            class="mono"
            rows={3}
            value={columns}
            placeholder={'req_id=req.ID\npath=req.URL.Path'}
            onInput={(e) => setColumns((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        <button type="submit" class="primary" disabled={!d.canSave}>
          {d.busy ? 'Saving…' : 'Save function table'}
        </button>
      </div>
      <div role="status" aria-label="Check of the function table">
        {d.status}
      </div>
    </form>
  );
}

/** Column names from a comma- or space-separated list. */
function columnList(s: string): string[] {
  return s.split(/[\s,]+/).filter((c) => c !== '');
}

/** The form adding a link: rows of two tables whose listed columns are equal belong together. */
export function DefineLink({ yaml, onSaved }: { yaml: string; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [fromTable, setFromTable] = useState('');
  const [fromCols, setFromCols] = useState('');
  const [toTable, setToTable] = useState('');
  const [toCols, setToCols] = useState('');
  let text: Draft;
  const from = columnList(fromCols);
  const to = columnList(toCols);
  if ([name, fromTable, toTable].every((s) => s.trim() !== '') && from.length > 0 && to.length > 0) {
    const bad = [name, fromTable, toTable, ...from, ...to].find((s) => !NAME.test(s.trim()));
    if (bad !== undefined)
      text = new Error(`"${bad}": names are letters, digits and _, not starting with a digit.`);
    else if (from.length !== to.length)
      text = new Error(
        `From has ${from.length} columns and to has ${to.length}: they are compared in pairs.`,
      );
    else
      text = draft(() =>
        withLink(yaml, {
          name: name.trim(),
          from: { table: fromTable.trim(), columns: from },
          to: { table: toTable.trim(), columns: to },
        }),
      );
  }
  const d = useSpecDraft(text, onSaved);
  const submit = (e: Event) => {
    e.preventDefault();
    void d.save(`the link ${name.trim()}`, () => {
      setName('');
      setFromTable('');
      setFromCols('');
      setToTable('');
      setToCols('');
    });
  };
  const input = (label: string, value: string, set: (v: string) => void, placeholder: string) => (
    <label>
      {label}
      <input
        value={value}
        placeholder={placeholder}
        onInput={(e) => set((e.target as HTMLInputElement).value)}
      />
    </label>
  );
  return (
    <form class="capture-form" onSubmit={submit} aria-label="Define a link">
      <h3>Define a link</h3>
      <p class="muted">
        Rows of two tables whose columns are equal, pair by pair, belong together: a client call and the
        server goroutine serving it (docs/links.md).
      </p>
      <div class="row">
        {input('Link', name, setName, 'rpc')}
        {input('From table', fromTable, setFromTable, 'client_calls')}
        {input('From columns', fromCols, setFromCols, 'local, remote')}
        {input('To table', toTable, setToTable, 'server_handlers')}
        {input('To columns', toCols, setToCols, 'remote, local')}
        <button type="submit" class="primary" disabled={!d.canSave}>
          {d.busy ? 'Saving…' : 'Save link'}
        </button>
      </div>
      <div role="status" aria-label="Check of the link">
        {d.status}
      </div>
    </form>
  );
}

/** Both forms in one panel. */
export function DefineTablesAndLinks({ yaml, onSaved }: { yaml: string; onSaved: () => void }) {
  return (
    <section class="panel" aria-labelledby="spec-tables">
      <h2 id="spec-tables">Define function tables and links</h2>
      <DefineFunctionTable yaml={yaml} onSaved={onSaved} />
      <DefineLink yaml={yaml} onSaved={onSaved} />
    </section>
  );
}
