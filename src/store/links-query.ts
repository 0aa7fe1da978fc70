/**
 * What one goroutine links to (it is the `from` end) and is linked from (the `to` end),
 * with the goroutine at the other end: its status and wait reason, and the function of its
 * frame the link was made on (the frame of its row in the link's table, e.g. main.handle), not
 * its innermost frame (where it waits: runtime.gopark and the like); and the links that
 * cannot resolve in some program of the snapshot, once per program, link and reason (from
 * `link_notes`).
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

/**
 * The snapshot's link notes as warnings, one per program, link, table and reason:
 * `link http_call cannot resolve everywhere in program orders (2 processes): http_server_conns.conn: 3 of 5 frames: why`.
 */
export async function linkNoteWarnings(conn: DuckDBConnection): Promise<string[]> {
  const r = await conn.runAndReadAll(
    'SELECT link, program, count(DISTINCT process_id) AS processes, table_name, "column", ' +
      'sum(frames) AS frames, sum(of_frames) AS of_frames, note FROM (' +
      'SELECT n.*, coalesce(p.program, n.process_id) AS program FROM link_notes n ' +
      'LEFT JOIN processes p ON p.snapshot_id = n.snapshot_id AND p.process_id = n.process_id) ' +
      'GROUP BY link, program, table_name, "column", note ORDER BY link, program, table_name, frames DESC NULLS FIRST',
  );
  return r.getRowsJS().map(([link, program, processes, table, column, frames, of, note]) => {
    const n = Number(processes);
    const count = frames === null ? '' : `${Number(frames)} of ${Number(of)} frames: `;
    return `link ${String(link)} cannot resolve everywhere in program ${String(program)} (${n} process${n === 1 ? '' : 'es'}): ${String(table)}.${String(column)}: ${count}${String(note)}`;
  });
}
