/**
 * The tables a query sees, as temporary views on its own connection: the built-in tables
 * filtered to the query's snapshots, then the current spec's function tables, derived tables
 * (in dependency order) and links on top of them. Nothing is materialized: the current spec
 * applies to every stored snapshot, old ones included.
 *
 * A session builds the views as its queries need them (`QueryViews.build` with the tables a
 * query names, view-deps.ts adds what they read); `createQueryViews` builds them all (a spec
 * check, an export). The spec is loaded only when a query names a table of it.
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
import { INVESTIGATION_TABLES } from './investigation-schema.js';
import { EMPTY_LINKS_SQL, linkProblem, linkSelectSql, type TableColumns } from './links-sql.js';
import { createProbeViews, PROBE_VIEWS } from './probe-views.js';
import {
  type ProcessFilter,
  processFilterSql,
  visibleProcessIdsSql,
  visibleRowSql,
} from './process-filter.js';
import type { QueryTables } from './query-tables.js';
import { BUILTIN_TABLES, SNAPSHOT_TABLES } from './schema.js';
import { scopedSqlProblem } from './scoped-sql.js';
import { ident, literal } from './sql-text.js';
import type { QueryScope } from './store.js';
import { createTraceViews, TRACE_VIEWS } from './trace-views.js';
import { BASE_VIEWS, knownViews, viewClosure } from './view-deps.js';

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

/** `raw.snapshots` rows (alias s) that hold a process the filter lets through (all without one). */
function visibleSnapshotsSql(only: ProcessFilter | undefined): string {
  return only
    ? ` WHERE EXISTS (SELECT 1 FROM raw.processes p WHERE p.snapshot_id = s.snapshot_id AND (${processFilterSql(only)}))`
    : '';
}

async function scopeIds(conn: DuckDBConnection, scope: QueryScope, only?: ProcessFilter): Promise<number[]> {
  const visible = visibleSnapshotsSql(only);
  if ('snapshot' in scope) {
    const r = await conn.runAndReadAll(
      `SELECT 1 FROM raw.snapshots s${visible ? `${visible} AND` : ' WHERE'} s.snapshot_id = ${scope.snapshot}`,
    );
    if (r.currentRowCount === 0)
      throw new PeriscopeError(
        'not-found',
        `no snapshot ${scope.snapshot} in this store; \`periscope query "SELECT * FROM snapshots" --all\` lists them`,
      );
    return [scope.snapshot];
  }
  const sql =
    'all' in scope
      ? `SELECT s.snapshot_id FROM raw.snapshots s${visible} ORDER BY s.snapshot_id`
      : `SELECT max(s.snapshot_id) FROM raw.snapshots s${visible} HAVING count(*) > 0`;
  const r = await conn.runAndReadAll(sql);
  return r.getRows().map((row) => Number(row[0]));
}

/**
 * The SQL of a built-in view over `raw.NAME` (alias t) for the snapshots in `filter`; with a
 * process filter, only rows of visible processes, and `snapshots` counts only those.
 */
function builtinViewSql(name: string, filter: string, only: ProcessFilter | undefined): string {
  if (!only) return `SELECT * FROM raw.${name}${filter}`;
  const where = filter === '' ? ' WHERE ' : `${filter} AND `;
  if (name === 'snapshots')
    return (
      'SELECT s.snapshot_id, s.created_at, s.labels, s.spec_version, s.capture_spec, ' +
      'CAST(count(p.process_id) FILTER (WHERE p.error IS NULL) AS INTEGER) AS process_count, ' +
      'CAST(count(p.process_id) FILTER (WHERE p.error IS NOT NULL) AS INTEGER) AS failed_processes, ' +
      'CAST(coalesce(sum(p.goroutine_count), 0) AS BIGINT) AS goroutine_count ' +
      `FROM raw.snapshots s JOIN raw.processes p ON p.snapshot_id = s.snapshot_id AND (${processFilterSql(only)})` +
      `${filter.replace('snapshot_id', 's.snapshot_id')} ` +
      'GROUP BY s.snapshot_id, s.created_at, s.labels, s.spec_version, s.capture_spec'
    );
  return `SELECT * FROM raw.${name} t${where.replace('snapshot_id', 't.snapshot_id')}${visibleRowSql(only, 't')}`;
}

