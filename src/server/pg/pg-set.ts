/**
 * `SET` statements clients send on connect (JDBC: `SET extra_float_digits = 3`,
 * `SET application_name = '…'`): those that change nothing this server does are accepted as
 * no-ops, as are settings to the value the server already has (`client_encoding` UTF8,
 * `DateStyle` ISO, `TimeZone` UTC). Any other `SET` is refused with a SQLSTATE, never run:
 * a query session is read-only and its settings are the server's.
 */
import { PgFault } from './pg-errors.js';

/** What an accepted SET did: its command tag, and a parameter to report to the client. */
export interface SetOutcome {
  readonly tag: 'SET' | 'RESET';
  readonly report?: readonly [string, string];
}

/** Settings whose value this server does not act on: any value is accepted. */
const IGNORED = new Set(['extra_float_digits', 'application_name', 'client_min_messages']);

/** Settings fixed to one value: setting that value (any case, quoted or not) is accepted. */
const FIXED: Record<string, RegExp> = {
  client_encoding: /^(utf8|utf-8|unicode)$/i,
  datestyle: /^iso(\s*,\s*(mdy|ymd|dmy))?$/i,
  timezone: /^(utc|etc\/utc|gmt|z|zulu|0|\+0+|'utc')$/i,
  standard_conforming_strings: /^on$/i,
  intervalstyle: /^postgres$/i,
};

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1);
  return t;
}

/**
 * The outcome of a statement when it is a SET, SET SESSION or RESET; undefined when it is
 * another statement. Throws PgFault (0A000) for a setting this server cannot take.
 */
export function setStatement(sql: string): SetOutcome | undefined {
  const reset = /^\s*reset\s+([A-Za-z_][\w.]*|all)\s*$/i.exec(sql);
  if (reset) {
    const name = reset[1]!.toLowerCase();
    if (name === 'all' || IGNORED.has(name) || name in FIXED) return { tag: 'RESET' };
    throw refused(name);
  }
  const m = /^\s*set\s+(?:session\s+|local\s+)?([A-Za-z_][\w.]*)\s*(?:=|\bto\b)\s*([\s\S]*?)\s*$/i.exec(sql);
  if (!m) {
    if (/^\s*set\s/i.test(sql))
      throw new PgFault('0A000', `this form of SET is not supported: ${sql.trim()}`);
    return undefined;
  }
  const name = m[1]!.toLowerCase();
  const value = unquote(m[2]!);
  if (IGNORED.has(name)) {
    return name === 'application_name' ? { tag: 'SET', report: ['application_name', value] } : { tag: 'SET' };
  }
  const fixed = FIXED[name];
  if (fixed && (fixed.test(value) || /^default$/i.test(value))) return { tag: 'SET' };
  throw refused(name, fixed ? value : undefined);
}

function refused(name: string, value?: string): PgFault {
  const what = value === undefined ? `setting "${name}"` : `"${name}" = '${value}'`;
  return new PgFault(
    '0A000',
    `SET of ${what} is not supported: this server is read-only and keeps its own settings (UTF8, ISO dates, UTC); it accepts SET of ${[...IGNORED].join(', ')} as no-ops`,
  );
}
