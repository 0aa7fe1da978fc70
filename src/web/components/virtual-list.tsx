/**
 * A list that renders only the rows in view (plus a margin), so thousands of rows stay fast.
 * Rows have heights known up front (by kind), kept as prefix sums; the visible range is found
 * by binary search on scroll.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

/** Props of a virtual list. */
export interface VirtualListProps {
  readonly count: number;
  /** Height of row `i` in pixels. */
  readonly height: (i: number) => number;
  readonly render: (i: number) => ComponentChildren;
  /** Row to keep in view (e.g. the focused one). */
  readonly scrollTo?: number;
  readonly label: string;
  readonly class?: string;
  readonly onKeyDown?: (e: KeyboardEvent) => void;
}

/** Index of the last offset <= y. */
function find(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((offsets[mid] ?? 0) <= y) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** The list. */
export function VirtualList(p: VirtualListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [view, setView] = useState(600);
  const offsets = useMemo(() => {
    const o = new Float64Array(p.count + 1);
    for (let i = 0; i < p.count; i++) o[i + 1] = (o[i] ?? 0) + p.height(i);
    return o;
  }, [p.count, p.height]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setView(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el || p.scrollTo === undefined || p.scrollTo >= p.count) return;
    const y0 = offsets[p.scrollTo] ?? 0;
    const y1 = offsets[p.scrollTo + 1] ?? y0;
    if (y0 < el.scrollTop) el.scrollTop = y0;
    else if (y1 > el.scrollTop + el.clientHeight) el.scrollTop = y1 - el.clientHeight;
  }, [p.scrollTo, offsets, p.count]);
  const total = offsets[p.count] ?? 0;
  const first = find(offsets, Math.max(0, top - 400));
  const last = Math.min(p.count, find(offsets, top + view + 400) + 1);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++)
    rows.push(
      <li key={i} class="vrow" style={{ top: `${offsets[i]}px`, height: `${p.height(i)}px` }}>
        {p.render(i)}
      </li>,
    );
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: keydown bubbles up from the focused rows' buttons
    <div
      ref={box}
      class={`vlist ${p.class ?? ''}`}
      onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)}
      onKeyDown={p.onKeyDown}
    >
      <ul class="vspace" style={{ height: `${total}px` }} aria-label={p.label}>
        {rows}
      </ul>
    </div>
  );
}
