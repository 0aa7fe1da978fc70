/**
 * The goroutines of a snapshot: filters (kept in the URL, and when switching snapshots), the
 * flame graph, stack groups with count, status and longest wait (virtualized, keyboard
 * navigable, each expandable to its frames and goroutines), and the selected goroutine.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { getSnapshot, listSnapshots, query } from '../api.js';
import { ErrorBox } from '../components/error-box.js';
import { FlameGraph } from '../components/flame-graph.js';
import { useAsync } from '../components/use-async.js';
import { VirtualList } from '../components/virtual-list.js';
import { count, duration, labelTexts, shortFile, when } from '../format.js';
import {
  type FacetRow,
  facetsSql,
  type GoroutineRow,
  type GroupFrameRow,
  type GroupRow,
  groupFramesSql,
  groupGoroutinesSql,
  groupsSql,
  MAX_GROUPS,
  splitGoroutine,
} from '../goroutine-sql.js';
import { go } from '../router.js';
import { type GoroutineFilters, hasFilters, type Route, routeUrl } from '../routes.js';
import { rowsOf } from '../sql.js';
import { GoroutineDetail } from './goroutine-detail.js';
import { FilterBar } from './goroutine-filters.js';

type GoroutinesRoute = Extract<Route, { view: 'goroutines' }>;

const GROUP_H = 58;
const FRAME_H = 20;
const G_H = 24;

type Item =
  | { kind: 'group'; g: GroupRow; index: number }
  | { kind: 'frame'; g: GroupRow; f: GroupFrameRow }
  | { kind: 'goroutine'; g: GroupRow; row: GoroutineRow }
  | { kind: 'more'; text: string };

/** The frame a group is named by (chosen in SQL), with where it is parked when that is another function (e.g. time.Sleep). */
function headline(g: GroupRow): { fn: string; where: string; parked: string } {
  if (!g.head_function) return { fn: '(no frames)', where: '', parked: '' };
  const inner = g.functions?.[0] ?? '';
  return {
    fn: g.head_function,
    where: shortPlace(g.head_place ?? ''),
    parked: inner !== g.head_function ? inner : '',
  };
}

/** `inventory/main.go:42` of `/src/demo/inventory/main.go:42`. */
function shortPlace(place: string): string {
  const colon = place.lastIndexOf(':');
  return colon < 0 ? place : `${shortFile(place.slice(0, colon))}${place.slice(colon)}`;
}

