/** Query results as a grid: click a column to sort, pages of 100 rows, structured cells as JSON. */
import { useMemo, useState } from 'preact/hooks';
import type { QueryResponse } from '../../api/responses.js';
import { count } from '../format.js';

const PAGE = 100;

type Cell = QueryResponse['rows'][number][number];

function text(c: Cell): string {
  if (c === null) return '';
  if (typeof c === 'object') return JSON.stringify(c);
  return String(c);
}

function compare(a: Cell, b: Cell): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return text(a).localeCompare(text(b), undefined, { numeric: true });
}

/**
 * Where a row's goroutine opens: rows with `process_id` and `goroutine_id` columns (and a
 * `snapshot_id`, or a result of one snapshot) get a link to that goroutine.
 */
function goroutineLink(result: QueryResponse): ((row: readonly Cell[]) => string | undefined) | undefined {
  const col = (n: string) => result.columns.findIndex((c) => c.name === n);
  const [p, g, s] = [col('process_id'), col('goroutine_id'), col('snapshot_id')];
  const only = result.snapshotIds.length === 1 ? result.snapshotIds[0] : undefined;
  if (p < 0 || g < 0 || (s < 0 && only === undefined)) return undefined;
  return (row) => {
    const snap = s >= 0 ? row[s] : only;
    if (row[p] === null || row[g] === null || snap === null || snap === undefined) return undefined;
    return `/snapshots/${snap}?g=${encodeURIComponent(`${row[p]}:${row[g]}`)}`;
  };
}

/** The grid of one result. */
export function ResultGrid({ result, label = 'Query results' }: { result: QueryResponse; label?: string }) {
  const link = useMemo(() => goroutineLink(result), [result]);
  const [sort, setSort] = useState<{ col: number; desc: boolean } | undefined>();
  const [page, setPage] = useState(0);
  const rows = useMemo(() => {
    if (!sort) return result.rows;
    const out = [...result.rows].sort((a, b) => compare(a[sort.col] ?? null, b[sort.col] ?? null));
    return sort.desc ? out.reverse() : out;
  }, [result, sort]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const at = Math.min(page, pages - 1);
  const shown = rows.slice(at * PAGE, at * PAGE + PAGE);
  return (
    <div class="results">
      <div class="row">
        <span class="muted">
          {count(result.rows.length)} rows · snapshot{result.snapshotIds.length === 1 ? '' : 's'}{' '}
          {result.snapshotIds.length > 5 ? `${result.snapshotIds.length}` : result.snapshotIds.join(', ')}
        </span>
        <span class="spacer" />
        {pages > 1 && (
          <nav class="row" aria-label="Result pages">
            <button
              type="button"
              disabled={at === 0}
              onClick={() => setPage(at - 1)}
              aria-label="Previous page"
            >
              ‹
            </button>
            <span>
              page {at + 1} of {pages}
            </span>
            <button
              type="button"
              disabled={at >= pages - 1}
              onClick={() => setPage(at + 1)}
              aria-label="Next page"
            >
              ›
            </button>
          </nav>
        )}
      </div>
      <div class="scroll">
        <table class="grid" aria-label={label}>
          <thead>
            <tr>
              {link && (
                <th>
                  <span class="sr-only">goroutine</span>
                </th>
              )}
              {result.columns.map((c, i) => (
                <th
                  key={c.name}
                  aria-sort={sort?.col === i ? (sort.desc ? 'descending' : 'ascending') : undefined}
                >
                  <button
                    type="button"
                    class="link"
                    title={`${c.type}; click to sort`}
                    onClick={() =>
                      setSort(sort?.col === i ? { col: i, desc: !sort.desc } : { col: i, desc: false })
                    }
                  >
                    {c.name} {sort?.col === i ? (sort.desc ? '▼' : '▲') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((row, ri) => (
              <tr key={at * PAGE + ri}>
                {link && (
                  <td>
                    {link(row) && (
                      <a
                        href={link(row)}
                        class="linkto"
                        title="Open this goroutine"
                        aria-label="Open this row's goroutine"
                      >
                        ⇢
                      </a>
                    )}
                  </td>
                )}
                {row.map((c, ci) => (
                  <td
                    key={ci}
                    class={`rcell${typeof c === 'number' ? ' num' : typeof c === 'object' && c !== null ? ' json' : ''}`}
                  >
                    {text(c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
