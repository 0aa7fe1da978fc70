/**
 * One function's captures in the spec, and the form that adds one: checked live against the
 * fleet's binaries (`POST /v1/spec/check`, the check `PUT /v1/spec` runs) as it is typed, saved
 * as a new spec version. A variable picked in the function's lines (spec-lines.tsx) fills it.
 */
import { useEffect, useState } from 'preact/hooks';
import type { SpecCheckResponse } from '../../api/responses.js';
import { checkSpec, putSpec } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { capturesOf, withCapture } from '../spec-yaml.js';

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
  const [check, setCheck] = useState<{ text: string; out?: SpecCheckResponse; error?: unknown }>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setTable(existing[0]?.table ?? `${p.program}_${shortName(p.fn)}`);
    setSaved(undefined);
  }, [p.fn]);
  useEffect(() => {
    if (!p.pick) return;
    setColumn(columnName(p.pick.name));
    setExpr(p.pick.name);
    setSaved(undefined);
  }, [p.pick?.n]);
  const ready = column.trim() !== '' && expr.trim() !== '' && table.trim() !== '';
  const text = ready ? newText(p.yaml, { fn: p.fn, table, column, expr }) : undefined;
  // Live validation: the spec with this capture, checked against every binary the fleet has,
  // a moment after the last keystroke; answers to older texts are dropped.
  useEffect(() => {
    if (!text || text instanceof Error) return;
    let live = true;
    const t = setTimeout(() => {
      checkSpec(text, 'web').then(
        (out) => live && setCheck({ text, out }),
        (error: unknown) => live && setCheck({ text, error }),
      );
    }, 350);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [text instanceof Error ? text.message : text]);
  const current = check && check.text === text ? check : undefined;
  const save = async (e: Event) => {
    e.preventDefault();
    if (!text || text instanceof Error) return;
    setBusy(true);
    try {
      const out = await putSpec(text, 'web');
      if (out.ok) {
        setSaved(`Saved: spec version ${out.result.version} captures ${column} on ${p.fn}.`);
        setColumn('');
        setExpr('');
        p.onSaved();
      } else setSaved(out.refused.error.message);
    } catch (err) {
      setSaved((err as Error).message);
    } finally {
      setBusy(false);
    }
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
          <button
            type="submit"
            class="primary"
            disabled={busy || !ready || current?.out?.check.fits !== true}
          >
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
        <div role="status" aria-label="Check of the capture">
          {text instanceof Error && <p class="error">{text.message}</p>}
          {ready && !(text instanceof Error) && !current && (
            <p class="muted">Checking against the binaries…</p>
          )}
          {current?.error !== undefined && <ErrorBox error={current.error} />}
          {current?.out?.check.fits === true && (
            <p class="ok">
              Fits every checked binary (
              {current.out.check.binaries.filter((b) => b.status !== 'not-checked').length} checked).
            </p>
          )}
          {current?.out?.message && <pre class="error">{current.out.message}</pre>}
          {saved && <p class={saved.startsWith('Saved') ? 'ok' : 'error'}>{saved}</p>}
        </div>
      </form>
    </section>
  );
}

/** The spec with the capture, or the error saying why it cannot be added. */
function newText(yaml: string, c: Parameters<typeof withCapture>[1]): string | Error {
  try {
    return withCapture(yaml, {
      fn: c.fn,
      table: c.table.trim(),
      column: c.column.trim(),
      expr: c.expr.trim(),
    });
  } catch (e) {
    return e as Error;
  }
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
