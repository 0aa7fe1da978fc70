/**
 * Grafana's macro expansion for its PostgreSQL data source, as its backend does it before
 * sending a panel's SQL (`pkg/tsdb/grafana-postgresql-datasource/macros.go` and the global
 * `$__interval` substitutions of sqleng): so that tests send the SQL Grafana would send.
 * Times are RFC 3339 in UTC with Go's trimmed fractional seconds (`time.RFC3339Nano`).
 */

/** A dashboard's time range and the interval Grafana picked for it. */
export interface GrafanaRange {
  readonly from: Date;
  readonly to: Date;
  /** $__interval in seconds. */
  readonly intervalSeconds: number;
}

/** Go's time.RFC3339Nano of a UTC time: `2026-12-05T01:00:00Z`, `…:00.25Z`. */
export function rfc3339Nano(d: Date): string {
  const iso = d.toISOString(); // 2026-12-05T01:00:00.250Z
  const [whole, frac = ''] = iso.slice(0, -1).split('.');
  const f = frac.replace(/0+$/, '');
  return `${whole}${f ? `.${f}` : ''}Z`;
}

/** Go's %v of a float64 number of seconds (60, 0.5, 3600). */
function seconds(n: number): string {
  return String(n);
}

/** A Grafana interval text ('1m', '30s', '1h', '$__interval' already expanded) in seconds. */
function intervalSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)?$/.exec(text.trim());
  if (!m) throw new Error(`error parsing interval ${text}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

/** Grafana's text of an interval ('1m', '15s'), as `$__interval` expands to. */
function intervalText(s: number): string {
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  if (s >= 1 && Number.isInteger(s)) return `${s}s`;
  return `${Math.round(s * 1000)}ms`;
}

/** The panel SQL with Grafana's macros expanded for a time range. */
export function expandGrafanaMacros(sql: string, r: GrafanaRange): string {
  const from = rfc3339Nano(r.from);
  const to = rfc3339Nano(r.to);
  const fromS = Math.floor(r.from.getTime() / 1000);
  const toS = Math.floor(r.to.getTime() / 1000);
  let s = sql
    .replaceAll('$__interval_ms', String(Math.round(r.intervalSeconds * 1000)))
    .replaceAll('$__interval', intervalText(r.intervalSeconds))
    .replaceAll('$__unixEpochFrom()', String(fromS))
    .replaceAll('$__unixEpochTo()', String(toS));
  s = s.replace(/\$([_a-zA-Z0-9]+)\(([^)]*)\)/g, (whole, name: string, argText: string, at: number) => {
    const args = argText.split(',').map((a) => a.trim());
    const group = (): string => {
      const n = intervalSeconds(args[1]!.replace(/'/g, ''));
      return `floor(extract(epoch from ${args[0]})/${seconds(n)})*${seconds(n)}`;
    };
    switch (name) {
      case '__time':
        return `${args[0]} AS "time"`;
      case '__timeEpoch':
        return `extract(epoch from ${args[0]}) as "time"`;
      case '__timeFilter':
        return `${args[0]} BETWEEN '${from}' AND '${to}'`;
      case '__timeFrom':
        return `'${from}'`;
      case '__timeTo':
        return `'${to}'`;
      case '__timeGroup':
        // Followed by a comma, Grafana adds the alias (its pre-5.3 form).
        return s[at + whole.length] === ',' ? `${group()} AS "time"` : group();
      case '__timeGroupAlias':
        return `${group()} AS "time"`;
      case '__unixEpochFilter':
        return `${args[0]} >= ${fromS} AND ${args[0]} <= ${toS}`;
      case '__unixEpochGroup': {
        const n = intervalSeconds(args[1]!.replace(/'/g, ''));
        return `floor((${args[0]})/${seconds(n)})*${seconds(n)}`;
      }
      case '__unixEpochGroupAlias': {
        const n = intervalSeconds(args[1]!.replace(/'/g, ''));
        return `floor((${args[0]})/${seconds(n)})*${seconds(n)} AS "time"`;
      }
      default:
        throw new Error(`unknown macro "${name}"`);
    }
  });
  return s;
}

/** Dashboard variables as Grafana interpolates them: `$name`/`${name}` → a multi-value's quoted list, or an All's custom value as it is. */
export function expandGrafanaVariables(
  sql: string,
  values: Readonly<Record<string, { readonly all: string } | readonly string[]>>,
): string {
  return sql.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      if (name.startsWith('__')) return whole;
      const v = values[name];
      if (v === undefined) return whole;
      if ('all' in v) return v.all;
      return v.map((s) => `'${s.replace(/'/g, "''")}'`).join(',');
    },
  );
}
