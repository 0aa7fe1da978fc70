/**
 * The web app's URLs: every view, filter and selected goroutine is in the URL, so a colleague
 * can open the same thing. Parsing and formatting only (no DOM), so tests run it in Node.
 */

/** Filters of the goroutines of a snapshot; each is optional and all must hold. */
export interface GoroutineFilters {
  /** A frame's function contains this text (case-insensitive). */
  readonly fn?: string;
  /** A frame's function is in this package (e.g. `net/http`, `main`). */
  readonly pkg?: string;
  /** The stack starts (outermost frame first) with these functions: a box of the flame graph. */
  readonly prefix?: readonly string[];
  readonly status?: string;
  readonly wait?: string;
  /** A pprof label: `key` (present) or `key=value`. */
  readonly label?: string;
  /** Text in a value captured on the goroutine's frames (case-insensitive). */
  readonly value?: string;
  /** One process (`hostname:pid`). */
  readonly process?: string;
  /** Waiting at least this long, ms. */
  readonly minWaitMs?: number;
}

/** How stack groups are ordered. */
export type GroupSort = 'count' | 'wait';

/** Search of the snapshot list. */
export interface SnapshotSearch {
  /** Label filter in selector syntax (`incident=42,env~prod.*`). */
  readonly label?: string;
  /** A program among the snapshot's processes. */
  readonly program?: string;
  /** Taken at or after this time (ISO text, as a date-time input gives it). */
  readonly since?: string;
  readonly until?: string;
}

/** A view and its state. */
export type Route =
  | { readonly view: 'signin'; readonly next: string }
  | { readonly view: 'snapshots'; readonly search: SnapshotSearch }
  | {
      readonly view: 'goroutines';
      readonly snapshot: number;
      readonly filters: GoroutineFilters;
      readonly sort: GroupSort;
      /** The goroutine shown: `hostname:pid:goid`. */
      readonly goroutine?: string;
    }
  | { readonly view: 'diff'; readonly a?: number; readonly b?: number; readonly filters: GoroutineFilters }
  | { readonly view: 'tables'; readonly sql?: string; readonly snapshot?: number }
  | { readonly view: 'agents' }
  /** Probes and their events: one probe picked, over the last `minutes`. */
  | { readonly view: 'probes'; readonly probe?: string; readonly minutes: number }
  /** The spec editor: a program, one of its binaries and a function picked. */
  | {
      readonly view: 'spec';
      readonly program?: string;
      readonly binary?: string;
      readonly fn?: string;
      /** A version of the history shown with its diff. */
      readonly version?: number;
    }
  /** Standing investigations; `closed` lists the closed ones too. */
  | { readonly view: 'investigations'; readonly closed: boolean }
  /** One investigation by its id (names are reused after a close). */
  | { readonly view: 'investigation'; readonly id: number }
  /** Kept request traces, of one trace and of one outcome. */
  | { readonly view: 'traces'; readonly trace?: string; readonly outcome?: string }
  /** One kept trace by its request id. */
  | { readonly view: 'trace'; readonly request: string }
  | { readonly view: 'not-found'; readonly path: string };

/** The outcomes a kept trace has (docs/traces.md). */
export const TRACE_OUTCOMES: readonly string[] = ['error', 'panic', 'slow', 'condition'];

/** The time windows of the probes view's charts, minutes. */
export const PROBE_WINDOWS: readonly number[] = [5, 15, 60, 360, 1440];
/** The window the probes view opens with. */
export const DEFAULT_PROBE_MINUTES = 15;

const FILTER_KEYS = ['fn', 'pkg', 'status', 'wait', 'label', 'value', 'process'] as const;

/** The filters in a query string. */
export function parseFilters(q: URLSearchParams): GoroutineFilters {
  const out: Record<string, unknown> = {};
  for (const k of FILTER_KEYS) {
    const v = q.get(k);
    if (v) out[k] = v;
  }
  const prefix = q.getAll('prefix').filter(Boolean);
  if (prefix.length > 0) out.prefix = prefix;
  const minWait = Number(q.get('minwait'));
  if (Number.isFinite(minWait) && minWait > 0) out.minWaitMs = minWait;
  return out as GoroutineFilters;
}

/** Writes filters into a query string. */
export function writeFilters(f: GoroutineFilters, q: URLSearchParams): void {
  for (const k of FILTER_KEYS) {
    const v = f[k];
    if (v) q.set(k, v);
  }
  for (const p of f.prefix ?? []) q.append('prefix', p);
  if (f.minWaitMs) q.set('minwait', String(f.minWaitMs));
}

/** Whether any filter is set. */
export function hasFilters(f: GoroutineFilters): boolean {
  return FILTER_KEYS.some((k) => Boolean(f[k])) || (f.prefix?.length ?? 0) > 0 || Boolean(f.minWaitMs);
}

function positive(text: string | null | undefined): number | undefined {
  if (!text || !/^[1-9]\d{0,15}$/.test(text)) return undefined;
  return Number(text);
}

