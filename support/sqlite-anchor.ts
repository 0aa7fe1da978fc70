/**
 * The ingest benchmark's anchor: the same snapshot in SQLite (better-sqlite3, what Side-Eye
 * used), with the same tables and columns as Periscope's raw tables, prepared inserts in one
 * transaction, the indexes the benchmark's queries want, and function tables as views that
 * pivot the long-form captured values.
 *
 * better-sqlite3 is not a dependency of the project: with no prebuilt binary to fetch it
 * compiles SQLite from source (about 2 minutes of a fresh machine's `npm ci`, for a benchmark
 * only). It is installed on first use from bench/sqlite-anchor's lockfile into
 * .cache/bench/sqlite-anchor, when this module is loaded (before anything is timed).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { ProcessSnapshot } from '../src/snapshot/snapshot-types.js';
import type { CellInput, ColumnList } from '../src/store/bulk-append.js';
import {
  capturedCells,
  frameCells,
  goroutineCells,
  processCells,
  processId,
  StackIds,
  stackCells,
} from '../src/store/ingest.js';
import { CAPTURED, FRAMES, GOROUTINES, PROCESSES, SNAPSHOTS, STACKS } from '../src/store/schema.js';

/** The part of better-sqlite3's statement API used here (the package ships no types). */
export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** The part of better-sqlite3's database API used here. */
export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  pragma(pragma: string): unknown;
  transaction(fn: () => void): () => void;
  close(): void;
}

type DatabaseConstructor = new (path: string, options?: { readonly?: boolean }) => SqliteDatabase;

/**
 * The directory holding the anchor's node_modules: .cache/bench/sqlite-anchor, installed (npm ci
 * of bench/sqlite-anchor's package.json and lockfile) when missing or when the lockfile changed.
 */
export function sqliteAnchorDir(): string {
  const root = resolve(import.meta.dirname, '..', '..');
  const source = join(root, 'bench', 'sqlite-anchor');
  const dir = join(root, '.cache', 'bench', 'sqlite-anchor');
  const lock = readFileSync(join(source, 'package-lock.json'), 'utf8');
  const installedLock = join(dir, 'package-lock.json');
  if (
    existsSync(join(dir, 'node_modules', 'better-sqlite3', 'package.json')) &&
    existsSync(installedLock) &&
    readFileSync(installedLock, 'utf8') === lock
  )
    return dir;
  mkdirSync(dir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(source, f), join(dir, f));
  console.error(
    'bench: installing the SQLite anchor (bench/sqlite-anchor: better-sqlite3) into .cache/bench/sqlite-anchor,\n' +
      '  once; without a prebuilt binary to fetch it compiles SQLite (a few minutes)',
  );
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'inherit',
  });
  if (r.status !== 0)
    throw new Error(`installing the SQLite anchor failed (npm ci in ${dir}, exit ${r.status ?? r.signal})`);
  return dir;
}

const Database = createRequire(join(sqliteAnchorDir(), 'package.json'))(
  'better-sqlite3',
) as DatabaseConstructor;

const SQLITE_TYPE = {
  bigint: 'INTEGER',
  int: 'INTEGER',
  double: 'REAL',
  bool: 'INTEGER',
  text: 'TEXT',
  json: 'TEXT',
  time: 'TEXT',
};

function create(db: SqliteDatabase, name: string, cols: ColumnList): SqliteStatement {
  db.exec(`CREATE TABLE ${name} (${cols.map(([c, k]) => `"${c}" ${SQLITE_TYPE[k]}`).join(', ')})`);
  return db.prepare(`INSERT INTO ${name} VALUES (${cols.map(() => '?').join(', ')})`);
}

/** The same row as Periscope stores it, in SQLite's types (booleans as 0/1, times as ISO text). */
function sqliteRow(cells: CellInput[]): unknown[] {
  return cells.map((c) =>
    typeof c === 'boolean' ? (c ? 1 : 0) : c instanceof Date ? c.toISOString() : (c ?? null),
  );
}

/** Creates the database at `path` and ingests the snapshot; returns the time spent on indexes. */
export function sqliteIngest(path: string, s: ProcessSnapshot, specText: string): { indexMs: number } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const ins = {
    snapshots: create(db, 'snapshots', SNAPSHOTS),
    processes: create(db, 'processes', PROCESSES),
    goroutines: create(db, 'goroutines', GOROUTINES),
    frames: create(db, 'frames', FRAMES),
    stacks: create(db, 'stacks', STACKS),
    captured: create(db, 'captured', CAPTURED),
  };
  const pid = processId('bench', s.pid);
  db.transaction(() => {
    ins.snapshots.run(1, new Date().toISOString(), '{}', 1, specText, 1, 0, s.goroutines.length);
    ins.processes.run(...sqliteRow(processCells(1, 'bench', 'api', s)));
    const stackIds = new StackIds();
    for (const g of s.goroutines) {
      const { id, first } = stackIds.of(g);
      const f = g.stack.frames;
      if (first) f.forEach((x, d) => void ins.stacks.run(...sqliteRow(stackCells(id, d, x))));
      ins.goroutines.run(...sqliteRow(goroutineCells(1, pid, g, id)));
      f.forEach((x, d) => void ins.frames.run(...sqliteRow(frameCells(1, pid, g, d, x))));
      for (const row of capturedCells(1, pid, g)) ins.captured.run(...sqliteRow(row));
    }
  })();
  const t0 = performance.now();
  db.exec(`
    CREATE INDEX goroutines_stack ON goroutines (snapshot_id, stack_id);
    CREATE INDEX goroutines_wait ON goroutines (snapshot_id, wait_ns);
    CREATE INDEX captured_fn ON captured (function, snapshot_id, process_id, goroutine_id, depth);
    CREATE VIEW handle AS SELECT snapshot_id, process_id, goroutine_id, depth,
      MAX(CASE WHEN expr = 'req.ID' THEN value ->> '$' END) AS req_id,
      MAX(CASE WHEN expr = 'req.URL.Path' THEN value ->> '$' END) AS path,
      MAX(CASE WHEN expr = 'req.User' THEN value END) AS user
      FROM captured WHERE function = 'main.(*Server).handle' GROUP BY snapshot_id, process_id, goroutine_id, depth;
    CREATE VIEW dbq AS SELECT snapshot_id, process_id, goroutine_id, depth,
      MAX(CASE WHEN expr = 'ctx.Value("req")' THEN value ->> '$' END) AS req_id,
      MAX(CASE WHEN expr = 'query' THEN value ->> '$' END) AS sql
      FROM captured WHERE function = 'database/sql.(*DB).QueryContext' GROUP BY snapshot_id, process_id, goroutine_id, depth;
  `);
  const indexMs = performance.now() - t0;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { indexMs };
}

/** Opens the anchor database for queries. */
export function sqliteOpen(path: string): SqliteDatabase {
  return new Database(path, { readonly: true });
}
