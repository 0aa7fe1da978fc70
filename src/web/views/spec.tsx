/**
 * The spec editor: pick a program and one of its binaries, search the functions seen in its
 * stacks, see what the spec captures on one, and add a capture, checked live against the
 * fleet's binaries (`POST /v1/spec/check`, the check `PUT /v1/spec` runs) before it is saved
 * as a new spec version. Below: the current spec text and its versions.
 */
import { useState } from 'preact/hooks';
import { checkSpec, currentSpec, query, specVersion, specVersions } from '../api.js';
import { CheckReport } from '../components/check-report.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { count, shortFile, when } from '../format.js';
import { go } from '../router.js';
import { type Route, routeUrl } from '../routes.js';
import { lit, rowsOf } from '../sql.js';
import { FunctionCaptures, type Pick } from './spec-captures.js';
import { DefineDerived } from './spec-derived.js';
import { FunctionLinesPanel } from './spec-lines.js';
import { DefineTablesAndLinks } from './spec-tables.js';

type SpecRoute = Extract<Route, { view: 'spec' }>;

/** Programs and their binaries in the stored snapshots. */
const BINARIES_SQL =
  'SELECT program, executable, build_id, count(DISTINCT snapshot_id) AS snapshots FROM processes GROUP BY ALL ORDER BY program, snapshots DESC';

/** Functions seen in the stacks of one binary (by build ID), matching a search. */
function functionsSql(buildId: string, search: string): string {
  return `SELECT f.function, any_value(f.file) AS file, count(*) AS frames FROM frames f
JOIN processes p USING (snapshot_id, process_id)
WHERE p.build_id = ${lit(buildId)} AND contains(lower(f.function), lower(${lit(search)}))
GROUP BY f.function ORDER BY (f.function LIKE 'main.%') DESC, f.function LIMIT 200`;
}

interface BinaryRow {
  readonly program: string;
  readonly executable: string;
  readonly build_id: string;
  readonly snapshots: number;
}

interface FunctionRow {
  readonly function: string;
  readonly file: string;
  readonly frames: number;
}

