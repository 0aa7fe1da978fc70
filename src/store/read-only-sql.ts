/**
 * What `periscope query` lets through: exactly one statement that only reads (SELECT and its
 * DuckDB spellings FROM, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT, EXPLAIN).
 * Everything else is refused before it runs, with a message naming the statement. This is
 * the first guard; the second is the database itself, opened read-only by the CLI with file
 * access, extension installs and extension loading switched off.
 */
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import { StatementType } from './duckdb-api.js';

const READING = new Set([
  'SELECT',
  'WITH',
  'FROM',
  'VALUES',
  'TABLE',
  'DESCRIBE',
  'SHOW',
  'SUMMARIZE',
  'PIVOT',
  'UNPIVOT',
  'EXPLAIN',
]);

/** Strips leading whitespace, comments and opening parentheses. */
export function statementStart(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.replace(/^\s+/, '').replace(/^\(+/, '');
    if (t.startsWith('--')) s = t.slice(t.indexOf('\n') < 0 ? t.length : t.indexOf('\n'));
    else if (t.startsWith('/*')) s = t.slice(t.indexOf('*/') < 0 ? t.length : t.indexOf('*/') + 2);
    else if (t === s) return s;
    else s = t;
  }
}

function firstWords(sql: string): string[] {
  return statementStart(sql)
    .split(/[^A-Za-z_]+/, 3)
    .map((w) => w.toUpperCase());
}

function refuse(what: string): never {
  throw new PeriscopeError(
    'bad-usage',
    `${what} statements are refused: periscope query only reads (SELECT …); stored snapshots change only through \`periscope snapshot\` and \`periscope import\``,
  );
}

/**
 * Parses and prepares one read-only statement, or throws a PeriscopeError saying why not.
 * `ready` runs once the text passed the checks, before DuckDB binds it (a session builds the
 * views the statement names there).
 */
export async function prepareReadOnly(
  conn: DuckDBConnection,
  sql: string,
  ready?: () => Promise<void>,
): Promise<DuckDBPreparedStatement> {
  if (statementStart(sql).trim() === '')
    throw new PeriscopeError('bad-usage', 'the query is empty; give one SELECT statement');
  let count: number;
  try {
    count = (await conn.extractStatements(sql)).count;
  } catch (e) {
    throw sqlError(e);
  }
  if (count !== 1)
    throw new PeriscopeError('bad-usage', `give exactly one SQL statement (this query has ${count})`);
  const [w0, w1, w2] = firstWords(sql);
  if (!READING.has(w0 ?? '')) refuse(w0 || 'these');
  if (w0 === 'EXPLAIN') {
    const next = w1 === 'ANALYZE' ? w2 : w1;
    if (!READING.has(next ?? '')) refuse(next ?? 'these');
  }
  await ready?.();
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await conn.prepare(sql);
  } catch (e) {
    throw sqlError(e);
  }
  const t = prepared.statementType;
  if (t !== StatementType.SELECT && t !== StatementType.EXPLAIN && t !== StatementType.PRAGMA)
    refuse(StatementType[t] ?? 'these');
  return prepared;
}

/** DuckDB's message for a failed query (with its LINE/caret position) as a user error. */
export function sqlError(e: unknown): PeriscopeError {
  if (e instanceof PeriscopeError) return e;
  const msg = (e instanceof Error ? e.message : String(e)).replace(/^Failed to extract statements: /, '');
  return new PeriscopeError('bad-usage', `query failed: ${msg}`);
}
