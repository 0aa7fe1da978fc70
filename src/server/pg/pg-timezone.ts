/**
 * A connection's `TimeZone`, as PostgreSQL has it: TIMESTAMPTZ values are printed in the
 * session's zone (`2024-01-01 07:00:00-05`), which is the server's unless the client named one
 * in its startup packet (libpq's PGTZ, JDBC's JVM zone) or by `SET TimeZone`. The zone is
 * applied where values are printed: in the SQL that prints a chunk's cells (`timestamptzSql`,
 * DuckDB's `timezone(zone, value)` and the offset), and in JavaScript for values DuckDB's
 * client prints in UTC (`timestamptzText`); and the query session's DuckDB connection runs in
 * it (QuerySession.setTimeZone: `date_trunc`, `extract(hour …)`, casts to DATE).
 */

/** A time zone: the name reported to the client (ParameterStatus, `SHOW`), and its IANA name. */
export interface PgTimeZone {
  readonly name: string;
  readonly iana: string;
}

/**
 * The seconds east of UTC a value gives as a number of hours (`-5`, `5.5`, as PostgreSQL's
 * `SET TIME ZONE -5`) or as the name PostgreSQL reports for one (`<-05>+05`, `<+05:30>-05:30`,
 * also `<+0530>-05:30`); undefined when it is neither.
 */
function writtenOffset(t: string): number | undefined {
  if (/^[+-]?\d+(\.\d*)?$/.test(t)) return Math.round(Number(t) * 3600);
  const reported = /^<([+-])(\d\d)(?::?(\d\d))?>([+-])(\d\d)(?::(\d\d))?$/.exec(t);
  if (!reported) return undefined;
  const east = (reported[1] === '-' ? -1 : 1) * (Number(reported[2]) * 3600 + Number(reported[3] ?? 0) * 60);
  const west = (reported[4] === '-' ? -1 : 1) * (Number(reported[5]) * 3600 + Number(reported[6] ?? 0) * 60);
  return east === -west ? east : undefined;
}

/**
 * The time zone of a name (`UTC`, `America/New_York`, any case; `EST5EDT`) or of a number of
 * hours east of UTC (`-5`, as PostgreSQL's `SET TIME ZONE -5`; the name it reports back,
 * `<-05>+05`, is taken too); undefined when it is not one.
 */
