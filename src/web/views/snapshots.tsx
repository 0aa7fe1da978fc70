/** Snapshots: the list with labels, searchable by label, time and program; taking a new one. */
import { useState } from 'preact/hooks';
import type { SnapshotInfo } from '../../api/responses.js';
import { listSnapshots, query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { count, when } from '../format.js';
import { go } from '../router.js';
import type { SnapshotSearch } from '../routes.js';
import { rowsOf } from '../sql.js';
import { TakeSnapshot } from './take-snapshot.js';

interface ProcessSummary {
  snapshot_id: number;
  programs: string[];
  failed: number;
}

async function load(search: SnapshotSearch) {
  const [list, procs] = await Promise.all([
    listSnapshots(search.label ? [search.label] : [], 1000),
    query(
      'SELECT snapshot_id, list(DISTINCT program ORDER BY program) FILTER (WHERE program IS NOT NULL) AS programs, ' +
        'count(*) FILTER (WHERE error IS NOT NULL) AS failed FROM processes GROUP BY snapshot_id',
      { all: true },
    ),
  ]);
  const byId = new Map(rowsOf<ProcessSummary>(procs).map((p) => [p.snapshot_id, p]));
  return { list, byId };
}

function matches(s: SnapshotInfo, search: SnapshotSearch, programs: readonly string[]): boolean {
  const t = new Date(s.createdAt).getTime();
  if (search.since && t < new Date(search.since).getTime()) return false;
  if (search.until && t > new Date(search.until).getTime()) return false;
  if (search.program && !programs.some((p) => p.includes(search.program ?? ''))) return false;
  return true;
}

/** The snapshots page. */
export function SnapshotsView({ search }: { search: SnapshotSearch }) {
  const data = useAsync(() => load(search), [search.label]);
  const [form, setForm] = useState(search);
  const [compare, setCompare] = useState<number[]>([]);
  const apply = (e: Event) => {
    e.preventDefault();
    go({ view: 'snapshots', search: Object.fromEntries(Object.entries(form).filter(([, v]) => v)) });
  };
  const rows = data.value
    ? data.value.list.snapshots.filter((s) =>
        matches(s, search, data.value?.byId.get(s.snapshotId)?.programs ?? []),
      )
    : [];
  const toggle = (id: number) =>
    setCompare((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id].slice(-2)));
  return (
    <div class="page">
      <TakeSnapshot onTaken={() => data.reload()} />
      <section class="panel" aria-labelledby="list-title">
        <div class="row between">
          <h2 id="list-title">Snapshots</h2>
          {compare.length === 2 && (
            <a class="button" href={`/diff?a=${Math.min(...compare)}&b=${Math.max(...compare)}`}>
              Compare {Math.min(...compare)} and {Math.max(...compare)}
            </a>
          )}
        </div>
        <form class="row" onSubmit={apply} aria-label="Search snapshots">
          <label>
            Labels
            <input
              aria-label="Label filter"
              placeholder="incident=42,env~prod.*"
              value={form.label ?? ''}
              onInput={(e) => setForm({ ...form, label: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Program
            <input
              aria-label="Program filter"
              placeholder="orders"
              value={form.program ?? ''}
              onInput={(e) => setForm({ ...form, program: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            From
            <input
              type="datetime-local"
              aria-label="Taken at or after"
              value={form.since ?? ''}
              onInput={(e) => setForm({ ...form, since: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            To
            <input
              type="datetime-local"
              aria-label="Taken at or before"
              value={form.until ?? ''}
              onInput={(e) => setForm({ ...form, until: (e.target as HTMLInputElement).value })}
            />
          </label>
          <button type="submit">Search</button>
        </form>
        {data.error !== undefined && <ErrorBox error={data.error} />}
        {data.value && (
          <p class="muted">
            {rows.length === data.value.list.total
              ? `${count(rows.length)} snapshots`
              : `${count(rows.length)} of ${count(data.value.list.total)} snapshots`}
          </p>
        )}
        <table class="grid" aria-label="Snapshots">
          <thead>
            <tr>
              <th>
                <span class="sr-only">compare</span>
              </th>
              <th class="num">id</th>
              <th>taken</th>
              <th>labels</th>
              <th>programs</th>
              <th class="num">processes</th>
              <th class="num">goroutines</th>
              <th class="num">spec</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const p = data.value?.byId.get(s.snapshotId);
              return (
                <tr key={s.snapshotId}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Compare snapshot ${s.snapshotId}`}
                      checked={compare.includes(s.snapshotId)}
                      onChange={() => toggle(s.snapshotId)}
                    />
                  </td>
                  <td class="num">
                    <a href={`/snapshots/${s.snapshotId}`}>{s.snapshotId}</a>
                  </td>
                  <td>{when(s.createdAt)}</td>
                  <td>
                    {Object.entries(s.labels).map(([k, v]) => (
                      <a
                        key={k}
                        class="chip"
                        href={`/snapshots?label=${encodeURIComponent(`${k}=${v}`)}`}
                        title="Show snapshots with this label"
                      >
                        {k}={v}
                      </a>
                    ))}
                  </td>
                  <td>{p?.programs.join(', ')}</td>
                  <td class="num">
                    {s.processes}
                    {p && p.failed > 0 && <span class="bad"> ({p.failed} failed)</span>}
                  </td>
                  <td class="num">{count(s.goroutines)}</td>
                  <td class="num">{s.specVersion ?? '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </div>
  );
}
