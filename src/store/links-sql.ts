/**
 * The `links` view: for every spec link, the pairs of rows of its `from` and `to` tables
 * whose link columns are equal, within one snapshot and across processes. Each row names
 * both ends by table, process, goroutine and frame depth.
 */
import type { LinkSpec } from '../spec/spec-types.js';
import { ident, literal } from './sql-text.js';

/** Columns of the `links` view, in order. */
export const LINK_COLUMNS = [
  'link',
  'snapshot_id',
  'from_table',
  'from_process_id',
  'from_goroutine_id',
  'from_depth',
  'to_table',
  'to_process_id',
  'to_goroutine_id',
  'to_depth',
  'key',
] as const;

/** Name -> type of the columns of a table, as DESCRIBE reports them. */
export type TableColumns = ReadonlyMap<string, string>;

/** Why a link cannot be built over these tables, or undefined when it can. */
export function linkProblem(link: LinkSpec, from: TableColumns | undefined, to: TableColumns | undefined) {
  for (const [end, t, cols] of [
    ['from', from, link.from],
    ['to', to, link.to],
  ] as const) {
    if (!t) return `link "${link.name}": its ${end} table "${cols.table}" does not exist`;
    if (!t.has('snapshot_id')) return `link "${link.name}": table "${cols.table}" has no snapshot_id column`;
    for (const c of cols.columns)
      if (!t.has(c)) return `link "${link.name}": table "${cols.table}" has no column "${c}"`;
  }
  return undefined;
}

function end(alias: string, cols: TableColumns, c: string): string {
  return cols.has(c) ? `${alias}.${c}` : 'NULL';
}

/** The SELECT for one link (its tables must pass linkProblem). */
export function linkSelectSql(link: LinkSpec, from: TableColumns, to: TableColumns): string {
  const conds = ['f.snapshot_id = t.snapshot_id'];
  const keyParts: string[] = [];
  link.from.columns.forEach((fc, i) => {
    const tc = link.to.columns[i]!;
    const same = from.get(fc) === to.get(tc);
    const l = same ? `f.${ident(fc)}` : `CAST(f.${ident(fc)} AS VARCHAR)`;
    const r = same ? `t.${ident(tc)}` : `CAST(t.${ident(tc)} AS VARCHAR)`;
    conds.push(`${l} = ${r}`);
    keyParts.push(`${literal(fc)}: f.${ident(fc)}`);
  });
  if (link.from.table === link.to.table) {
    const same = ['process_id', 'goroutine_id', 'depth'].map(
      (c) => `${end('f', from, c)} IS NOT DISTINCT FROM ${end('t', to, c)}`,
    );
    conds.push(`NOT (${same.join(' AND ')})`);
  }
  return (
    `SELECT ${literal(link.name)} AS link, f.snapshot_id AS snapshot_id, ` +
    `${literal(link.from.table)} AS from_table, CAST(${end('f', from, 'process_id')} AS VARCHAR) AS from_process_id, ` +
    `CAST(${end('f', from, 'goroutine_id')} AS BIGINT) AS from_goroutine_id, CAST(${end('f', from, 'depth')} AS INTEGER) AS from_depth, ` +
    `${literal(link.to.table)} AS to_table, CAST(${end('t', to, 'process_id')} AS VARCHAR) AS to_process_id, ` +
    `CAST(${end('t', to, 'goroutine_id')} AS BIGINT) AS to_goroutine_id, CAST(${end('t', to, 'depth')} AS INTEGER) AS to_depth, ` +
    `to_json({${keyParts.join(', ')}}) AS key ` +
    `FROM ${ident(link.from.table)} f JOIN ${ident(link.to.table)} t ON ${conds.join(' AND ')}`
  );
}

/** The empty `links` view, used when the spec has no (buildable) links. */
export const EMPTY_LINKS_SQL =
  'SELECT NULL::VARCHAR AS link, NULL::BIGINT AS snapshot_id, NULL::VARCHAR AS from_table, ' +
  'NULL::VARCHAR AS from_process_id, NULL::BIGINT AS from_goroutine_id, NULL::INTEGER AS from_depth, ' +
  'NULL::VARCHAR AS to_table, NULL::VARCHAR AS to_process_id, NULL::BIGINT AS to_goroutine_id, ' +
  'NULL::INTEGER AS to_depth, NULL::JSON AS key WHERE false';
