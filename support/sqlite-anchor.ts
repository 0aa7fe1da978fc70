/**
 * The ingest benchmark's anchor: the same snapshot in SQLite (better-sqlite3, what Side-Eye
 * used), with the same tables and columns as Periscope's raw tables, prepared inserts in one
 * transaction, the indexes the benchmark's queries want, and function tables as views that
 * pivot the long-form captured values.
 */
import { createRequire } from 'node:module';
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

const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  options?: { readonly?: boolean },
) => SqliteDatabase;

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
      f.forEach((x, d) => void ins.frames.run(...sqliteRow(frameCells(1, pid, g.id, d, x))));
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
