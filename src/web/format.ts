/** Text of numbers, durations and times as the views show them (no DOM: tested in Node). */

/** A duration in nanoseconds as short text: 850ns, 12ms, 4.2s, 5m 3s, 2h 10m. */
export function duration(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '';
  if (ns < 1_000) return `${Math.round(ns)}ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 1 : 0)}µs`;
  const ms = ns / 1_000_000;
  if (ms < 1_000) return `${ms.toFixed(ms < 10 ? 1 : 0)}ms`;
  const s = ms / 1_000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A count with thousands separators. */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : n.toLocaleString('en-US');
}

/** A time as local date and time to the second. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago a time was, as short text. */
export function ago(iso: string, now = Date.now()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const d = Math.max(0, now - t) * 1_000_000;
  return d < 1_000_000_000 ? 'just now' : `${duration(d).split(' ')[0]} ago`;
}

/** The package of a Go function name (`net/http.(*conn).serve` → `net/http`). */
export function packageOf(fn: string): string {
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  return dot < 0 ? fn : fn.slice(0, dot);
}

/** A function name without its package path, for narrow places (`net/http.(*conn).serve` → `http.(*conn).serve`). */
export function shortFunction(fn: string): string {
  const slash = fn.lastIndexOf('/', fn.indexOf('.', fn.lastIndexOf('/') + 1));
  return slash < 0 ? fn : fn.slice(slash + 1);
}

/** A file path's last two parts. */
export function shortFile(file: string): string {
  const parts = file.split('/');
  return parts.slice(-2).join('/');
}

/** Labels as `k=v` texts, sorted by key. */
export function labelTexts(labels: Readonly<Record<string, string>> | null | undefined): string[] {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
}
