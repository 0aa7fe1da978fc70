/**
 * What one goroutine links to (it is the `from` end) and is linked from (the `to` end),
 * with the goroutine at the other end: its status and wait reason, and the function of its
 * frame the link was made on (the frame of its row in the link's table, e.g. main.handle), not
 * its innermost frame (where it waits: runtime.gopark and the like).
 */
import type { DuckDBConnection, DuckDBResultReader } from '@duckdb/node-api';

/** Columns of the result, in order. */
export const GOROUTINE_LINK_COLUMNS = [
  'direction',
  'link',
  'depth',
  'other_table',
  'other_process_id',
  'other_goroutine_id',
  'other_depth',
  'other_status',
  'other_wait_reason',
  'other_function',
  'key',
] as const;

function side(dir: '->' | '<-', self: 'from' | 'to', other: 'from' | 'to'): string {
  return (
    `SELECT '${dir}' AS direction, l.link, l.${self}_depth AS depth, l.${other}_table AS other_table, ` +
    `l.${other}_process_id AS other_process_id, l.${other}_goroutine_id AS other_goroutine_id, ` +
    `l.${other}_depth AS other_depth, g.status AS other_status, g.wait_reason AS other_wait_reason, ` +
    `coalesce(f.function, g.top_function) AS other_function, l.key FROM links l LEFT JOIN goroutines g ` +
    `ON g.process_id = l.${other}_process_id AND g.goroutine_id = l.${other}_goroutine_id ` +
    `LEFT JOIN frames f ON f.process_id = l.${other}_process_id ` +
    `AND f.goroutine_id = l.${other}_goroutine_id AND f.depth = l.${other}_depth ` +
    `WHERE l.${self}_process_id = $1 AND l.${self}_goroutine_id = $2`
  );
}

/** Runs the links query on a connection whose views show one snapshot. */
export async function linksOfGoroutine(
  conn: DuckDBConnection,
  processId: string,
  goroutineId: number,
): Promise<DuckDBResultReader> {
  const p = await conn.prepare(
    `${side('->', 'from', 'to')} UNION ALL ${side('<-', 'to', 'from')} ORDER BY direction DESC, link, other_process_id, other_goroutine_id`,
  );
  p.bindVarchar(1, processId);
  p.bindBigInt(2, BigInt(goroutineId));
  return p.runAndReadAll();
}
