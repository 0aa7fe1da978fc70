/**
 * `SET` statements clients send on connect (JDBC: `SET extra_float_digits = 3`,
 * `SET application_name = '…'`): those that change nothing this server does are accepted as
 * no-ops, as are settings to the value the server already has (`client_encoding` UTF8,
 * `DateStyle` ISO). `TimeZone` (`SET TimeZone = 'America/New_York'`, `SET TIME ZONE -5`,
 * `SET TIME ZONE INTERVAL '-05:00' HOUR TO MINUTE`, `RESET TimeZone`) is the connection's own: the connection applies it (pg-timezone.ts), as are
 * `transaction_isolation` and `default_transaction_isolation` (pg-transaction.ts). Any
 * other `SET` is refused with a SQLSTATE, never run: a query session is read-only and its
 * settings are the server's.
 */
import { PgFault } from './pg-errors.js';
import type { IsolationLevel } from './pg-settings.js';
import { badTimeZone, offsetZone, type PgTimeZone, timeZoneOf } from './pg-timezone.js';

/** What an accepted SET did: its command tag, a parameter to report to the client, a time zone or isolation level to take. */
export interface SetOutcome {
  readonly tag: 'SET' | 'RESET';
  readonly report?: readonly [string, string];
  /** The connection's time zone becomes this one ('default': the one it started with). */
  readonly timeZone?: PgTimeZone | 'default';
  /** The block's isolation level (`transaction_isolation`) or the default one (undefined level: read committed). */
  readonly isolation?: { readonly default: boolean; readonly level?: IsolationLevel };
}

/** Settings whose value this server does not act on: any value is accepted. */
const IGNORED = new Set(['extra_float_digits', 'application_name', 'client_min_messages']);

/** Settings fixed to one value: setting that value (any case, quoted or not) is accepted. */
const FIXED: Record<string, RegExp> = {
  client_encoding: /^(utf8|utf-8|unicode)$/i,
  datestyle: /^iso(\s*,\s*(mdy|ymd|dmy))?$/i,
  standard_conforming_strings: /^on$/i,
  intervalstyle: /^postgres$/i,
  transaction_read_only: /^(on|true|yes|1)$/i,
  default_transaction_read_only: /^(on|true|yes|1)$/i,
};

/** The isolation settings, and the levels they take. */
const ISOLATION = new Set(['transaction_isolation', 'default_transaction_isolation']);
const LEVEL = /^(serializable|repeatable read|read committed|read uncommitted)$/;

/** `SET [default_]transaction_isolation` to a value as written (DEFAULT: read committed by default, the block's level unchanged). */
function setIsolation(name: string, value: string): SetOutcome {
  const isDefault = name === 'default_transaction_isolation';
  if (/^default$/i.test(value))
    return isDefault ? { tag: 'SET', isolation: { default: true } } : { tag: 'SET' };
  const level = value.toLowerCase().replace(/\s+/g, ' ');
  if (!LEVEL.test(level))
    throw new PgFault(
      '22023',
      `invalid value for parameter "${name}": "${value}" (serializable, repeatable read, read committed or read uncommitted)`,
    );
  return { tag: 'SET', isolation: { default: isDefault, level: level as IsolationLevel } };
}

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
  const reset = /^\s*reset\s+([A-Za-z_][\w.]*|all)\s*;?\s*$/i.exec(sql);
  if (reset) {
    const name = reset[1]!.toLowerCase();
    if (name === 'all') return { tag: 'RESET', timeZone: 'default', isolation: { default: true } };
    if (name === 'timezone') return { tag: 'RESET', timeZone: 'default' };
    if (name === 'default_transaction_isolation') return { tag: 'RESET', isolation: { default: true } };
    if (IGNORED.has(name) || name in FIXED || ISOLATION.has(name)) return { tag: 'RESET' };
    throw refused(name);
  }
  const zone = /^\s*set\s+(?:session\s+|local\s+)?time\s+zone\s+([\s\S]*?)\s*;?\s*$/i.exec(sql);
  if (zone) return setTimeZone(/^local$/i.test(zone[1]!) ? 'default' : zone[1]!);
  const m = /^\s*set\s+(?:session\s+|local\s+)?([A-Za-z_][\w.]*)\s*(?:=|\bto\b)\s*([\s\S]*?)\s*;?\s*$/i.exec(
    sql,
  );
  if (!m) {
    if (/^\s*set\s/i.test(sql))
      throw new PgFault('0A000', `this form of SET is not supported: ${sql.trim()}`);
    return undefined;
  }
  const name = m[1]!.toLowerCase();
  if (name === 'timezone') return setTimeZone(m[2]!);
  const value = unquote(m[2]!);
  if (ISOLATION.has(name)) return setIsolation(name, value);
  if (IGNORED.has(name)) {
    return name === 'application_name' ? { tag: 'SET', report: ['application_name', value] } : { tag: 'SET' };
  }
  const fixed = FIXED[name];
  if (fixed && (fixed.test(value) || /^default$/i.test(value))) return { tag: 'SET' };
  throw refused(name, fixed ? value : undefined);
}

/**
 * The seconds east of UTC of `INTERVAL '-05:00' HOUR TO MINUTE` (also `'-5' HOUR`,
 * `'-5 hours'`), as `SET TIME ZONE` takes it; undefined when it is not that form.
 */
function intervalOffset(written: string): number | undefined {
  const m =
    /^interval\s+'\s*([+-]?)(\d{1,2})(?::(\d\d))?(\s*hours?)?\s*'(\s+hour(?:\s+to\s+minute)?)?$/i.exec(
      written.trim(),
    );
  // `INTERVAL '5'` alone is five seconds.
  if (!m || (m[3] === undefined && !m[4] && !m[5])) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60);
}

/**
 * `SET TimeZone` to a value as written: a zone name, quoted or not, a number of hours
 * (`-5`), an INTERVAL, or DEFAULT.
 */
function setTimeZone(written: string): SetOutcome {
  const value = unquote(written);
  if (/^default$/i.test(written.trim())) return { tag: 'SET', timeZone: 'default' };
  const seconds = /^interval\s/i.test(written.trim()) ? intervalOffset(written) : undefined;
  const zone = seconds !== undefined ? offsetZone(seconds) : timeZoneOf(value);
  if (!zone)
    throw new PgFault('22023', seconds !== undefined ? badTimeZone(value, seconds) : badTimeZone(value));
  return { tag: 'SET', timeZone: zone };
}

function refused(name: string, value?: string): PgFault {
  const what = value === undefined ? `setting "${name}"` : `"${name}" = '${value}'`;
  return new PgFault(
    '0A000',
    `SET of ${what} is not supported: this server is read-only and keeps its own settings (UTF8, ISO dates) but TimeZone; it accepts SET of ${[...IGNORED].join(', ')} as no-ops`,
  );
}
