/**
 * The tables a query sees, as temporary views on its own connection: the built-in tables
 * filtered to the query's snapshots, then the current spec's function tables, derived tables
 * (in dependency order) and links on top of them. Nothing is materialized: the current spec
 * applies to every stored snapshot, old ones included.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { PeriscopeError } from '../common/errors.js';
import type { EffectiveSpec } from '../spec/effective-spec.js';
import type { Spec, SpecPosition } from '../spec/spec-types.js';
import { orderDerived } from './derived-order.js';
import {
  columnType,
  FUNCTION_TABLE_KEYS,
  functionTableSql,
  typeKey,
  type ValueType,
} from './function-tables.js';
import { EMPTY_LINKS_SQL, linkProblem, linkSelectSql, type TableColumns } from './links-sql.js';
import { createProbeViews } from './probe-views.js';
import { BUILTIN_TABLES, SNAPSHOT_TABLES } from './schema.js';
import { ident, literal } from './sql-text.js';
import type { QueryScope } from './store.js';

/** A problem with one part of the spec found while building its views. */
export interface ViewProblem {
  readonly message: string;
  readonly at?: SpecPosition;
}

/** What building the views found. */
export interface ViewBuild {
  readonly snapshotIds: number[];
  readonly problems: ViewProblem[];
}

async function scopeIds(conn: DuckDBConnection, scope: QueryScope): Promise<number[]> {
  if ('snapshot' in scope) {
    const r = await conn.runAndReadAll(`SELECT 1 FROM raw.snapshots WHERE snapshot_id = ${scope.snapshot}`);
    if (r.currentRowCount === 0)
      throw new PeriscopeError(
        'not-found',
        `no snapshot ${scope.snapshot} in this store; \`periscope query "SELECT * FROM snapshots" --all\` lists them`,
      );
    return [scope.snapshot];
  }
  const sql =
    'all' in scope
      ? 'SELECT snapshot_id FROM raw.snapshots ORDER BY snapshot_id'
      : 'SELECT max(snapshot_id) FROM raw.snapshots HAVING count(*) > 0';
  const r = await conn.runAndReadAll(sql);
  return r.getRows().map((row) => Number(row[0]));
}

async function valueTypes(conn: DuckDBConnection, spec: Spec): Promise<Map<string, ValueType>> {
  const out = new Map<string, ValueType>();
  if (spec.functions.length === 0) return out;
  const fns = spec.functions.map((f) => literal(f.function)).join(', ');
  const r = await conn.runAndReadAll(
    `SELECT function, expr, list(DISTINCT json_type) FROM raw.value_types WHERE function IN (${fns}) GROUP BY function, expr`,
  );
  for (const [fn, expr, types] of r.getRowsJS())
    out.set(typeKey(String(fn), String(expr)), columnType(((types as string[] | null) ?? []).map(String)));
  return out;
}

