/**
 * DataRow messages written straight into one growing buffer, the hot path of a large result:
 * a value's UTF-8 bytes are written in place (no Buffer per value, no concat per row), so a
 * million-row answer costs one string write per cell. Each column is text (DuckDB's printing
 * turned into PostgreSQL's) or binary when the client asked for it at Bind.
 */
import type { TextChunk } from '../../store/store.js';
import { type BinaryEncoder, binaryEncoder } from './pg-binary.js';
import type { WireColumn } from './pg-types.js';

const EMPTY = Buffer.alloc(0);

/** How one column's values are written: PostgreSQL text, or a binary encoding. */
export type CellWriter = { readonly text: (v: string) => string } | { readonly binary: BinaryEncoder };

/**
 * A batch of DataRow messages. Its buffer starts small and grows as rows come; after `take()`
 * the next one is allocated when written to, as large as the last had grown: a small answer
 * allocates 4 KiB once (it took two buffers of 64 KiB, whose external memory made the
 * garbage collector run often), a large one keeps its batch size.
 */
export class RowBatch {
  private buf: Buffer = EMPTY;
  private at = 0;
  private capacity = 4096;

  /** Bytes written so far. */
  get size(): number {
    return this.at;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.capacity, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
    this.capacity = next.length;
  }

  /** Appends one DataRow. */
  add(values: readonly (string | null)[], cells: readonly CellWriter[]): void {
    const start = this.begin(values.length);
    for (let i = 0; i < values.length; i++) this.cell(values[i] ?? null, cells[i]!);
    this.end(start);
  }

  /**
   * Appends the rows [from, to) of a chunk given column by column. A column of bytes holds PostgreSQL's
   * text already (pg-types.ts `cellSql`): in text format its bytes are copied as they are.
   */
  addChunk(chunk: TextChunk, cells: readonly CellWriter[], from = 0, to = chunk.rowCount): void {
    const columns = chunk.columns;
    for (let r = from; r < to; r++) {
      const start = this.begin(columns.length);
      for (let i = 0; i < columns.length; i++) {
        const col = columns[i]!;
        if (!('bytes' in col)) this.cell(col[r] ?? null, cells[i]!);
        else if ('text' in cells[i]!) this.bytes(col.bytes, col.starts[r]!, col.lengths[r]!);
        else {
          const n = col.lengths[r]!;
          const at = col.starts[r]!;
          this.cell(n < 0 ? null : col.bytes.toString('utf8', at, at + n), cells[i]!, false);
        }
      }
      this.end(start);
    }
  }

  /** Appends a cell of `n` bytes from `from` at `at` (NULL when n is -1). */
  private bytes(from: Buffer, at: number, n: number): void {
    this.reserve(4 + Math.max(n, 0));
    const buf = this.buf;
    let o = this.at;
    buf[o] = n >>> 24;
    buf[o + 1] = (n >>> 16) & 0xff;
    buf[o + 2] = (n >>> 8) & 0xff;
    buf[o + 3] = n & 0xff;
    o += 4;
    if (n > 16) from.copy(buf, o, at, at + n);
    else for (let i = 0; i < n; i++) buf[o + i] = from[at + i]!;
    this.at = o + Math.max(n, 0);
  }

  private begin(count: number): number {
    this.reserve(7);
    const start = this.at;
    this.buf[start] = 0x44; // 'D'
    this.buf.writeInt16BE(count, start + 5);
    this.at = start + 7;
    return start;
  }

  private end(start: number): void {
    this.buf.writeInt32BE(this.at - start - 1, start + 1);
  }

  /** Appends a value; `convert` false when it is PostgreSQL's text already (a binary column still encodes it). */
  private cell(v: string | null, cell: CellWriter, convert = true): void {
    if (v === null) {
      this.reserve(4);
      this.buf.writeInt32BE(-1, this.at);
      this.at += 4;
    } else if ('text' in cell) {
      const s = convert ? cell.text(v) : v;
      this.reserve(4 + s.length * 3);
      const n = this.buf.write(s, this.at + 4, 'utf8');
      this.buf.writeInt32BE(n, this.at);
      this.at += 4 + n;
    } else {
      const b = cell.binary(v);
      this.reserve(4 + b.length);
      this.buf.writeInt32BE(b.length, this.at);
      b.copy(this.buf, this.at + 4);
      this.at += 4 + b.length;
    }
  }

  /** Appends another message as it is. */
  append(b: Buffer): void {
    this.reserve(b.length);
    b.copy(this.buf, this.at);
    this.at += b.length;
  }

  /** The bytes written, handed over; the batch starts empty again. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.at);
    this.buf = EMPTY;
    this.at = 0;
    return out;
  }
}

/** The format of column i from a Bind's result format codes (none: all text; one: all columns). */
export function formatOf(formats: readonly number[], i: number): number {
  return formats.length === 1 ? formats[0]! : (formats[i] ?? 0);
}

/** How each column is written, as the Bind's result format codes ask; 0A000 for a binary column this server cannot encode. */
export function cellWriters(columns: readonly WireColumn[], formats: readonly number[]): CellWriter[] {
  return columns.map((c, i) => (formatOf(formats, i) === 1 ? { binary: binaryEncoder(c.oid, c.name) } : c));
}
