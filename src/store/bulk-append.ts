/**
 * Bulk ingest into DuckDB: rows are collected column by column and handed to an appender
 * 2048 rows (one DuckDB vector) at a time as data chunks, which is the fastest path the Node
 * API offers (about 1 s per million 9-column rows on the reference machine).
 */
import type {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBType,
  DuckDBValue,
  DuckDBVector,
} from '@duckdb/node-api';
import {
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  INTEGER,
  TIMESTAMPTZ,
  timestampTZValue,
  VARCHAR,
} from './duckdb-api.js';
import type { CellInput, ColumnKind, ColumnList } from './table-columns.js';

export type { CellInput, ColumnKind, ColumnList } from './table-columns.js';
export { createTableSql } from './table-columns.js';

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

/**
 * Rows for one table, written straight into DuckDB vectors (no intermediate JS arrays, so
 * numbers are not boxed) and appended one full vector (2048 rows) at a time. Opened first
 * (`open`), it streams: each full chunk goes to DuckDB as it fills; not opened, it keeps the
 * chunks until `flush`.
 */
export class TableWriter {
  private chunk: DuckDBDataChunk | undefined;
  private vectors: DuckDBVector[] = [];
  private row = 0;
  private readonly pending: DuckDBDataChunk[] = [];
  private appender: DuckDBAppender | undefined;
  private readonly types: DuckDBType[];
  /** Columns whose values need converting (Date -> TIMESTAMPTZ). */
  private readonly timed: boolean[];

  constructor(
    readonly table: string,
    kinds: ColumnList,
  ) {
    this.types = kinds.map(([, k]) => CHUNK_TYPE[k]);
    this.timed = kinds.map(([, k]) => k === 'time');
  }

  /** Opens the appender: from now on full chunks are appended as rows are added. */
  async open(conn: DuckDBConnection, schema?: string, catalog?: string): Promise<void> {
    this.appender ??= await conn.createAppender(this.table, schema ?? null, catalog ?? null);
    for (const c of this.pending.splice(0)) this.appender.appendDataChunk(c);
  }

  /** Adds one row; values in column order. */
  add(...values: CellInput[]): void {
    if (!this.chunk) {
      this.chunk = DuckDBDataChunk.create(this.types, VECTOR);
      this.vectors = this.types.map((_, i) => this.chunk!.getColumnVector(i));
    }
    const vs = this.vectors;
    const row = this.row;
    for (let i = 0; i < vs.length; i++) {
      const v = values[i];
      vs[i]!.setItem(row, this.timed[i] ? convert('time', v) : v === undefined ? null : (v as DuckDBValue));
    }
    if (++this.row === VECTOR) this.emit();
  }

  private emit(): void {
    const chunk = this.chunk;
    if (!chunk) return;
    for (const v of this.vectors) v.flush();
    if (this.row < VECTOR) chunk.rowCount = this.row;
    if (this.appender) this.appender.appendDataChunk(chunk);
    else this.pending.push(chunk);
    this.chunk = undefined;
    this.vectors = [];
    this.row = 0;
  }

  /** Appends what is left (opening the appender if needed) and closes the appender. */
  async flush(conn: DuckDBConnection, schema?: string, catalog?: string): Promise<void> {
    if (this.row > 0) this.emit();
    if (!this.appender && this.pending.length === 0) return;
    await this.open(conn, schema, catalog);
    const appender = this.appender!;
    try {
      appender.flushSync();
    } finally {
      appender.closeSync();
      this.appender = undefined;
    }
  }
}

/**
 * Appends the rows of a query on `from` (e.g. a Parquet file read in a scratch database) to
 * `appender` chunk by chunk, then flushes and closes it (closed on failure too).
 */
export async function appendQueryResult(
  from: DuckDBConnection,
  sql: string,
  appender: DuckDBAppender,
): Promise<void> {
  try {
    const result = await from.stream(sql);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