/** The columns (name -> type) of a view on this connection, or undefined if it does not exist. */
export async function describe(conn: DuckDBConnection, name: string): Promise<TableColumns | undefined> {
  try {
    const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${ident(name)}`);
    return new Map(r.getRows().map((row) => [String(row[0]), String(row[1])]));
  } catch {
    return undefined;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** Spec names that would hide a built-in table or a function table's key columns. */
function nameProblems(spec: Spec): ViewProblem[] {
  const out: ViewProblem[] = [];
  const builtin = new Set<string>(BUILTIN_TABLES);
  for (const f of spec.functions) {
    if (builtin.has(f.table.toLowerCase()))
      out.push({ message: `table "${f.table}" is a built-in table; choose another name`, at: f.at });
    for (const c of [...f.capture.map((x) => x.column), ...f.columns.map((x) => x.name)])
      if ((FUNCTION_TABLE_KEYS as readonly string[]).includes(c.toLowerCase()))
        out.push({
          message: `column "${c}" of table "${f.table}" is a key column every function table has`,
          at: f.at,
        });
  }
  for (const d of spec.derived)
    if (builtin.has(d.name.toLowerCase()))
      out.push({ message: `derived table "${d.name}" is a built-in table; choose another name`, at: d.at });
  return out;
}

/** Options of createQueryViews. */
export interface ViewOptions {
  /**
   * Building to check a new spec: captures with no stored value yet are untyped (see
   * functionTableSql), so only what the data cannot change is a problem.
   */
  readonly check?: boolean;
}

/** Creates every view a query sees on `conn`; problems with spec parts are returned, not thrown. */
export async function createQueryViews(
  conn: DuckDBConnection,
  spec: EffectiveSpec,
  scope: QueryScope,
  opts: ViewOptions = {},
): Promise<ViewBuild> {
  const snapshotIds = await scopeIds(conn, scope);
  const all = 'all' in scope;
  const filter = all ? '' : ` WHERE snapshot_id = ${snapshotIds[0] ?? 'NULL'}`;
  for (const [name] of SNAPSHOT_TABLES)
    await conn.run(`CREATE OR REPLACE TEMP VIEW ${name} AS SELECT * FROM raw.${name}${filter}`);
  await conn.run(
    `CREATE OR REPLACE TEMP VIEW stacks AS SELECT * FROM raw.stacks${all ? '' : ' WHERE stack_id IN (SELECT stack_id FROM goroutines)'}`,
  );
  await conn.run('CREATE OR REPLACE TEMP VIEW spec_versions AS SELECT * FROM raw.spec_versions');

  const problems = nameProblems(spec);
  if (problems.length > 0) {
    await conn.run(`CREATE OR REPLACE TEMP VIEW links AS ${EMPTY_LINKS_SQL}`);
    return { snapshotIds, problems };
  }
  const types = await valueTypes(conn, spec);
  for (const f of spec.functions) {
    try {
      const sql = functionTableSql(f, types, opts.check ? 'untyped' : 'JSON');
      await conn.run(`CREATE OR REPLACE TEMP VIEW ${ident(f.table)} AS ${sql}`);
    } catch (e) {
      problems.push({ message: `function table "${f.table}": ${firstLine(e)}`, at: f.at });
    }
  }
  problems.push(...(await createProbeViews(conn, spec, opts.check === true)));
  // Links first over the function tables, so that derived tables may use `links`; then
  // again with every table, for links whose ends are derived tables (views bind by name at
  // query time, so derived tables see the final `links`).
  await createLinksView(conn, spec, []);
  const { ordered, cycles } = orderDerived(spec.derived);
  for (const c of cycles) {
    const at = spec.derived.find((d) => d.name === c[0])?.at;
    problems.push({ message: `derived tables refer to each other in a cycle: ${c.join(' -> ')}`, at });
  }
  for (const d of ordered) {
    try {
      await conn.run(`CREATE OR REPLACE TEMP VIEW ${ident(d.name)} AS ${d.sql}`);
    } catch (e) {
      problems.push({ message: `derived table "${d.name}": ${firstLine(e)}`, at: d.at });
    }
  }
  await createLinksView(conn, spec, problems);
  return { snapshotIds, problems };
}

/** (Re)creates the `links` view from the spec's links whose tables exist; `problems` collects the rest. */
async function createLinksView(conn: DuckDBConnection, spec: Spec, problems: ViewProblem[]): Promise<void> {
  const selects: string[] = [];
  for (const l of spec.links) {
    const from = await describe(conn, l.from.table);
    const to = l.to.table === l.from.table ? from : await describe(conn, l.to.table);
    const why = linkProblem(l, from, to);
    if (why) {
      problems.push({ message: why, at: l.at });
      continue;
    }
    const sql = linkSelectSql(l, from!, to!);
    try {
      await conn.run(`DESCRIBE ${sql}`);
      selects.push(sql);
    } catch (e) {
      problems.push({ message: `link "${l.name}": ${firstLine(e)}`, at: l.at });
    }
  }
  await conn.run(
    `CREATE OR REPLACE TEMP VIEW links AS ${selects.length > 0 ? selects.join(' UNION ALL ') : EMPTY_LINKS_SQL}`,
  );
}
