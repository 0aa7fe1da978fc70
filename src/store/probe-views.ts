/**
 * The probe tables a query sees, as temporary views: every event (`probe_events`), counters
 * and duration histograms per interval (`probe_counts`, `probe_durations`), notices
 * (`probe_notices`), and one table per probe of the current spec, named after it, with a
 * column per capture (values matched by expression, so a renamed column shows old events
 * too), typed from the JSON types of its values as function tables are. Events belong to no
 * snapshot: every scope sees all of them; they join snapshot tables on process_id and
 * goroutine_id.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Spec } from '../spec/spec-types.js';
import { columnType, type ValueType } from './function-tables.js';
import { BUILTIN_TABLES } from './schema.js';
import { ident, literal } from './sql-text.js';

const time = (col: string, as: string) => `make_timestamptz(${col}) AS ${as}`;

/** The SQL of the built-in probe views. */
export const PROBE_VIEWS: readonly (readonly [string, string])[] = [
  [
    'probe_events',
    `SELECT seq, probe, process_id, agent_id, ${time('time_us', '"time"')}, goroutine_id, thread_id, site_kind, function, file, line, duration_ns, captures, errors, stack, labels FROM raw.probe_events`,
  ],
  [
    'probe_counts',
    `SELECT probe, process_id, agent_id, ${time('start_us', 'start_time')}, ${time('end_us', 'end_time')}, hits, matched, events, rejected, condition_errors, rate_limited, ring_full, agent_dropped, durations, duration_sum_ns, cost_ns, cpu_ns FROM raw.probe_counts`,
  ],
  [
    'probe_durations',
    `SELECT probe, process_id, agent_id, ${time('start_us', 'start_time')}, ${time('end_us', 'end_time')}, lt_ns, count FROM raw.probe_durations`,
  ],
  [
    'probe_notices',
    `SELECT ${time('time_us', '"time"')}, probe, process_id, agent_id, kind, message FROM raw.probe_notices`,
  ],
];

function typed(v: string, t: ValueType | undefined, check: boolean): string {
  switch (t) {
    case undefined:
      return check ? 'NULL' : `captures -> ${v}`;
    case 'BIGINT':
    case 'DOUBLE':
    case 'BOOLEAN':
      return `TRY_CAST(captures -> ${v} AS ${t})`;
    case 'VARCHAR':
      return `captures ->> ${v}`;
    case 'JSON':
      return `captures -> ${v}`;
  }
}

/** Columns every probe table starts with. */
export const PROBE_TABLE_KEYS = [
  'seq',
  'time',
  'process_id',
  'goroutine_id',
  'thread_id',
  'function',
  'file',
  'line',
  'duration_ns',
] as const;

/** Creates the probe views on `conn`; problems with the spec's probes are returned, not thrown. */
export async function createProbeViews(
  conn: DuckDBConnection,
  spec: Spec,
  check: boolean,
  processes?: string,
): Promise<{ message: string; at?: { line: number; column: number } }[]> {
  // `processes`: the SQL of the process ids a token limited to programs may see (process-filter.ts).
  const only = processes ? ` AND process_id IN (${processes})` : '';
  for (const [name, sql] of PROBE_VIEWS)
    await conn.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * FROM (${sql}) WHERE true${only}`);
  const probes = spec.probes ?? [];
  const problems: { message: string; at?: { line: number; column: number } }[] = [];
  if (probes.length === 0) return problems;
  const r = await conn.runAndReadAll(
    `SELECT probe, expr, list(DISTINCT json_type) FROM raw.probe_value_types WHERE probe IN (${probes.map((p) => literal(p.name)).join(', ')}) GROUP BY probe, expr`,
  );
  const types = new Map<string, ValueType>();
  for (const [p, e, ts] of r.getRowsJS())
    types.set(`${p}\u0000${e}`, columnType(((ts as string[] | null) ?? []).map(String)));
  const builtin = new Set<string>(BUILTIN_TABLES);
  for (const p of probes) {
    if (builtin.has(p.name.toLowerCase())) {
      problems.push({
        message: `probe "${p.name}": ${p.name} is a built-in table; choose another name`,
        ...(p.at ? { at: p.at } : {}),
      });
      continue;
    }
    const keys = new Set<string>([...PROBE_TABLE_KEYS, 'errors', 'stack', 'labels']);
    const cols = p.capture.map((c) => {
      if (keys.has(c.column))
        problems.push({
          message: `probe "${p.name}": column "${c.column}" is a column every probe table has`,
          ...(c.at ? { at: c.at } : {}),
        });
      return `${typed(literal(c.expr), types.get(`${p.name}\u0000${c.expr}`), check)} AS ${ident(c.column)}`;
    });
    const sql =
      `SELECT seq, ${time('time_us', '"time"')}, process_id, goroutine_id, thread_id, function, file, line, duration_ns` +
      `${cols.length > 0 ? `, ${cols.join(', ')}` : ''}, errors, stack, labels FROM raw.probe_events WHERE probe = ${literal(p.name)}${only}`;
    try {
      await conn.run(`CREATE OR REPLACE TEMP VIEW ${ident(p.name)} AS ${sql}`);
    } catch (e) {
      problems.push({
        message: `probe table "${p.name}": ${(e as Error).message.split('\n')[0]}`,
        ...(p.at ? { at: p.at } : {}),
      });
    }
  }
  return problems;
}