/** The goroutines page of one snapshot. */
export function GoroutinesView({ r }: { r: GoroutinesRoute }) {
  const f = r.filters;
  const key = JSON.stringify(f);
  const meta = useAsync(() => Promise.all([getSnapshot(r.snapshot), listSnapshots([], 1000)]), [r.snapshot]);
  const groups = useAsync(
    async () => rowsOf<GroupRow>(await query(groupsSql(f, r.sort), { snapshot: r.snapshot })),
    [r.snapshot, key, r.sort],
  );
  const facets = useAsync(
    async () => rowsOf<FacetRow>(await query(facetsSql(), { snapshot: r.snapshot })),
    [r.snapshot],
  );
  const [open, setOpen] = useState<
    Record<string, { frames: GroupFrameRow[]; rows: GoroutineRow[] } | 'loading'>
  >({});
  const [focus, setFocus] = useState(0);
  // Opened groups list goroutines of the filters they were opened under: closed when those change.
  useEffect(() => {
    setOpen({});
    setFocus(0);
  }, [r.snapshot, key]);
  const set = (filters: GoroutineFilters) => go({ ...r, filters });
  const toggle = useCallback(
    async (g: GroupRow) => {
      if (open[g.stack_id]) {
        const { [g.stack_id]: _, ...rest } = open;
        setOpen(rest);
        return;
      }
      setOpen((o) => ({ ...o, [g.stack_id]: 'loading' }));
      const scope = { snapshot: r.snapshot };
      const [frames, rows] = await Promise.all([
        query(groupFramesSql(g.stack_id), scope).then((q) => rowsOf<GroupFrameRow>(q)),
        query(groupGoroutinesSql(f, g.stack_id), scope).then((q) => rowsOf<GoroutineRow>(q)),
      ]);
      setOpen((o) => ({ ...o, [g.stack_id]: { frames, rows } }));
    },
    [open, key, r.snapshot],
  );
  const items = useMemo(() => {
    const out: Item[] = [];
    (groups.value ?? []).forEach((g, index) => {
      out.push({ kind: 'group', g, index });
      const o = open[g.stack_id];
      if (!o) return;
      if (o === 'loading') out.push({ kind: 'more', text: 'Loading frames and goroutines…' });
      else {
        for (const fr of o.frames) out.push({ kind: 'frame', g, f: fr });
        for (const row of o.rows) out.push({ kind: 'goroutine', g, row });
        if (o.rows.length < g.goroutines)
          out.push({ kind: 'more', text: `${count(g.goroutines - o.rows.length)} more not listed` });
      }
    });
    return out;
  }, [groups.value, open]);
  const height = useCallback(
    (i: number) => {
      const it = items[i];
      return it?.kind === 'group' ? GROUP_H : it?.kind === 'frame' ? FRAME_H : G_H;
    },
    [items],
  );
  const stacks = useMemo(
    () =>
      (groups.value ?? []).map((g) => ({
        functions: g.functions ?? [],
        count: g.goroutines,
      })),
    [groups.value],
  );
  const selected = r.goroutine ? splitGoroutine(r.goroutine) : undefined;
  const gUrl = (ref: string) => routeUrl({ ...r, goroutine: ref });
  const first = groups.value?.[0];
  const snapshots = meta.value?.[1].snapshots ?? [];
  const detail = meta.value?.[0];
  const failed = detail?.processes.filter((p) => !p.ok) ?? [];

  const onKey = (e: KeyboardEvent) => {
    const groupIdx = items.map((it, i) => (it.kind === 'group' ? i : -1)).filter((i) => i >= 0);
    const at = groupIdx.indexOf(focus);
    let next = focus;
    if (e.key === 'ArrowDown') next = groupIdx[Math.min(groupIdx.length - 1, at + 1)] ?? focus;
    else if (e.key === 'ArrowUp') next = groupIdx[Math.max(0, at - 1)] ?? focus;
    else if (e.key === 'Home') next = groupIdx[0] ?? 0;
    else if (e.key === 'End') next = groupIdx[groupIdx.length - 1] ?? focus;
    else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const it = items[focus];
      if (it?.kind === 'group' && Boolean(open[it.g.stack_id]) !== (e.key === 'ArrowRight'))
        void toggle(it.g);
      e.preventDefault();
      return;
    } else return;
    e.preventDefault();
    setFocus(next);
    requestAnimationFrame(() =>
      (document.querySelector(`[data-group-item="${next}"]`) as HTMLElement | null)?.focus(),
    );
  };

  const render = (i: number) => {
    const it = items[i];
    if (!it) return null;
    if (it.kind === 'group') {
      const h = headline(it.g);
      const expanded = Boolean(open[it.g.stack_id]);
      return (
        <div class={`group${expanded ? ' open' : ''}`}>
          <button
            type="button"
            class="ghead"
            data-group-item={i}
            tabIndex={i === focus ? 0 : -1}
            aria-expanded={expanded}
            aria-label={`${it.g.goroutines} goroutines in ${h.fn}; ${it.g.statuses.join(', ')}`}
            onClick={() => {
              setFocus(i);
              void toggle(it.g);
            }}
          >
            <span class="gcount">{count(it.g.goroutines)}</span>
            <span class="gfn">
              <span class="fname">{h.fn}</span> <span class="muted">{h.where}</span>
              {h.parked && <span class="muted"> · in {h.parked}</span>}
              <br />
              <span class="gstat">
                {it.g.statuses.map((s) => (
                  <span key={s} class={`status s-${s}`}>
                    {s}
                  </span>
                ))}{' '}
                {(it.g.wait_reasons ?? []).join(', ')}
                {it.g.processes > 1 ? ` · ${it.g.processes} processes` : ''}
              </span>
            </span>
          </button>
          <span class="gwait">
            {it.g.longest_wait_ns !== null ? (
              <a href={gUrl(it.g.longest)} title="The goroutine of this group that waited longest">
                longest {duration(it.g.longest_wait_ns)}
              </a>
            ) : (
              <a
                href={gUrl(it.g.longest)}
                class="muted"
                title="One goroutine of this group (Go recorded no wait time)"
              >
                open one
              </a>
            )}
          </span>
        </div>
      );
    }
    if (it.kind === 'frame')
      return (
        <div class="gframe">
          <span class="fname">{it.f.function}</span>{' '}
          <span class="muted">
            {shortFile(it.f.file)}:{it.f.line}
          </span>
        </div>
      );
    if (it.kind === 'goroutine') {
      const ref = `${it.row.process_id}:${it.row.goroutine_id}`;
      return (
        <div class={`grow${r.goroutine === ref ? ' sel' : ''}`}>
          <a href={gUrl(ref)}>
            {it.row.process_id} #{it.row.goroutine_id}
          </a>{' '}
          <span class={`status s-${it.row.status}`}>{it.row.status}</span> {it.row.wait_reason ?? ''}{' '}
          {it.row.wait_ns !== null && <b>{duration(it.row.wait_ns)}</b>}{' '}
          <span class="muted">{labelTexts(it.row.labels).join(' ')}</span>
        </div>
      );
    }
    return <div class="gmore muted">{it.text}</div>;
  };

  const idx = snapshots.findIndex((s) => s.snapshotId === r.snapshot);
  const older = idx >= 0 ? snapshots[idx + 1] : undefined;
  const newer = idx > 0 ? snapshots[idx - 1] : undefined;
  return (
    <div class="page goroutines">
      <div class="row between">
        <h1>
          Snapshot {r.snapshot}{' '}
          <span class="muted">
            {detail ? `${when(detail.createdAt)} · ${detail.processes.length} processes · ` : ''}
            {first ? `${count(first.total)} goroutines in ${count(first.group_count)} stacks` : ''}
          </span>
        </h1>
        <div class="row">
          {older && (
            <a
              class="button"
              href={routeUrl({ ...r, snapshot: older.snapshotId, goroutine: undefined })}
              title="Same filters"
            >
              ← {older.snapshotId}
            </a>
          )}
          <label>
            <span class="sr-only">Snapshot</span>
            <select
              aria-label="Switch snapshot (filters are kept)"
              value={String(r.snapshot)}
              onChange={(e) =>
                go({ ...r, snapshot: Number((e.target as HTMLSelectElement).value), goroutine: undefined })
              }
            >
              {snapshots.map((s) => (
                <option key={s.snapshotId} value={s.snapshotId}>
                  {s.snapshotId} · {when(s.createdAt)}
                </option>
              ))}
            </select>
          </label>
          {newer && (
            <a
              class="button"
              href={routeUrl({ ...r, snapshot: newer.snapshotId, goroutine: undefined })}
              title="Same filters"
            >
              {newer.snapshotId} →
            </a>
          )}
          <a class="button" href={routeUrl({ view: 'tables', snapshot: r.snapshot })}>
            SQL
          </a>
        </div>
      </div>
      {meta.error !== undefined && <ErrorBox error={meta.error} />}
      {failed.length > 0 && (
        <div class="error" role="alert">
          <p>
            {failed.length} of {detail?.processes.length} processes could not be captured:
          </p>
          <ul>
            {failed.map((p) => (
              <li key={p.key}>
                {p.hostname}:{p.pid} ({p.program ?? p.executable}): <b>{p.error?.kind}</b> {p.error?.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <FilterBar
        filters={f}
        facets={facets.value ?? []}
        processes={detail?.processes ?? []}
        sort={r.sort}
        onChange={set}
        onSort={(sort) => go({ ...r, sort })}
      />
      {groups.error !== undefined && <ErrorBox error={groups.error} />}
      {groups.value && groups.value.length === 0 && (
        <p class="empty">No goroutine matches {hasFilters(f) ? 'these filters' : 'in this snapshot'}.</p>
      )}
      {groups.value && groups.value.length > 0 && (
        <FlameGraph
          stacks={stacks}
          partial={(first?.group_count ?? 0) > MAX_GROUPS}
          onPick={(prefix) => set({ ...f, prefix: [...prefix] })}
        />
      )}
      <div class={`split${selected ? ' with-detail' : ''}`}>
        <section class="panel groups" aria-label="Stack groups">
          <div class="row between">
            <h2>Stacks {groups.loading && <span class="muted">(loading…)</span>}</h2>
            <span class="muted">↑↓ to move, → to open, ← to close</span>
          </div>
          <VirtualList
            count={items.length}
            height={height}
            render={render}
            scrollTo={focus}
            label="Goroutines grouped by identical stack"
            onKeyDown={onKey}
          />
        </section>
        {selected && (
          <GoroutineDetail r={r} processId={selected.processId} goroutineId={selected.goroutineId} />
        )}
      </div>
    </div>
  );
}
