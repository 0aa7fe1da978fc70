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
import type { WireColumn } from './pg-types.js';

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
  async park(): Promise<void> {
    if (!this.streaming) return;
    const rest: TextChunk[] = [];
    try {
      for (let c = await this.nextChunk(); c; c = await this.nextChunk()) rest.push(c);
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