async function valueTypes(
  conn: DuckDBConnection,
  functions: readonly Spec['functions'][number][],
): Promise<Map<string, ValueType>> {
  const out = new Map<string, ValueType>();
  if (functions.length === 0) return out;
  const fns = functions.map((f) => literal(f.function)).join(', ');
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

/** Which views to build: every one, or these names (lower case) and what they read. */
export type ViewSet = 'all' | ReadonlySet<string>;

/**
 * The views of one connection over one scope, built on demand and kept: a later query builds
 * only what earlier ones did not. Problems with spec parts are collected, not thrown.
 */
export class QueryViews {
  /** Views built, or tried and found broken (lower case). */
  private readonly built = new Set<string>();
  /** Whether every view was built (or tried). */
  complete = false;
  private spec: EffectiveSpec | undefined;
  /** Spec names that hide built-in tables or key columns: then no spec table is built. */
  private badNames = false;
  readonly problems: ViewProblem[] = [];

  private constructor(
    private readonly conn: DuckDBConnection,
    readonly snapshotIds: number[],
    private readonly all: boolean,
    private readonly loadSpec: () => Promise<EffectiveSpec>,
    private readonly opts: ViewOptions,
    private readonly only: ProcessFilter | undefined,
  ) {}

  /**
   * Resolves the scope's snapshots (a missing snapshot is a not-found error); builds nothing
   * yet. With `only`, every view shows only the processes it lets through (process-filter.ts),
   * and derived tables whose SQL could reach further are not built (scoped-sql.ts).
   */
  static async open(
    conn: DuckDBConnection,
    scope: QueryScope,
    loadSpec: () => Promise<EffectiveSpec>,
    opts: ViewOptions = {},
    only?: ProcessFilter,
  ): Promise<QueryViews> {
    return new QueryViews(conn, await scopeIds(conn, scope, only), 'all' in scope, loadSpec, opts, only);
  }

  /**
   * A new set of views over the same connection and snapshots, none built: for building them
   * all again from scratch (views that failed for want of one the name search missed retry).
   */
  anew(): QueryViews {
    return new QueryViews(this.conn, this.snapshotIds, this.all, this.loadSpec, this.opts, this.only);
  }

  /** The views a query naming `tables` needs; the spec is loaded only if it names others than BASE_VIEWS. */
  async viewsFor(tables: QueryTables): Promise<ViewSet> {
    if (tables.all) return 'all';
    const named = [...tables.names];
    if (named.every((n) => BASE_VIEWS.has(n) || tables.ctes.has(n)))
      return new Set(
        named.filter((n) => BASE_VIEWS.has(n)).flatMap((n) => (n === 'stacks' ? [n, 'goroutines'] : [n])),
      );
    const spec = await this.specInEffect();
    const known = knownViews(spec);
    if (named.some((n) => !known.has(n) && !tables.ctes.has(n))) return 'all';
    return viewClosure(
      spec,
      named.filter((n) => known.has(n)),
    );
  }

  private async specInEffect(): Promise<EffectiveSpec> {
    if (!this.spec) {
      this.spec = await this.loadSpec();
      const bad = nameProblems(this.spec);
      this.badNames = bad.length > 0;
      this.problems.push(...bad);
    }
    return this.spec;
  }

  /** Builds the views in `which` that are not built yet, in dependency order. */
  async build(which: ViewSet): Promise<void> {
    const wants = (name: string) =>
      !this.built.has(name.toLowerCase()) && (which === 'all' || which.has(name.toLowerCase()));
    const create = async (name: string, sql: string) => {
      await this.conn.run(`CREATE OR REPLACE TEMP VIEW ${ident(name)} AS ${sql}`);
      this.built.add(name.toLowerCase());
    };
    const filter = this.all ? '' : ` WHERE snapshot_id = ${this.snapshotIds[0] ?? 'NULL'}`;
    for (const [name] of SNAPSHOT_TABLES)
      if (wants(name)) await create(name, builtinViewSql(name, filter, this.only));
    if (wants('stacks')) {
      // `stacks` is shared by content across snapshots: a scoped view shows only its goroutines' stacks.
      if (this.only && !this.built.has('goroutines'))
        await create('goroutines', builtinViewSql('goroutines', filter, this.only));
      await create(
        'stacks',
        `SELECT * FROM raw.stacks${this.all && !this.only ? '' : ' WHERE stack_id IN (SELECT stack_id FROM goroutines)'}`,
      );
    }
    if (wants('spec_versions')) await create('spec_versions', 'SELECT * FROM raw.spec_versions');
    // Investigations act fleet-wide: a token limited to programs sees none of them.
    for (const name of INVESTIGATION_TABLES)
      if (wants(name)) await create(name, `SELECT * FROM raw.${name}${this.only ? ' WHERE false' : ''}`);
    const rest = which === 'all' ? undefined : [...which].filter((n) => !BASE_VIEWS.has(n));
    if (rest?.length === 0) return;
    const spec = await this.specInEffect();
    if (this.badNames) {
      if (wants('links')) await create('links', EMPTY_LINKS_SQL);
      if (which === 'all') this.complete = true;
      return;
    }
    const functions = spec.functions.filter((f) => wants(f.table));
    const types = await valueTypes(this.conn, functions);
    for (const f of functions) {
      try {
        await create(f.table, functionTableSql(f, types, this.opts.check ? 'untyped' : 'JSON'));
      } catch (e) {
        this.built.add(f.table.toLowerCase());
        this.problems.push({ message: `function table "${f.table}": ${firstLine(e)}`, at: f.at });
      }
    }
    // Probe views (the built-in ones and one per probe) are few and cheap: all or none.
    const probeNames = [...PROBE_VIEWS.map(([n]) => n), ...(spec.probes ?? []).map((p) => p.name)];
    if (probeNames.some((n) => wants(n))) {
      const processes = this.only ? visibleProcessIdsSql(this.only) : undefined;
      this.problems.push(...(await createProbeViews(this.conn, spec, this.opts.check === true, processes)));
      for (const n of probeNames) this.built.add(n.toLowerCase());
    }
    if (TRACE_VIEWS.some(([n]) => wants(n))) {
      await createTraceViews(this.conn, this.only ? visibleProcessIdsSql(this.only) : undefined);
      for (const [n] of TRACE_VIEWS) this.built.add(n);
    }
    // Links first over the function tables, so that derived tables may use `links`; then
    // again with every table, for links whose ends are derived tables (views bind by name at
    // query time, so derived tables see the final `links`).
    const links = wants('links');
    if (links) await createLinksView(this.conn, spec, [], this.only);
    const { ordered, cycles } = orderDerived(spec.derived);
    for (const c of cycles) {
      if (!c.some((n) => wants(n))) continue;
      const at = spec.derived.find((d) => d.name === c[0])?.at;
      this.problems.push({ message: `derived tables refer to each other in a cycle: ${c.join(' -> ')}`, at });
      for (const n of c) this.built.add(n.toLowerCase());
    }
    for (const d of ordered) {
      if (!wants(d.name)) continue;
      const refused = this.only ? await scopedSqlProblem(this.conn, d.sql) : undefined;
      if (refused) {
        this.built.add(d.name.toLowerCase());
        this.problems.push({
          message: `derived table "${d.name}" is not available to a token limited to programs: ${refused}`,
          at: d.at,
        });
        continue;
      }
      try {
        await create(d.name, d.sql);
      } catch (e) {
        this.built.add(d.name.toLowerCase());
        this.problems.push({ message: `derived table "${d.name}": ${firstLine(e)}`, at: d.at });
      }
    }
    if (links) {
      await createLinksView(this.conn, spec, this.problems, this.only);
      this.built.add('links');
    }
    if (which === 'all') this.complete = true;
  }
}

/** Creates every view a query sees on `conn`; problems with spec parts are returned, not thrown. */
export async function createQueryViews(
  conn: DuckDBConnection,
  spec: EffectiveSpec,
  scope: QueryScope,
  opts: ViewOptions = {},
): Promise<ViewBuild> {
  const views = await QueryViews.open(conn, scope, async () => spec, opts);
  await views.build('all');
  return { snapshotIds: views.snapshotIds, problems: views.problems };
}

/**
 * (Re)creates the `links` view from the spec's links whose tables exist; `problems` collects the
 * rest. `only`: only links whose both ends are visible rows (their tables are already filtered,
 * so a link to another team's process finds no row to resolve to; the check on both process ids
 * keeps that true for ends a derived table computes).
 */
async function createLinksView(
  conn: DuckDBConnection,
  spec: Spec,
  problems: ViewProblem[],
  only: ProcessFilter | undefined,
): Promise<void> {
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
  const all = selects.length > 0 ? selects.join(' UNION ALL ') : EMPTY_LINKS_SQL;
  const sql = only
    ? `SELECT l.* FROM (${all}) l WHERE ${visibleRowSql(only, 'l', 'from_process_id')} AND ${visibleRowSql(only, 'l', 'to_process_id')}`
    : all;
  await conn.run(`CREATE OR REPLACE TEMP VIEW links AS ${sql}`);
}
