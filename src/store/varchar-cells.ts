/**
 * A VARCHAR column of a DuckDB data chunk read as UTF-8 bytes, without a JS string or value
 * per cell: the cells of a large answer (the PostgreSQL port's rows) are copied from DuckDB's
 * vectors into one Buffer per column. A string of up to 12 bytes sits in the vector itself;
 * a longer one is behind a pointer, and one native read per such string costs about 1.6 us
 * (measured, `get_data_from_pointer` × 1M), more than the rest of the row. So consecutive
 * long strings that lie in ascending order within neighbouring pages of memory (DuckDB writes
 * a chunk's strings one after another into its string heap) are read with one call.
 */
import { createRequire } from 'node:module';
import type { DuckDBDataChunk } from '@duckdb/node-api';
import type * as Bindings from '@duckdb/node-bindings';

// The package node-api wraps, resolved from node-api's own location (it is node-api's
// dependency, pinned by it): node-api hides the vectors' raw memory.
const req = createRequire(import.meta.url);
const bindings = createRequire(req.resolve('@duckdb/node-api'))('@duckdb/node-bindings') as typeof Bindings;

/** One column of a chunk as bytes: cell r is `bytes[starts[r], starts[r] + lengths[r])`, or NULL when `lengths[r]` is -1. */
export interface BytesColumn {
  readonly bytes: Buffer;
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
}

/** Memory is mapped a page at a time: two valid ranges whose pages touch have only mapped bytes between them. */
const PAGE = 4096;
/** The most bytes one native read covers. */
const MAX_SPAN = 1 << 20;

/** Reads column `col` (of type VARCHAR) of `chunk`, `rows` rows, as bytes. */
export function varcharBytes(chunk: DuckDBDataChunk, col: number, rows: number): BytesColumn {
  const vector = bindings.data_chunk_get_vector(chunk.chunk, col);
  const data = bindings.vector_get_data(vector, rows * 16);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const validity = bindings.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
  const starts = new Int32Array(rows);
  const lengths = new Int32Array(rows);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    if (validity && validity.length > 0 && (validity[r >> 3]! & (1 << (r & 7))) === 0) {
      lengths[r] = -1;
      continue;
    }
    const n = view.getUint32(r * 16, true);
    starts[r] = total;
    lengths[r] = n;
    total += n;
  }
  const bytes = Buffer.allocUnsafe(total);
  let r = 0;
  while (r < rows) {
    const n = lengths[r]!;
    if (n <= 12) {
      // Inline (or NULL, -1): the bytes follow the length in the vector.
      const from = r * 16 + 4;
      const to = starts[r]!;
      for (let i = 0; i < n; i++) bytes[to + i] = data[from + i]!;
      r++;
      continue;
    }
    // A run of long strings [r, end) read at once: each starts at or after the previous one's
    // end, in the same or the next page, and the run spans at most MAX_SPAN bytes.
    const first = Number(view.getBigUint64(r * 16 + 8, true));
    let last = first + n;
    let end = r + 1;
    for (; end < rows; end++) {
      const m = lengths[end]!;
      if (m <= 12) continue;
      const p = Number(view.getBigUint64(end * 16 + 8, true));
      if (p < last || Math.floor(p / PAGE) - Math.floor((last - 1) / PAGE) > 1 || p + m - first > MAX_SPAN)
        break;
      last = p + m;
    }
    const span = bindings.get_data_from_pointer(
      data.buffer as ArrayBuffer,
      data.byteOffset + r * 16 + 8,
      last - first,
    );
    for (let i = r; i < end; i++) {
      const m = lengths[i]!;
      const to = starts[i]!;
      if (m > 12) {
        const at = Number(view.getBigUint64(i * 16 + 8, true)) - first;
        bytes.set(span.subarray(at, at + m), to);
      } else for (let k = 0; k < m; k++) bytes[to + k] = data[i * 16 + 4 + k]!;
    }
    r = end;
  }
  return { bytes, starts, lengths };
}