/** The route of a path and query string. */
export function parseRoute(pathname: string, search: string): Route {
  const q = new URLSearchParams(search);
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second] = parts;
  if (first === undefined) return { view: 'snapshots', search: {} };
  if (first === 'signin') {
    const next = q.get('next') ?? '/';
    return { view: 'signin', next: next.startsWith('/') && !next.startsWith('//') ? next : '/' };
  }
  if (first === 'snapshots' && parts.length === 1) {
    const search: Record<string, string> = {};
    for (const k of ['label', 'program', 'since', 'until'] as const) {
      const v = q.get(k);
      if (v) search[k] = v;
    }
    return { view: 'snapshots', search };
  }
  if (first === 'snapshots' && parts.length === 2) {
    const snapshot = positive(second);
    if (snapshot === undefined) return { view: 'not-found', path: pathname };
    const g = q.get('g');
    return {
      view: 'goroutines',
      snapshot,
      filters: parseFilters(q),
      sort: q.get('sort') === 'wait' ? 'wait' : 'count',
      ...(g ? { goroutine: g } : {}),
    };
  }
  if (first === 'diff' && parts.length === 1) {
    const a = positive(q.get('a'));
    const b = positive(q.get('b'));
    return {
      view: 'diff',
      ...(a !== undefined ? { a } : {}),
      ...(b !== undefined ? { b } : {}),
      filters: parseFilters(q),
    };
  }
  if (first === 'tables' && parts.length === 1) {
    const sql = q.get('sql');
    const snapshot = positive(q.get('snapshot'));
    return { view: 'tables', ...(sql ? { sql } : {}), ...(snapshot !== undefined ? { snapshot } : {}) };
  }
  if (first === 'agents' && parts.length === 1) return { view: 'agents' };
  if (first === 'probes' && parts.length === 1) {
    const probe = q.get('probe');
    const minutes = positive(q.get('minutes'));
    return {
      view: 'probes',
      ...(probe && /^[A-Za-z_][A-Za-z0-9_]*$/.test(probe) ? { probe } : {}),
      minutes: PROBE_WINDOWS.includes(minutes ?? 0) ? (minutes as number) : DEFAULT_PROBE_MINUTES,
    };
  }
  if (first === 'investigations' && parts.length === 1)
    return { view: 'investigations', closed: q.get('closed') === 'true' };
  if (first === 'investigations' && parts.length === 2) {
    const id = positive(second);
    return id === undefined ? { view: 'not-found', path: pathname } : { view: 'investigation', id };
  }
  if (first === 'traces' && parts.length === 1) {
    const trace = q.get('trace');
    const outcome = q.get('outcome');
    return {
      view: 'traces',
      ...(trace && /^[A-Za-z_][A-Za-z0-9_]*$/.test(trace) ? { trace } : {}),
      ...(outcome && TRACE_OUTCOMES.includes(outcome) ? { outcome } : {}),
    };
  }
  if (first === 'traces' && parts.length === 2 && second) return { view: 'trace', request: second };
  if (first === 'spec' && parts.length === 1) {
    const out: { view: 'spec'; program?: string; binary?: string; fn?: string; version?: number } = {
      view: 'spec',
    };
    for (const k of ['program', 'binary', 'fn'] as const) {
      const v = q.get(k);
      if (v) out[k] = v;
    }
    const version = positive(q.get('version'));
    if (version !== undefined) out.version = version;
    return out;
  }
  return { view: 'not-found', path: pathname };
}

function withQuery(path: string, q: URLSearchParams): string {
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The URL of a route. */
export function routeUrl(r: Route): string {
  const q = new URLSearchParams();
  switch (r.view) {
    case 'signin':
      q.set('next', r.next);
      return withQuery('/signin', q);
    case 'snapshots':
      for (const [k, v] of Object.entries(r.search)) if (v) q.set(k, v);
      return withQuery('/snapshots', q);
    case 'goroutines':
      writeFilters(r.filters, q);
      if (r.sort !== 'count') q.set('sort', r.sort);
      if (r.goroutine) q.set('g', r.goroutine);
      return withQuery(`/snapshots/${r.snapshot}`, q);
    case 'diff':
      if (r.a !== undefined) q.set('a', String(r.a));
      if (r.b !== undefined) q.set('b', String(r.b));
      writeFilters(r.filters, q);
      return withQuery('/diff', q);
    case 'tables':
      if (r.sql) q.set('sql', r.sql);
      if (r.snapshot !== undefined) q.set('snapshot', String(r.snapshot));
      return withQuery('/tables', q);
    case 'agents':
      return '/agents';
    case 'probes':
      if (r.probe) q.set('probe', r.probe);
      if (r.minutes !== DEFAULT_PROBE_MINUTES) q.set('minutes', String(r.minutes));
      return withQuery('/probes', q);
    case 'spec':
      for (const k of ['program', 'binary', 'fn'] as const) if (r[k]) q.set(k, r[k]);
      if (r.version !== undefined) q.set('version', String(r.version));
      return withQuery('/spec', q);
    case 'investigations':
      if (r.closed) q.set('closed', 'true');
      return withQuery('/investigations', q);
    case 'investigation':
      return `/investigations/${r.id}`;
    case 'traces':
      if (r.trace) q.set('trace', r.trace);
      if (r.outcome) q.set('outcome', r.outcome);
      return withQuery('/traces', q);
    case 'trace':
      return `/traces/${encodeURIComponent(r.request)}`;
    case 'not-found':
      return r.path;
  }
}
