/**
 * Tables: the built-in, function and derived tables with their columns; a SQL editor with
 * completion of them; the result grid (sort, paging); CSV download; save as a derived table
 * (a new spec version).
 */
import type { ComponentType } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { QueryResponse, TableView } from '../../api/responses.js';
import type { QueryScope } from '../../store/store.js';
import { currentSpec, listSnapshots, putSpec, query, queryText, tables } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { ResultGrid } from '../components/result-grid.js';
import type { SqlEditorProps } from '../components/sql-editor.js';
import { useAsync } from '../components/use-async.js';
import { when } from '../format.js';
import { go } from '../router.js';
import type { Route } from '../routes.js';
import { theme } from '../theme.js';

type TablesRoute = Extract<Route, { view: 'tables' }>;

const KIND_TITLE = {
  'built-in': 'Built-in tables',
  function: 'Function tables',
  derived: 'Derived tables',
} as const;

let editorModule: Promise<ComponentType<SqlEditorProps>> | undefined;
function loadEditor(): Promise<ComponentType<SqlEditorProps>> {
  editorModule ??= import('../components/sql-editor.js').then((m) => m.SqlEditor);
  return editorModule;
}

/** The tables page. */
export function TablesView({ r }: { r: TablesRoute }) {
  const [sql, setSql] = useState(
    r.sql ??
      'SELECT status, wait_reason, count(*) AS goroutines\nFROM goroutines\nGROUP BY ALL\nORDER BY goroutines DESC',
  );
  const [scopeText, setScopeText] = useState(r.snapshot !== undefined ? String(r.snapshot) : 'latest');
  const [result, setResult] = useState<QueryResponse | undefined>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const [Editor, setEditor] = useState<ComponentType<SqlEditorProps> | undefined>();
  const [replace, setReplace] = useState({ text: sql, n: 0 });
  const current = useRef(sql);
  current.current = sql;
  /** Puts a query in the editor from outside (not typed there). */
  const load = (text: string) => {
    setSql(text);
    setReplace((x) => ({ text, n: x.n + 1 }));
  };
  const meta = useAsync(() => Promise.all([tables(r.snapshot), listSnapshots([], 1000)]), [r.snapshot]);
  useEffect(() => {
    loadEditor().then((E) => setEditor(() => E), setError);
  }, []);
  useEffect(() => {
    if (r.sql && r.sql !== current.current) load(r.sql);
  }, [r.sql]);
  const scope: QueryScope =
    scopeText === 'all'
      ? { all: true }
      : scopeText === 'latest'
        ? { latest: true }
        : { snapshot: Number(scopeText) };
  const schema = useMemo(
    () =>
      Object.fromEntries((meta.value?.[0].tables ?? []).map((t) => [t.name, t.columns.map((c) => c.name)])),
    [meta.value],
  );
  const run = async (text = sql) => {
    setRunning(true);
    setError(undefined);
    go({ view: 'tables', sql: text, ...('snapshot' in scope ? { snapshot: scope.snapshot } : {}) }, true);
    try {
      setResult(await query(text, scope));
    } catch (e) {
      setError(e);
      setResult(undefined);
    } finally {
      setRunning(false);
    }
  };
  useEffect(() => {
    if (r.sql) void run(r.sql);
  }, []);
  const download = async () => {
    try {
      const blob = await queryText(sql, scope, 'csv');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = 'periscope-query.csv';
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      setError(e);
    }
  };
  const byKind = (kind: TableView['kind']) => (meta.value?.[0].tables ?? []).filter((t) => t.kind === kind);
  return (
    <div class="page tables">
      <aside class="panel schema" aria-label="Tables">
        {meta.error !== undefined && <ErrorBox error={meta.error} />}
        {(['built-in', 'function', 'derived'] as const).map((kind) => (
          <section key={kind}>
            <h3>{KIND_TITLE[kind]}</h3>
            <ul>
              {byKind(kind).map((t) => (
                <li key={t.name}>
                  <details>
                    <summary>
                      <button
                        type="button"
                        class="link"
                        title={t.function ?? t.sql ?? `SELECT * FROM ${t.name}`}
                        onClick={() => {
                          const q = `SELECT * FROM ${t.name} LIMIT 100`;
                          load(q);
                          void run(q);
                        }}
                      >
                        {t.name}
                      </button>
                    </summary>
                    <ul class="cols">
                      {t.columns.map((c) => (
                        <li key={c.name}>
                          {c.name} <span class="muted">{c.type}</span>
                        </li>
                      ))}
                    </ul>
                  </details>
                </li>
              ))}
            </ul>
          </section>
        ))}
        {(meta.value?.[0].warnings.length ?? 0) > 0 && (
          <div class="error">
            {meta.value?.[0].warnings.map((w) => (
              <p key={w}>{w}</p>
            ))}
          </div>
        )}
      </aside>
      <section class="panel query" aria-label="SQL query">
        <div class="row">
          <label>
            Scope
            <select
              aria-label="Query scope"
              value={scopeText}
              onChange={(e) => setScopeText((e.target as HTMLSelectElement).value)}
            >
              <option value="latest">latest snapshot</option>
              <option value="all">all snapshots</option>
              {(meta.value?.[1].snapshots ?? []).map((s) => (
                <option key={s.snapshotId} value={s.snapshotId}>
                  snapshot {s.snapshotId} · {when(s.createdAt)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" class="primary" onClick={() => run()} disabled={running}>
            {running ? 'Running…' : 'Run'}
          </button>
          <span class="muted">Ctrl-Enter</span>
          <span class="spacer" />
          <button type="button" onClick={download}>
            Download CSV
          </button>
        </div>
        {Editor ? (
          <Editor
            value={sql}
            replace={replace}
            onChange={setSql}
            onRun={() => run()}
            schema={schema}
            dark={theme.value === 'dark'}
          />
        ) : (
          <textarea
            class="sql-fallback"
            aria-label="SQL query"
            value={sql}
            onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)}
          />
        )}
        {error !== undefined && <ErrorBox error={error} />}
        {result && result.warnings.length > 0 && (
          <div class="warn">
            {result.warnings.map((w) => (
              <p key={w}>{w}</p>
            ))}
          </div>
        )}
        {result && <ResultGrid result={result} />}
        <SaveDerived sql={sql} onSaved={() => meta.reload()} />
      </section>
    </div>
  );
}

/** "Save as derived table": the query becomes a derived table of a new spec version. */
function SaveDerived({ sql, onSaved }: { sql: string; onSaved: () => void }) {
  const [name, setName] = useState('');
  const [status, setStatus] = useState<{ ok: boolean; text: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setStatus(undefined);
    try {
      const [{ withDerivedTable }, spec] = await Promise.all([import('../spec-yaml.js'), currentSpec()]);
      const yaml = withDerivedTable(spec?.yaml ?? '', name.trim(), sql);
      const out = await putSpec(yaml, 'web');
      if (out.ok) {
        setStatus({
          ok: true,
          text: out.result.changed
            ? `Saved: spec version ${out.result.version} has the derived table ${name.trim()}.`
            : `The spec already had this derived table (version ${out.result.version}).`,
        });
        onSaved();
      } else setStatus({ ok: false, text: out.refused.error.message });
    } catch (err) {
      setStatus({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="row save" onSubmit={save} aria-label="Save as derived table">
      <label>
        Save as derived table
        <input
          name="derived-name"
          aria-label="Derived table name"
          placeholder="slow_requests"
          pattern="[A-Za-z_][A-Za-z0-9_]*"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
          required
        />
      </label>
      <button type="submit" disabled={busy || name.trim() === ''}>
        {busy ? 'Saving…' : 'Save'}
      </button>
      {status && (
        <p class={status.ok ? 'ok' : 'error'} role="status">
          {status.text}
        </p>
      )}
    </form>
  );
}