/** The spec page. */
export function SpecView({ r }: { r: SpecRoute }) {
  const bins = useAsync(async () => rowsOf<BinaryRow>(await query(BINARIES_SQL, { all: true })), []);
  const spec = useAsync(() => currentSpec(), []);
  const programs = [...new Set((bins.value ?? []).map((b) => b.program))];
  const program = r.program ?? programs[0];
  const ofProgram = (bins.value ?? []).filter((b) => b.program === program);
  const binary = ofProgram.find((b) => b.build_id === r.binary) ?? ofProgram[0];
  const [search, setSearch] = useState(r.fn ?? '');
  const fns = useAsync(
    async () =>
      binary ? rowsOf<FunctionRow>(await query(functionsSql(binary.build_id, search), { all: true })) : [],
    [binary?.build_id, search],
  );
  const [pick, setPick] = useState<Pick>();
  const set = (x: Partial<SpecRoute>) => go({ ...r, ...x }, true);
  return (
    <div class="page spec">
      <section class="panel" aria-labelledby="spec-pick">
        <h2 id="spec-pick">Program and binary</h2>
        {bins.error !== undefined && <ErrorBox error={bins.error} />}
        {bins.value?.length === 0 && (
          <p class="empty">No snapshot yet: take one to see the fleet's programs.</p>
        )}
        <div class="row">
          <label>
            Program
            <select
              value={program ?? ''}
              onChange={(e) => set({ program: (e.target as HTMLSelectElement).value, binary: undefined })}
            >
              {programs.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label>
            Binary
            <select
              value={binary?.build_id ?? ''}
              onChange={(e) => set({ binary: (e.target as HTMLSelectElement).value })}
            >
              {ofProgram.map((b) => (
                <option key={b.build_id} value={b.build_id}>
                  {b.executable} · build {b.build_id.slice(0, 12)}… · {count(b.snapshots)} snapshots
                </option>
              ))}
            </select>
          </label>
        </div>
      </section>
      <div class="split with-detail">
        <section class="panel" aria-labelledby="spec-fns">
          <h2 id="spec-fns">Functions</h2>
          <p class="muted">Seen in this binary's stacks in the stored snapshots.</p>
          <input
            type="search"
            aria-label="Search functions"
            placeholder="writeLedger"
            value={search}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          />
          {fns.error !== undefined && <ErrorBox error={fns.error} />}
          <ul class="fnlist" aria-label="Functions">
            {(fns.value ?? []).map((f) => (
              <li key={f.function}>
                <button
                  type="button"
                  class={`link${f.function === r.fn ? ' sel' : ''}`}
                  aria-current={f.function === r.fn}
                  onClick={() => set({ fn: f.function })}
                >
                  {f.function}
                </button>{' '}
                <span class="muted">{shortFile(f.file)}</span>
              </li>
            ))}
          </ul>
        </section>
        {r.fn && spec.value !== undefined ? (
          <FunctionCaptures
            fn={r.fn}
            program={program ?? 'app'}
            yaml={spec.value?.yaml ?? ''}
            onSaved={spec.reload}
            {...(pick ? { pick } : {})}
          />
        ) : (
          <section class="panel">
            <p class="empty">Pick a function to see and add its captures.</p>
          </section>
        )}
      </div>
      {r.fn && binary && (
        <FunctionLinesPanel
          buildId={binary.build_id}
          fn={r.fn}
          onPick={(name) => setPick({ name, n: (pick?.n ?? 0) + 1 })}
        />
      )}
      {spec.value && <FleetFit yaml={spec.value.yaml} version={spec.value.version} />}
      {spec.value !== undefined && <DefineDerived yaml={spec.value?.yaml ?? ''} onSaved={spec.reload} />}
      {spec.value !== undefined && (
        <DefineTablesAndLinks yaml={spec.value?.yaml ?? ''} onSaved={spec.reload} />
      )}
      <History r={r} current={spec.value?.version} />
    </div>
  );
}

/**
 * How the current spec fits each binary the fleet's agents can check: a newer build where a
 * function or field is gone shows here, with what no longer resolves.
 */
function FleetFit({ yaml, version }: { yaml: string; version: number }) {
  const check = useAsync(async () => ({ version, out: await checkSpec(yaml, 'web') }), [version]);
  // While a new version is checked, the old version's answer is not shown as this one's.
  const out = check.value?.version === version ? check.value.out : undefined;
  const misfits = out?.check.binaries.filter((b) => b.status === 'does-not-fit').length ?? 0;
  return (
    <section class="panel" aria-labelledby="spec-fit">
      <div class="row between">
        <h2 id="spec-fit">
          Spec version {version} on each binary{' '}
          {out && (
            <span class={misfits > 0 ? 'bad' : 'muted'}>
              (
              {misfits > 0 ? `${misfits} where something no longer resolves` : 'it fits every checked binary'}
              )
            </span>
          )}
        </h2>
        <button type="button" onClick={check.reload} disabled={check.loading}>
          {check.loading ? 'Checking…' : 'Check again'}
        </button>
      </div>
      {check.error !== undefined && <ErrorBox error={check.error} />}
      {out && <CheckReport check={out.check} label={`Spec version ${version} on each binary`} />}
    </section>
  );
}

/** The spec's versions, newest first; one picked shows its diff against the one before, else the current text. */
function History({ r, current }: { r: SpecRoute; current: number | undefined }) {
  const list = useAsync(() => specVersions(), [current]);
  const shown = r.version ?? current;
  const one = useAsync(async () => (shown !== undefined ? specVersion(shown) : undefined), [shown]);
  const versions = [...(list.value?.versions ?? [])].reverse();
  return (
    <section class="panel history" aria-labelledby="spec-text">
      <h2 id="spec-text">
        Spec versions {current !== undefined && <span class="muted">(current: {current})</span>}
      </h2>
      {(list.error ?? one.error) !== undefined && <ErrorBox error={list.error ?? one.error} />}
      <div class="history-body">
        <ol class="versions" aria-label="Spec versions">
          {versions.map((v) => (
            <li key={v.version}>
              <a
                href={routeUrl({ ...r, version: v.version })}
                aria-current={v.version === shown ? 'true' : undefined}
                class={v.version === shown ? 'sel' : ''}
              >
                version {v.version}
              </a>{' '}
              <span class="muted">
                {v.author} · {when(v.createdAt)}
              </span>
            </li>
          ))}
        </ol>
        {one.value && (
          <div class="version-text">
            <h3>
              Version {one.value.version}
              {one.value.version === current ? ' (current)' : ''}: {one.value.diff ? 'changes' : 'text'}
            </h3>
            {one.value.diff ? (
              <pre class="spec-yaml diff">
                {one.value.diff.split('\n').map((line, i) => (
                  <span
                    key={i}
                    class={
                      line.startsWith('+')
                        ? 'add'
                        : line.startsWith('-')
                          ? 'del'
                          : line.startsWith('@@')
                            ? 'hunk'
                            : ''
                    }
                  >
                    {line}
                    {'\n'}
                  </span>
                ))}
              </pre>
            ) : (
              <pre class="spec-yaml">{one.value.yaml}</pre>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
