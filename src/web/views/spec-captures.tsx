/**
 * One function's captures in the spec, and the form that adds one: checked live against the
 * fleet's binaries (`POST /v1/spec/check`, the check `PUT /v1/spec` runs) as it is typed, saved
 * as a new spec version (both through spec-draft.tsx, as the Spec view's other forms). A
 * variable picked in the function's lines (spec-lines.tsx) fills it.
 */
import { useEffect, useState } from 'preact/hooks';
import { capturesOf, withCapture } from '../spec-yaml.js';
import { type Draft, draft, useSpecDraft } from './spec-draft.js';

/** A variable picked to capture; `n` counts picks, so picking the same one again refills the form. */
export interface Pick {
  readonly name: string;
  readonly n: number;
}

/** One function's captures in the spec, and the form that adds one (checked as it is typed). */
export function FunctionCaptures(p: {
  fn: string;
  program: string;
  yaml: string;
  onSaved: () => void;
  pick?: Pick;
}) {
  const existing = capturesOf(p.yaml, p.fn);
  const [table, setTable] = useState(existing[0]?.table ?? `${p.program}_${shortName(p.fn)}`);
  const [column, setColumn] = useState('');
  const [expr, setExpr] = useState('');
  const ready = column.trim() !== '' && expr.trim() !== '' && table.trim() !== '';
  const text: Draft = ready ? draft(() => newText(p.yaml, { fn: p.fn, table, column, expr })) : undefined;
  const d = useSpecDraft(text, p.onSaved);
  useEffect(() => {
    setTable(existing[0]?.table ?? `${p.program}_${shortName(p.fn)}`);
    d.forget();
  }, [p.fn]);
  useEffect(() => {
    if (!p.pick) return;
    setColumn(columnName(p.pick.name));
    setExpr(p.pick.name);
    d.forget();
  }, [p.pick?.n]);
  const save = (e: Event) => {
    e.preventDefault();
    void d.save(`captures ${column.trim()} on ${p.fn}`, () => {
      setColumn('');
      setExpr('');
    });
  };
  return (
    <section class="panel" aria-labelledby="spec-fn">
      <h2 id="spec-fn" class="fname">
        {p.fn}
      </h2>
      <table class="grid compact" aria-label="Captures of this function">
        <thead>
          <tr>
            <th>table</th>
            <th>column</th>
            <th>expression</th>
          </tr>
        </thead>
        <tbody>
          {existing.map((c) => (
            <tr key={`${c.table}.${c.column}`}>
              <td>{c.table}</td>
              <td>{c.column}</td>
              <td>
                <code>{c.expr}</code>
              </td>
            </tr>
          ))}
          {existing.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">
                The spec captures nothing on this function yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <form class="capture-form" onSubmit={save} aria-label="Add a capture">
        <h3>Add a capture</h3>
        <div class="row">
          <label>
            Table
            <input value={table} onInput={(e) => setTable((e.target as HTMLInputElement).value)} required />
          </label>
          <label>
            Column
            <input
              value={column}
              placeholder="request_id"
              onInput={(e) => setColumn((e.target as HTMLInputElement).value)}
              required
            />
          </label>
          <label class="wide">
            Expression
            <input
              class="mono"
              value={expr}
              placeholder="req.RequestID"
              onInput={(e) => setExpr((e.target as HTMLInputElement).value)}
              required
            />
          </label>
          <button type="submit" class="primary" disabled={!d.canSave}>
            {d.busy ? 'Saving…' : 'Save'}
          </button>
        </div>
        <div role="status" aria-label="Check of the capture">
          {d.status}
        </div>
      </form>
    </section>
  );
}

/** The spec with the capture (throws, saying why, when it cannot be added). */
function newText(yaml: string, c: Parameters<typeof withCapture>[1]): string {
  return withCapture(yaml, {
    fn: c.fn,
    table: c.table.trim(),
    column: c.column.trim(),
    expr: c.expr.trim(),
  });
}

/** A table-name-like short name of a function (`main.(*s).writeLedger` → `writeledger`). */
function shortName(fn: string): string {
  const last = fn.slice(fn.lastIndexOf('.') + 1);
  return last.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase() || 'values';
}

/** A column name for a variable (`r.ctx` → `r_ctx`). */
function columnName(v: string): string {
  return v.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase() || 'value';
}
