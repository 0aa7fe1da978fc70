/**
 * The PostgreSQL settings this server reports (`server_version`, …), and the rewrite that
 * gives `current_setting('…')` of them those values in a statement DuckDB runs: DuckDB knows
 * no `server_version_num` and fails the whole statement (Grafana asks it when a data source
 * is saved, BI tools when they connect).
 */

/** The PostgreSQL release this server presents itself as. */
export const SERVER_VERSION = '15.0';

/** The same as a number, as `server_version_num` gives it. */
export const SERVER_VERSION_NUM = '150000';

/** An isolation level as PostgreSQL spells it in `SHOW transaction_isolation`. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** A connection's isolation levels: its transaction's (pg-transaction.ts) and its default. */
export interface Isolation {
  readonly current: IsolationLevel;
  readonly default: IsolationLevel;
}

/** The settings of a connection that are its own: its time zone's name and its isolation levels. */
export interface ConnectionSettings {
  readonly timeZone: string;
  readonly isolation: Isolation;
}

const VALUES: Record<string, string> = {
  server_version: SERVER_VERSION,
  server_version_num: SERVER_VERSION_NUM,
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  standard_conforming_strings: 'on',
  integer_datetimes: 'on',
  intervalstyle: 'postgres',
  // Every transaction is read-only. The isolation levels are the connection's (ConnectionSettings).
  transaction_read_only: 'on',
  default_transaction_read_only: 'on',
};

/** A setting's value when it is the connection's own; undefined for the others. */
function own(key: string, c: ConnectionSettings): string | undefined {
  if (key === 'timezone') return c.timeZone;
  if (key === 'transaction_isolation') return c.isolation.current;
  if (key === 'default_transaction_isolation') return c.isolation.default;
  return undefined;
}

/** The settings SHOW gives (SHOW ALL lists them), as PostgreSQL spells their names. */
const SHOWN = [
  'DateStyle',
  'IntervalStyle',
  'TimeZone',
  'client_encoding',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'integer_datetimes',
  'server_encoding',
  'server_version',
  'server_version_num',
  'standard_conforming_strings',
  'transaction_isolation',
  'transaction_read_only',
];

/** A setting's name as PostgreSQL spells it and its value (the connection's own from `c`); undefined for others. */
export function shownSetting(name: string, c: ConnectionSettings): readonly [string, string] | undefined {
  const key = name.toLowerCase();
  const spelled = SHOWN.find((n) => n.toLowerCase() === key);
  if (!spelled) return undefined;
  return [spelled, own(key, c) ?? VALUES[key]!];
}

/** Every setting SHOW gives, with its value. */
export function shownSettings(c: ConnectionSettings): (readonly [string, string])[] {
  return SHOWN.map((n) => shownSetting(n, c)!);
}

/**
 * The statement with `current_setting('NAME')` of the settings above, and of the connection's
 * own (`TimeZone`, the isolation levels: `c`), replaced by their values as literals.
 */
export function pgSettingsRewrite(sql: string, c: ConnectionSettings): string {
  if (!/current_setting/i.test(sql)) return sql;
  return sql.replace(
    /(?:pg_catalog\.)?current_setting\s*\(\s*'([A-Za-z_]+)'\s*\)/gi,
    (whole, name: string) => {
      const key = name.toLowerCase();
      const v = own(key, c) ?? VALUES[key];
      return v === undefined ? whole : `'${v.replace(/'/g, "''")}'`;
    },
  );
}