export function timeZoneOf(name: string): PgTimeZone | undefined {
  const t = name.trim();
  const seconds = writtenOffset(t);
  if (seconds !== undefined) return offsetZone(seconds);
  if (/^</.test(t) || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(t)) return undefined;
  let iana: string;
  try {
    iana = new Intl.DateTimeFormat('en-US', { timeZone: t }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  // Reported as the zone database spells it (`america/new_york`: America/New_York); the IANA
  // name (its canonical one: Asia/Kolkata is Asia/Calcutta) is what DuckDB and Intl are given.
  return { name: spelled().get(t.toLowerCase()) ?? t, iana };
}

/**
 * A fixed offset of `seconds` east of UTC, named as PostgreSQL names it (`<-05>+05`: the POSIX
 * form, whose sign is the other way round). Whole hours only, from -12 to +14: the zones of a
 * fixed offset DuckDB knows are `Etc/GMT+5` (5 hours west) and the like. An offset of minutes
 * (`5.5`, `INTERVAL '+05:30'`) is undefined: DuckDB 1.5's ICU has no zone of it (no `Etc/`
 * zone, and ICU's custom ids such as `GMT+05:30` are refused; `UTC+05:30` is taken as
 * Etc/GMT-5, the minutes dropped), and each of its zones with such an offset today (Asia/Kolkata,
 * Australia/Eucla, …) had others before, so none gives the same times as the offset would.
 */
export function offsetZone(seconds: number): PgTimeZone | undefined {
  if (!Number.isFinite(seconds) || seconds % 3600 !== 0) return undefined;
  const hours = seconds / 3600;
  if (hours < -12 || hours > 14) return undefined;
  const hh = String(Math.abs(hours)).padStart(2, '0');
  const name = hours < 0 ? `<-${hh}>+${hh}` : `<+${hh}>-${hh}`;
  const iana = hours === 0 ? 'Etc/GMT' : `Etc/GMT${hours < 0 ? '+' : '-'}${Math.abs(hours)}`;
  return { name, iana };
}

let names: Map<string, string> | undefined;

/** The zone names Intl knows, by their lower case. */
function spelled(): Map<string, string> {
  names ??= new Map(['UTC', ...Intl.supportedValuesOf('timeZone')].map((n) => [n.toLowerCase(), n]));
  return names;
}

/** The server's time zone (its TZ, else the system's), what a session has unless the client names another. */
export function serverTimeZone(): PgTimeZone {
  const iana = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  return { name: iana, iana };
}

/** The zones (IANA names) whose offset is `seconds` east of UTC now, at most `max` of them. */
function zonesNowAt(seconds: number, max: number): string[] {
  const now = new Date();
  const out: string[] = [];
  for (const zone of Intl.supportedValuesOf('timeZone')) {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(now)
      .find((p) => p.type === 'timeZoneName')?.value;
    const m = /^GMT(?:([+-])(\d\d):(\d\d))?$/.exec(name ?? '');
    if (!m) continue;
    const at = m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
    if (at === seconds) out.push(zone);
    if (out.length === max) break;
  }
  return out;
}

/**
 * The error text for a zone that is not one, as PostgreSQL words it (SQLSTATE 22023), and what
 * to give instead. `seconds`: the offset an INTERVAL gave; a number of hours or a name
 * PostgreSQL reports for an offset is read from `value`.
 */
export function badTimeZone(value: string, seconds = writtenOffset(value.trim())): string {
  const head = `invalid value for parameter "TimeZone": "${value}"`;
  const hours = 'a whole number of hours east of UTC from -12 to 14 such as -5';
  if (seconds !== undefined && Number.isFinite(seconds) && seconds % 3600 !== 0) {
    const places = zonesNowAt(seconds, 3);
    return `${head} (an offset of ${offsetText(seconds)} has no fixed zone in DuckDB's time zone data; give ${places.length > 0 ? `the zone of the place, such as ${places.join(' or ')} (UTC${offsetText(seconds)} today), ` : ''}or ${hours})`;
  }
  return `${head} (give an IANA time zone name such as UTC or America/New_York, or ${hours})`;
}

/** `"+05"`, `"-03:30"`, `"+00:19:32"`: an offset in seconds as PostgreSQL prints it. */
function offsetText(seconds: number): string {
  const a = Math.abs(seconds);
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const s = a % 60;
  return `${seconds < 0 ? '-' : '+'}${two(h)}${m || s ? `:${two(m)}` : ''}${s ? `:${two(s)}` : ''}`;
}

/**
 * The SQL that prints TIMESTAMPTZ `ref` in PostgreSQL's text in `zone`: the local time there
 * (DuckDB prints a TIMESTAMP as PostgreSQL does), then the offset at that instant.
 */
export function timestamptzSql(ref: string, zone: PgTimeZone): string {
  const z = `'${zone.iana.replace(/'/g, "''")}'`;
  const local = `timezone(${z}, ${ref})`;
  const o = `((epoch_us(${local}) - epoch_us(${ref})) // 1000000)`;
  const a = `abs(${o})`;
  const two = (e: string) => `lpad(CAST(${e} AS VARCHAR), 2, '0')`;
  const offset =
    zone.iana === 'UTC'
      ? `'+00'`
      : `(CASE WHEN ${o} < 0 THEN '-' ELSE '+' END || ${two(`${a} // 3600`)} || CASE WHEN ${a} % 3600 = 0 THEN '' ELSE ':' || ${two(`${a} % 3600 // 60`)} || CASE WHEN ${a} % 60 = 0 THEN '' ELSE ':' || ${two(`${a} % 60`)} END END)`;
  return `CASE WHEN ${ref} IS NULL THEN NULL WHEN isinf(${ref}) THEN CAST(${ref} AS VARCHAR) ELSE CAST(${local} AS VARCHAR) || ${offset} END`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(iana: string): Intl.DateTimeFormat {
  let f = formatters.get(iana);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: iana,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(iana, f);
  }
  return f;
}

/**
 * Prints a TIMESTAMPTZ as DuckDB's client prints it (`2024-01-01 12:00:00.25+00`, any offset)
 * in `zone`; a value it does not read (`infinity`, a year before 1) is left as it is.
 */
export function timestamptzText(zone: PgTimeZone): (v: string) => string {
  // DuckDB's client prints in UTC (`+00`): in UTC that is the text already.
  const inUtc = zone.iana === 'UTC';
  return (v) => {
    if (inUtc && v.endsWith('+00')) return v;
    const m =
      /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/.exec(v);
    if (!m) return v;
    const given =
      (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
    const utc = new Date(0);
    utc.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    utc.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]) - given, 0);
    const parts: Record<string, string> = {};
    for (const p of formatter(zone.iana).formatToParts(utc)) parts[p.type] = p.value;
    const year = Number(parts.year);
    const local = new Date(0);
    local.setUTCFullYear(year, Number(parts.month) - 1, Number(parts.day));
    local.setUTCHours(Number(parts.hour), Number(parts.minute), Number(parts.second), 0);
    const offset = Math.round((local.getTime() - utc.getTime()) / 1000);
    return `${String(year).padStart(4, '0')}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}${m[7] ?? ''}${offsetText(offset)}`;
  };
}
