/**
 * Bulk ingest into DuckDB: rows are collected column by column and handed to an appender
 * 2048 rows (one DuckDB vector) at a time as data chunks, which is the fastest path the Node
 * API offers (about 1 s per million 9-column rows on the reference machine).
 */
import {
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  type DuckDBType,
  type DuckDBValue,
  INTEGER,
  TIMESTAMPTZ,
  timestampTZValue,
  VARCHAR,
} from '@duckdb/node-api';

/** How a column is written: `json` columns take text, `time` takes a Date. */
export type ColumnKind = 'bigint' | 'int' | 'double' | 'bool' | 'text' | 'json' | 'time';

/** A table's columns, in the order of its CREATE TABLE. */
export type ColumnList = readonly (readonly [string, ColumnKind])[];

/** A JS value for a cell of the given kind (null for SQL NULL). */
export type CellInput = number | string | boolean | Date | null | undefined;

const SQL_TYPE: Record<ColumnKind, string> = {
  bigint: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  bool: 'BOOLEAN',
  text: 'VARCHAR',
  json: 'JSON',
  time: 'TIMESTAMPTZ',
};

// BIGINT columns are appended from DOUBLE vectors (the appender casts): every value Periscope
// stores there (ids, addresses, nanoseconds) is an integer below 2^53, and it saves a BigInt
// per cell (about 40% of the append time).
const CHUNK_TYPE: Record<ColumnKind, DuckDBType> = {
  bigint: DOUBLE,
  int: INTEGER,
  double: DOUBLE,
  bool: BOOLEAN,
  text: VARCHAR,
  json: VARCHAR,
  time: TIMESTAMPTZ,
};

/** `CREATE TABLE IF NOT EXISTS name (...)` for a column list. */
export function createTableSql(name: string, columns: ColumnList): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (${columns.map(([c, k]) => `"${c}" ${SQL_TYPE[k]}`).join(', ')})`;
}

const VECTOR = 2048;

function convert(kind: ColumnKind, v: CellInput): DuckDBValue {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'time':
      return timestampTZValue(BigInt((v as Date).getTime()) * 1000n);
    default:
      return v as DuckDBValue;
  }
}

/** Collects rows for one table and appends them in chunks. */
export class TableWriter {
  private readonly columns: CellInput[][];
  private count = 0;
  private rows = 0;

  constructor(
    private readonly table: string,
    private readonly kinds: ColumnList,
  ) {
    this.columns = kinds.map(() => []);
  }

  /** Adds one row; values in column order. */
  add(...values: CellInput[]): void {
    for (let i = 0; i < this.columns.length; i++) this.columns[i]!.push(values[i]);
    this.count++;
  }

  /** Rows added so far. */
  get size(): number {
    return this.rows + this.count;
  }

  /** Appends every collected row to the table through one appender. */
  async flush(conn: DuckDBConnection, schema?: string, catalog?: string): Promise<void> {
    if (this.count === 0) return;
    const appender = await conn.createAppender(this.table, schema ?? null, catalog ?? null);
    const types = this.kinds.map(([, k]) => CHUNK_TYPE[k]);
    try {
      for (let off = 0; off < this.count; off += VECTOR) {
        const n = Math.min(VECTOR, this.count - off);
        const cols: DuckDBValue[][] = this.kinds.map(([, kind], ci) => {
          const src = this.columns[ci]!;
          const out = new Array<DuckDBValue>(n);
          for (let j = 0; j < n; j++) out[j] = convert(kind, src[off + j]);
          return out;
        });
        const chunk = DuckDBDataChunk.create(types, n);
        chunk.setColumns(cols);
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    this.rows += this.count;
    this.count = 0;
    for (const c of this.columns) c.length = 0;
  }
}
