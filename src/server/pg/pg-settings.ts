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

const VALUES: Record<string, string> = {
  server_version: SERVER_VERSION,
  server_version_num: SERVER_VERSION_NUM,
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  standard_conforming_strings: 'on',
  integer_datetimes: 'on',
  intervalstyle: 'postgres',
  // Every transaction is read-only; each statement reads the store as it is when it runs.
  transaction_read_only: 'on',
  default_transaction_read_only: 'on',
  transaction_isolation: 'read committed',
  default_transaction_isolation: 'read committed',
};

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

/** A setting's name as PostgreSQL spells it and its value (`timeZone`: the connection's); undefined for others. */
export function shownSetting(name: string, timeZone: string): readonly [string, string] | undefined {
  const key = name.toLowerCase();
  const spelled = SHOWN.find((n) => n.toLowerCase() === key);
  if (!spelled) return undefined;
  return [spelled, key === 'timezone' ? timeZone : VALUES[key]!];
}

/** Every setting SHOW gives, with its value. */
export function shownSettings(timeZone: string): (readonly [string, string])[] {
  return SHOWN.map((n) => shownSetting(n, timeZone)!);
}

/**
 * The statement with `current_setting('NAME')` of the settings above, and of `TimeZone` (the
 * connection's, `timeZone`), replaced by their values as literals.
 */
export function pgSettingsRewrite(sql: string, timeZone: string): string {
  if (!/current_setting/i.test(sql)) return sql;
  return sql.replace(
    /(?:pg_catalog\.)?current_setting\s*\(\s*'([A-Za-z_]+)'\s*\)/gi,
    (whole, name: string) => {
      const key = name.toLowerCase();
      const v = key === 'timezone' ? timeZone : VALUES[key];
      return v === undefined ? whole : `'${v.replace(/'/g, "''")}'`;
    },
  );
}
