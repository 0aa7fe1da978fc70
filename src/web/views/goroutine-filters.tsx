/** The filter bar of the goroutines view: each filter is a field; applied on Enter, kept in the URL. */
import { useEffect, useState } from 'preact/hooks';
import type { ProcessResult } from '../../api/responses.js';
import { count } from '../format.js';
import type { FacetRow } from '../goroutine-sql.js';
import type { GoroutineFilters, GroupSort } from '../routes.js';

interface Props {
  readonly filters: GoroutineFilters;
  readonly facets: readonly FacetRow[];
  readonly processes: readonly ProcessResult[];
  readonly sort: GroupSort;
  readonly onChange: (f: GoroutineFilters) => void;
  readonly onSort: (s: GroupSort) => void;
}

const TEXT_FIELDS = [
  { key: 'fn', label: 'Function', placeholder: 'writeLedger' },
  { key: 'pkg', label: 'Package', placeholder: 'net/http' },
  { key: 'label', label: 'pprof label', placeholder: 'user=dave' },
  { key: 'value', label: 'Captured value', placeholder: 'sku-13' },
] as const;

function clean(f: Record<string, unknown>): GoroutineFilters {
  return Object.fromEntries(
    Object.entries(f).filter(([, v]) => v !== '' && v !== undefined && !(Array.isArray(v) && v.length === 0)),
  ) as GoroutineFilters;
}

/** A select of one facet's values with their goroutine counts, "any" first. */
function FacetSelect(p: {
  readonly label: string;
  readonly name: string;
  readonly value: string | undefined;
  readonly counts: ReadonlyMap<string, number>;
  readonly onPick: (v: string) => void;
}) {
  return (
    <label>
      {p.label}
      <select
        name={p.name}
        value={p.value ?? ''}
        onChange={(e) => p.onPick((e.target as HTMLSelectElement).value)}
      >
        <option value="">any</option>
        {[...p.counts].map(([s, n]) => (
          <option key={s} value={s}>
            {s} ({count(n)})
          </option>
        ))}
      </select>
    </label>
  );
}

/** The bar. */
export function FilterBar({ filters, facets, processes, sort, onChange, onSort }: Props) {
  const [draft, setDraft] = useState<GoroutineFilters>(filters);
  useEffect(() => setDraft(filters), [filters]);
  const statuses = new Map<string, number>();
  const waits = new Map<string, number>();
  for (const x of facets) {
    statuses.set(x.status, (statuses.get(x.status) ?? 0) + x.n);
    if (x.wait_reason) waits.set(x.wait_reason, (waits.get(x.wait_reason) ?? 0) + x.n);
  }
  const apply = (e?: Event) => {
    e?.preventDefault();
    onChange(clean({ ...draft }));
  };
  const pick = (k: keyof GoroutineFilters, v: string) => onChange(clean({ ...filters, [k]: v }));
  return (
    <form class="filters" onSubmit={apply} aria-label="Filter goroutines">
      {TEXT_FIELDS.map((t) => (
        <label key={t.key}>
          {t.label}
          <input
            name={t.key}
            placeholder={t.placeholder}
            value={draft[t.key] ?? ''}
            onInput={(e) => setDraft({ ...draft, [t.key]: (e.target as HTMLInputElement).value })}
          />
        </label>
      ))}
      <FacetSelect
        label="Status"
        name="status"
        value={filters.status}
        counts={statuses}
        onPick={(v) => pick('status', v)}
      />
      <FacetSelect
        label="Wait reason"
        name="wait"
        value={filters.wait}
        counts={waits}
        onPick={(v) => pick('wait', v)}
      />
      <label>
        Process
        <select
          name="process"
          value={filters.process ?? ''}
          onChange={(e) => pick('process', (e.target as HTMLSelectElement).value)}
        >
          <option value="">any</option>
          {processes
            .filter((p) => p.ok)
            .map((p) => (
              <option key={p.key} value={`${p.hostname}:${p.pid}`}>
                {p.program ?? p.executable} ({p.hostname}:{p.pid})
              </option>
            ))}
        </select>
      </label>
      <label>
        Min. wait (ms)
        <input
          name="minwait"
          type="number"
          min="0"
          value={draft.minWaitMs ?? ''}
          onInput={(e) => {
            const v = Number((e.target as HTMLInputElement).value);
            setDraft({ ...draft, minWaitMs: v > 0 ? v : undefined });
          }}
        />
      </label>
      <label>
        Order
        <select
          name="sort"
          value={sort}
          onChange={(e) => onSort((e.target as HTMLSelectElement).value as GroupSort)}
        >
          <option value="count">most goroutines</option>
          <option value="wait">longest wait</option>
        </select>
      </label>
      <button type="submit">Filter</button>
      {(filters.prefix?.length ?? 0) > 0 && (
        <span class="chip prefix" title={(filters.prefix ?? []).join('\n→ ')}>
          stack starts with{' '}
          {(filters.prefix ?? []).length === 1 ? '' : `${(filters.prefix ?? []).length} frames … `}
          {(filters.prefix ?? []).at(-1)}
          <button
            type="button"
            class="icon"
            aria-label="Remove the stack prefix filter"
            onClick={() => onChange(clean({ ...filters, prefix: [] }))}
          >
            ✕
          </button>
        </span>
      )}
      {Object.keys(filters).length > 0 && (
        <button type="button" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </form>
  );
}
