/**
 * The Spec view's "define a function table" and "define a link": each builds the spec with the
 * new entry in the user's own text, checks it as typed (`POST /v1/spec/check`, against every
 * binary of the fleet), and saves it as a new spec version.
 */
import { useState } from 'preact/hooks';
import { captureLines } from '../probe-form.js';
import { withFunctionTable, withLink } from '../spec-yaml.js';
import { type Draft, draft, useSpecDraft } from './spec-draft.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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
    void d.save(`has the function table ${table.trim()}`, () => {
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
    void d.save(`has the link ${name.trim()}`, () => {
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
