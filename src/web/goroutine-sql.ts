/**
 * The SQL of the goroutines view: filters, stack groups, one group's goroutines and one
 * goroutine's frames and values. Grouping and filtering run in the database (a 100k-goroutine
 * snapshot sends the browser only its groups). No DOM: tests run these queries on a real store.
 */
import type { GoroutineFilters, GroupSort } from './routes.js';
import { lit } from './sql.js';

/** The most stack groups one answer holds (the view says when there are more). */
export const MAX_GROUPS = 5000;

/** The most goroutines of one group listed. */
export const MAX_GROUP_GOROUTINES = 2000;

/** A JSON path naming one key (`$."key"`). */
function keyPath(key: string): string {
  return lit(`$."${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
}

/** The frames of visible stacks, numbered from the outermost (pos 0): what a stack prefix and the flame graph use. */
const STACK_POSITIONS =
  'SELECT stack_id, function, row_number() OVER (PARTITION BY stack_id ORDER BY depth DESC) - 1 AS pos FROM stacks WHERE NOT hidden';

/** The conditions of the filters on goroutines `g` (a SQL boolean; `true` when none). */
export function filterCondition(f: GoroutineFilters): string {
  const c: string[] = [];
  if (f.fn)
    c.push(
      `g.stack_id IN (SELECT stack_id FROM stacks WHERE NOT hidden AND contains(lower(function), lower(${lit(f.fn)})))`,
    );
  if (f.pkg)
    c.push(
      `g.stack_id IN (SELECT stack_id FROM stacks WHERE NOT hidden AND starts_with(function, ${lit(`${f.pkg}.`)}))`,
    );
  if (f.prefix && f.prefix.length > 0) {
    const terms = f.prefix.map((fn, i) => `(pos = ${i} AND function = ${lit(fn)})`).join(' OR ');
    c.push(
      `g.stack_id IN (SELECT stack_id FROM (${STACK_POSITIONS}) WHERE ${terms} GROUP BY stack_id HAVING count(*) = ${f.prefix.length})`,
    );
  }
  if (f.status) c.push(`g.status = ${lit(f.status)}`);
  if (f.wait) c.push(`g.wait_reason = ${lit(f.wait)}`);
  if (f.label) {
    const eq = f.label.indexOf('=');
    if (eq < 0) c.push(`json_extract(g.labels, ${keyPath(f.label)}) IS NOT NULL`);
    else
      c.push(
        `json_extract_string(g.labels, ${keyPath(f.label.slice(0, eq))}) = ${lit(f.label.slice(eq + 1))}`,
      );
  }
  if (f.value)
    c.push(
      'EXISTS (SELECT 1 FROM captured c WHERE c.snapshot_id = g.snapshot_id AND c.process_id = g.process_id ' +
        `AND c.goroutine_id = g.goroutine_id AND contains(lower(CAST(c.value AS VARCHAR)), lower(${lit(f.value)})))`,
    );
  if (f.process) c.push(`g.process_id = ${lit(f.process)}`);
  if (f.minWaitMs) c.push(`g.wait_ns >= ${Math.round(f.minWaitMs * 1e6)}`);
  return c.length > 0 ? c.join(' AND ') : 'true';
}

/** One row of `groupsSql`. */
export interface GroupRow {
  readonly stack_id: string;
  readonly goroutines: number;
  readonly processes: number;
  readonly statuses: string[];
  readonly wait_reasons: string[] | null;
  readonly longest_wait_ns: number | null;
  /** `hostname:pid:goid` of the goroutine that waited longest (else any). */
  readonly longest: string;
  /** The functions of the visible frames, innermost first (the flame graph's; files come on expanding). */
  readonly functions: string[] | null;
  /**
   * The frame the group is named by: the innermost of the program's own code (main or a module
   * path), else the innermost outside the runtime, else the innermost.
   */
  readonly head_function: string | null;
  /** Its `file:line`. */
  readonly head_place: string | null;
  /** Goroutines matching the filters, all groups. */
  readonly total: number;
  /** Groups matching the filters (more than the rows when over MAX_GROUPS). */
  readonly group_count: number;
}

/** Whether a frame's function is the program's own (main, or a path whose first element has a dot). */
const OWN_CODE = `(CASE WHEN contains(function, '/') THEN split_part(function, '/', 1) ELSE split_part(function, '.', 1) END) IN ('main')
  OR contains(CASE WHEN contains(function, '/') THEN split_part(function, '/', 1) ELSE split_part(function, '.', 1) END, '.')`;

/**
 * Goroutines grouped by identical stack, with their functions and the frame each is named by,
 * largest (or longest waiting) first. Only function names travel for every group: with files
 * and lines, a 10k-goroutine snapshot on 512 stacks of 25 frames was a 1.1 MB answer, and its
 * conversion in the server twice the time (bench/web-goroutines.ts).
 */
export function groupsSql(f: GoroutineFilters, sort: GroupSort, limit = MAX_GROUPS): string {
  const order =
    sort === 'wait'
      ? 'longest_wait_ns DESC NULLS LAST, goroutines DESC, stack_id'
      : 'goroutines DESC, longest_wait_ns DESC NULLS LAST, stack_id';
  return `WITH g AS (SELECT * FROM goroutines g WHERE ${filterCondition(f)}),
grp AS (
  SELECT stack_id, count(*) AS goroutines, count(DISTINCT process_id) AS processes,
         list(DISTINCT status ORDER BY status) AS statuses,
         list(DISTINCT wait_reason ORDER BY wait_reason) FILTER (WHERE wait_reason <> '') AS wait_reasons,
         max(wait_ns) AS longest_wait_ns,
         arg_max(process_id || ':' || goroutine_id, coalesce(wait_ns, -1)) AS longest
  FROM g GROUP BY stack_id
),
top AS (SELECT *, sum(goroutines) OVER () AS total, count(*) OVER () AS group_count FROM grp ORDER BY ${order} LIMIT ${limit}),
fr AS (
  SELECT stack_id, list(function ORDER BY depth) AS functions,
         arg_min(function, head_rank * 100000 + depth) AS head_function,
         arg_min(file || ':' || line, head_rank * 100000 + depth) AS head_place
  FROM (
    SELECT stack_id, depth, function, file, line,
           CASE WHEN ${OWN_CODE} THEN 0
                WHEN NOT (starts_with(function, 'runtime.') OR starts_with(function, 'internal/')) THEN 1
                ELSE 2 END AS head_rank
    FROM stacks WHERE NOT hidden AND stack_id IN (SELECT stack_id FROM top)
  ) GROUP BY stack_id
)
SELECT top.*, fr.functions, fr.head_function, fr.head_place FROM top LEFT JOIN fr USING (stack_id) ORDER BY ${order}`;
}

/** One frame of `groupFramesSql`. */
export interface GroupFrameRow {
  readonly function: string;
  readonly file: string;
  readonly line: number;
}

/** The visible frames of one stack, innermost first (a group opened). */
export function groupFramesSql(stackId: string): string {
  return `SELECT function, file, line FROM stacks WHERE stack_id = ${lit(stackId)} AND NOT hidden ORDER BY depth`;
}

/** One row of `facetsSql`: a status and wait reason with their count. */
export interface FacetRow {
  readonly status: string;
  readonly wait_reason: string | null;
  readonly n: number;
}

/** Statuses and wait reasons of the snapshot's goroutines (for the filter menus). */
export function facetsSql(): string {
  return 'SELECT status, wait_reason, count(*) AS n FROM goroutines GROUP BY ALL ORDER BY n DESC';
}

/** One row of `groupGoroutinesSql`. */
export interface GoroutineRow {
  readonly process_id: string;
  readonly goroutine_id: number;
  readonly status: string;
  readonly wait_reason: string | null;
  readonly wait_ns: number | null;
  readonly labels: Record<string, string> | null;
}

/** The goroutines of one stack group that match the filters, longest waiting first. */
export function groupGoroutinesSql(
  f: GoroutineFilters,
  stackId: string,
  limit = MAX_GROUP_GOROUTINES,
): string {
  return `SELECT process_id, goroutine_id, status, wait_reason, wait_ns, labels FROM goroutines g
WHERE g.stack_id = ${lit(stackId)} AND ${filterCondition(f)}
ORDER BY wait_ns DESC NULLS LAST, process_id, goroutine_id LIMIT ${limit}`;
}

/** `hostname:pid:goid` split into the process id and the goroutine id. */
export function splitGoroutine(ref: string): { processId: string; goroutineId: number } | undefined {
  const m = /^(.+:\d+):(\d+)$/.exec(ref);
  return m?.[1] && m[2] ? { processId: m[1], goroutineId: Number(m[2]) } : undefined;
}

function oneGoroutine(processId: string, goroutineId: number, alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `${a}process_id = ${lit(processId)} AND ${a}goroutine_id = ${Math.trunc(goroutineId)}`;
}

/** One goroutine's row with its process's program. */
export function goroutineSql(processId: string, goroutineId: number): string {
  return `SELECT g.*, p.program, p.hostname, p.pid FROM goroutines g JOIN processes p USING (snapshot_id, process_id)
WHERE ${oneGoroutine(processId, goroutineId, 'g')}`;
}

/** One row of `framesSql`. */
export interface FrameRow {
  readonly depth: number;
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly inlined: boolean;
  readonly hidden: boolean;
  /** Values captured on this frame (null when none). */
  readonly captured:
    | { column: string; expr: string; table_name: string; value: string | null; error: string | null }[]
    | null;
}

/** One goroutine's frames, innermost first, each with its captured values (value as JSON text). */
export function framesSql(processId: string, goroutineId: number): string {
  const where = oneGoroutine(processId, goroutineId);
  return `WITH c AS (
  SELECT depth, list({'column': "column", 'expr': expr, 'table_name': table_name, 'value': CAST(value AS VARCHAR), 'error': error} ORDER BY "column") AS captured
  FROM captured WHERE ${where} GROUP BY depth
)
SELECT f.depth, f.function, f.file, f.line, f.inlined, f.hidden, c.captured
FROM frames f LEFT JOIN c USING (depth) WHERE ${oneGoroutine(processId, goroutineId, 'f')} ORDER BY f.depth`;
}
