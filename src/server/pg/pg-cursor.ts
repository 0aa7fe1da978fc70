/**
 * The rows of a running statement, read from DuckDB a chunk at a time as they are sent, as a
 * PostgreSQL portal's are: an Execute with a row limit may stop inside a chunk, and the next
 * one goes on from there. DuckDB ends a connection's streaming result when the connection
 * runs or prepares another statement (the next chunk then comes empty, as if the rows had
 * ended): before that, the cursor is parked, the rest of its rows read into memory. The run
 * ends once: at its last row, at an error, or when the cursor is closed before (its portal
 * closed, the client gone), with the rows read so far.
 */
import type { TextChunk, TextStream } from '../../store/store.js';
import { PgFault } from './pg-errors.js';
import type { WireColumn } from './pg-types.js';

/**
 * The most a parked cursor holds in memory (its rows' bytes, estimated): past it, the rest of
 * its rows are given up and its next Execute fails with 54000, so that two large portals read
 * in turn on one connection cannot take the server's memory.
 */
export const PARK_MAX_BYTES = 64 * 1024 * 1024;

/** Called once when a cursor's run ends: the rows read from the statement, and the error that stopped it. */
export type CursorEnd = (rowCount: number, error?: unknown) => void;

/** Where the next row to send is: its chunk and its index in it. */
export interface CursorRow {
  readonly chunk: TextChunk;
  readonly at: number;
}

/** A statement's rows, given out in order across any number of sends. */
export class RowCursor {
  private chunk: TextChunk | undefined;
  private at = 0;
  /** The rest of the rows once parked (a chunk is let go once it is sent). */
  private parked: TextChunk[] | undefined;
  /** What stopped the reading of the rest while parking, thrown when the rows get there. */
  private failure: { readonly error: unknown } | undefined;
  private ended = false;
  private read = 0;

  constructor(
    readonly columns: readonly WireColumn[],
    private readonly source: TextStream,
    private readonly onEnd: CursorEnd,
  ) {}

  /** Whether its rows still come from DuckDB's streaming result (not ended, not parked). */
  get streaming(): boolean {
    return !this.ended && this.parked === undefined;
  }

  /** The next row to send; undefined once every row was given. Reads the next chunk when the current one is used up. */
  async peek(): Promise<CursorRow | undefined> {
    if (this.chunk && this.at < this.chunk.rowCount) return { chunk: this.chunk, at: this.at };
    this.chunk = await this.nextChunk();
    this.at = 0;
    return this.chunk && { chunk: this.chunk, at: 0 };
  }

  /** Marks `n` rows from the one peek gave as sent. */
  advance(n: number): void {
    this.at += n;
  }

  private async nextChunk(): Promise<TextChunk | undefined> {
    if (this.parked) {
      const c = this.parked.shift();
      if (!c && this.failure) throw this.failure.error;
      return c;
    }
    if (this.ended) return undefined;
    let c: TextChunk | undefined;
    try {
      c = await this.source.next();
    } catch (e) {
      this.end(e);
      throw e;
    }
    if (c) this.read += c.rowCount;
    else this.end();
    return c;
  }

  /**
   * Reads the rest of the rows into memory, so that the connection can run another statement;
   * an error meanwhile is kept for when the rows get there.
   */
  async park(maxBytes = PARK_MAX_BYTES): Promise<void> {
    if (!this.streaming) return;
    const rest: TextChunk[] = [];
    let held = 0;
    try {
      for (let c = await this.nextChunk(); c; c = await this.nextChunk()) {
        rest.push(c);
        held += chunkBytes(c);
        if (held > maxBytes) {
          const mib = Math.round(maxBytes / (1024 * 1024));
          const error = new PgFault(
            '54000',
            `this portal's rows stopped: another statement ran on the connection while it was suspended, and the rest of its rows (over ${mib} MiB) are too many to hold until it is read again; read one result to its end before running another statement, or use a second connection`,
          );
          this.failure = { error };
          // Let the held rows go now (the current chunk's too): the next Execute fails at once.
          rest.length = 0;
          this.chunk = undefined;
          this.end(error);
          break;
        }
      }
    } catch (e) {
      this.failure = { error: e };
    }
    this.parked = rest;
  }

  /** Gives no more rows; the run ends, with the rows read so far, unless it has already. */
  close(): void {
    this.end();
    this.chunk = undefined;
    this.parked = [];
    this.failure = undefined;
  }

  private end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this.read, error);
  }
}

/** A chunk's size in memory, roughly: its bytes, or two bytes per character and a reference per cell. */
function chunkBytes(c: TextChunk): number {
  let n = 0;
  for (const col of c.columns) {
    if ('bytes' in col) n += col.bytes.length + col.starts.byteLength + col.lengths.byteLength;
    else for (const v of col) n += 8 + (v === null ? 0 : 2 * v.length);
  }
  return n;
}
