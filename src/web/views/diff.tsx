/**
 * Diff of two snapshots: goroutines new in the second, gone from the first, and still blocked
 * at the same place (same process, goroutine and stack) with how long. Matching runs in the
 * database over both snapshots (scope: all).
 */
import { listSnapshots, query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { useAsync } from '../components/use-async.js';
import { count, duration, shortFile, when } from '../format.js';
import { go } from '../router.js';
import type { Route } from '../routes.js';
import { routeUrl } from '../routes.js';
import { rowsOf } from '../sql.js';

type DiffRoute = Extract<Route, { view: 'diff' }>;

interface DiffRow {
  kind: 'new' | 'gone' | 'still';
  stack_id: string;
  goroutines: number;
  function: string | null;
  file: string | null;
  line: number | null;
  /** The innermost function, when another than `function` (where the goroutines are parked). */
  parked: string | null;
  longest_wait_ns: number | null;
  /** Time between the two snapshots. */
  between_ns: number;
  example: string;
}

/**
 * True for a frame outside the program's own code (Go's standard library: the first element
 * of its package path has no dot and is not main); as views/goroutines.tsx names groups.
 */
const NOT_OWN_CODE = `(CASE WHEN contains(function, '/') THEN split_part(function, '/', 1) ELSE split_part(function, '.', 1) END) NOT LIKE '%.%'
    AND NOT starts_with(function, 'main.')`;

/** SQL of the diff between snapshots a (older) and b (newer), by stack group. */
export function diffSql(a: number, b: number): string {
  return `WITH ga AS (SELECT process_id, goroutine_id, stack_id, wait_ns FROM goroutines WHERE snapshot_id = ${a}),
gb AS (SELECT process_id, goroutine_id, stack_id, wait_ns, status FROM goroutines WHERE snapshot_id = ${b}),
d AS (
  SELECT CASE WHEN ga.goroutine_id IS NULL THEN 'new' WHEN gb.goroutine_id IS NULL THEN 'gone'
              WHEN ga.stack_id = gb.stack_id AND gb.status = 'waiting' THEN 'still' ELSE 'moved' END AS kind,
         coalesce(gb.stack_id, ga.stack_id) AS stack_id, coalesce(gb.process_id, ga.process_id) AS process_id,
         coalesce(gb.goroutine_id, ga.goroutine_id) AS goroutine_id, coalesce(gb.wait_ns, ga.wait_ns) AS wait_ns,
         CASE WHEN ga.goroutine_id IS NULL THEN ${b} ELSE ${a} END AS in_snapshot
  FROM ga FULL JOIN gb USING (process_id, goroutine_id)
)
SELECT d.kind, d.stack_id, count(*) AS goroutines, max(d.wait_ns) AS longest_wait_ns,
       (SELECT epoch_ns(max(created_at)) - epoch_ns(min(created_at)) FROM snapshots WHERE snapshot_id IN (${a}, ${b})) AS between_ns,
       arg_max(d.process_id || ':' || d.goroutine_id, coalesce(d.wait_ns, -1)) AS example,
       any_value(s.function) AS function, any_value(s.file) AS file, any_value(s.line) AS line,
       nullif(any_value(p.parked), any_value(s.function)) AS parked
FROM d LEFT JOIN (SELECT DISTINCT ON (stack_id) stack_id, function, file, line FROM stacks WHERE NOT hidden
                  ORDER BY stack_id, ${NOT_OWN_CODE}, (function LIKE 'runtime.%' OR function LIKE 'internal/%'), depth) s
  USING (stack_id)
  LEFT JOIN (SELECT stack_id, arg_min(function, depth) AS parked FROM stacks WHERE NOT hidden GROUP BY stack_id) p
  USING (stack_id)
WHERE d.kind <> 'moved'
GROUP BY d.kind, d.stack_id ORDER BY d.kind, goroutines DESC, longest_wait_ns DESC NULLS LAST LIMIT 3000`;
}

const TITLES = {
  new: 'New in the second snapshot',
  gone: 'Gone since the first snapshot',
  still: 'Still blocked at the same place',
} as const;

/** The diff page. */
export function DiffView({ r }: { r: DiffRoute }) {
  const list = useAsync(() => listSnapshots([], 1000), []);
  const snaps = list.value?.snapshots ?? [];
  const a = r.a ?? snaps[1]?.snapshotId;
  const b = r.b ?? snaps[0]?.snapshotId;
  const data = useAsync(
    async () => (a && b ? rowsOf<DiffRow>(await query(diffSql(a, b), { all: true })) : []),
    [a, b],
  );
  /** Snapshots of the URL that do not exist (the diff would show everything as gone or new). */
  const missing = list.value
    ? [a, b].filter((x) => x !== undefined && !snaps.some((s) => s.snapshotId === x))
    : [];
  const pick = (which: 'a' | 'b', v: string) => go({ ...r, a, b, [which]: Number(v) });
  return (
    <div class="page">
      <section class="panel" aria-labelledby="diff-title">
        <h2 id="diff-title">Compare two snapshots</h2>
        <div class="row">
          {(['a', 'b'] as const).map((w) => (
            <label key={w}>
              {w === 'a' ? 'First' : 'Second'}
              <select
                aria-label={w === 'a' ? 'First snapshot' : 'Second snapshot'}
                value={String(w === 'a' ? a : b)}
                onChange={(e) => pick(w, (e.target as HTMLSelectElement).value)}
              >
                {snaps.map((s) => (
                  <option key={s.snapshotId} value={s.snapshotId}>
                    {s.snapshotId} · {when(s.createdAt)}
                  </option>
                ))}
              </select>
            </label>
          ))}
        </div>
        {(list.error ?? data.error) !== undefined && <ErrorBox error={list.error ?? data.error} />}
        {snaps.length < 2 && list.value && <p class="empty">A diff needs two snapshots.</p>}
        {missing.length > 0 && (
          <p class="error" role="alert">
            There is no snapshot {missing.join(' or ')}: pick two from the lists.
          </p>
        )}
      </section>
      {a &&
        b &&
        missing.length === 0 &&
        (['still', 'new', 'gone'] as const).map((kind) => {
          const rows = (data.value ?? []).filter((x) => x.kind === kind);
          const total = rows.reduce((s, x) => s + x.goroutines, 0);
          return (
            <section key={kind} class="panel" aria-label={TITLES[kind]}>
              <h2>
                {TITLES[kind]} <span class="muted">{count(total)} goroutines</span>
              </h2>
              {data.value && rows.length === 0 && <p class="empty">None.</p>}
              <table class="grid compact" hidden={rows.length === 0}>
                <thead>
                  <tr>
                    <th class="num">goroutines</th>
                    <th>where</th>
                    <th
                      class="num"
                      title="Go's wait time when the runtime recorded it; else at least the time between the snapshots"
                    >
                      {kind === 'still' ? 'blocked for' : 'longest wait'}
                    </th>
                    <th>example</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.slice(0, 200).map((x) => (
                    <tr key={x.stack_id}>
                      <td class="num">{count(x.goroutines)}</td>
                      <td>
                        <span class="fname">{x.function}</span>{' '}
                        <span class="muted">{x.file ? `${shortFile(x.file)}:${x.line}` : ''}</span>
                        {x.parked && <span class="muted"> · in {x.parked}</span>}
                      </td>
                      <td class="num">
                        {x.longest_wait_ns !== null
                          ? duration(x.longest_wait_ns)
                          : kind === 'still'
                            ? `≥ ${duration(x.between_ns)}`
                            : ''}
                      </td>
                      <td>
                        <a
                          href={routeUrl({
                            view: 'goroutines',
                            snapshot: kind === 'gone' ? a : b,
                            filters: {},
                            sort: 'count',
                            goroutine: x.example,
                          })}
                        >
                          {x.example}
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          );
        })}
    </div>
  );
}
