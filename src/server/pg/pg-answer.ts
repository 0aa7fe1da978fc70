/**
 * What a statement answers over the PostgreSQL protocol: the catalog queries clients send
 * while browsing (psql's, Grafana's) are answered from the session's own tables, the rest
 * runs in DuckDB after the PostgreSQL settings clients read are given their values.
 */
import type { QuerySession, ResultColumn, TextStream } from '../../store/store.js';
import { type CatalogTables, catalogAnswer, catalogFallback } from './pg-catalog.js';
import { grafanaAnswer } from './pg-grafana.js';
import { jdbcCatalogAnswer } from './pg-jdbc-catalog.js';
import { pgColumnName } from './pg-names.js';
import type { SetOutcome } from './pg-set.js';
import { type Isolation, pgSettingsRewrite } from './pg-settings.js';
import { showAnswer } from './pg-show.js';
import type { PgTimeZone } from './pg-timezone.js';
import { isTransactionStatement } from './pg-transaction.js';
import { cellSql, type WireColumn, wireColumn } from './pg-types.js';

/** Rows with their columns. */
export interface Rows {
  readonly columns: readonly WireColumn[];
  readonly rows: readonly (readonly (string | null)[])[];
  /** The command tag, when it is not `SELECT n` (`SHOW`, as PostgreSQL's for a setting). */
  readonly tag?: string;
}

/** Rows with their columns, read a chunk at a time as they are sent (a large answer never held whole). */
export interface StreamedRows {
  readonly columns: readonly WireColumn[];
  readonly stream: TextStream;
}

/** A statement's answer: rows (held or streamed), a command with no rows (an accepted SET), or the empty query. */
export type Answer = Rows | StreamedRows | { readonly command: SetOutcome } | 'empty';

/** DuckDB's result columns as sent, named as PostgreSQL names them (`?column?`), TIMESTAMPTZ printed in `zone`. */
function wireColumns(columns: readonly ResultColumn[], sql: string, zone: PgTimeZone): WireColumn[] {
  return columns.map((c) => wireColumn({ ...c, name: pgColumnName(c.name, sql) }, zone));
}

/** Every table of a session, as the catalog answers need them. */
function tablesOf(session: QuerySession): CatalogTables {
  return async () => {
    const r = await session.queryText(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_catalog = 'temp' ORDER BY table_name, ordinal_position",
    );
    return r.rows.map(([t, c, d]) => [t ?? '', c ?? '', d ?? ''] as const);
  };
}

/** The answer to a catalog query this server knows without DuckDB, or undefined. */
async function knownAnswer(
  session: QuerySession,
  sql: string,
  params: readonly (string | null)[],
): Promise<Answer | undefined> {
  const tables = tablesOf(session);
  // The catalog name JDBC reads from `current_catalog` too.
  const database = async () =>
    String((await session.queryText('SELECT current_database()')).rows[0]?.[0] ?? '');
  return (
    (await catalogAnswer(sql, tables)) ??
    (await jdbcCatalogAnswer(sql, params, tables, database)) ??
    (await grafanaAnswer(sql, tables))
  );
}

/** The highest `$n` of a statement (the parameters a catalog query answered here takes). */
function paramCount(sql: string): number {
  return Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
}

/**
 * Runs one statement (not a SET, not empty) in the session and returns its answer: DuckDB's
 * rows streamed (read as they are sent), TIMESTAMPTZ values in the connection's time zone,
 * the connection's isolation levels where SHOW and `current_setting` read them.
 */
export async function answerStatement(
  session: QuerySession,
  sql: string,
  params: readonly (string | null)[],
  zone: PgTimeZone,
  isolation: Isolation,
): Promise<Answer> {
  const settings = { timeZone: zone.name, isolation };
  const known = showAnswer(sql, settings) ?? (await knownAnswer(session, sql, params));
  if (known) return known;
  const text = pgSettingsRewrite(sql, settings);
  try {
    const s = await session.streamText(text, params, cellSql(zone));
    return { columns: wireColumns(s.columns, sql, zone), stream: s };
  } catch (e) {
    const fallback = catalogFallback(sql);
    if (!fallback) throw e;
    return fallback;
  }
}

/** A prepared statement's parameter count and columns (undefined: it returns no rows), for Describe. */
export async function describeStatement(
  session: QuerySession,
  sql: string,
  zone: PgTimeZone,
  isolation: Isolation,
): Promise<{ readonly params: number; readonly columns?: readonly WireColumn[] }> {
  // A SET or a transaction-control statement has no rows; one this server refuses fails (and is audited) when executed.
  if (/^\s*(set|reset)\s/i.test(sql) || isTransactionStatement(sql)) return { params: 0 };
  const settings = { timeZone: zone.name, isolation };
  const known = showAnswer(sql, settings) ?? (await knownAnswer(session, sql, []));
  if (known)
    return {
      params: paramCount(sql),
      ...(known !== 'empty' && 'columns' in known ? { columns: known.columns } : {}),
    };
  const d = await session.describe(pgSettingsRewrite(sql, settings));
  return { params: d.params, columns: wireColumns(d.columns, sql, zone) };
}
