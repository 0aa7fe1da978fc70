/**
 * DuckDB results as JSON-ready rows: integers as numbers when they fit a double exactly (else
 * decimal strings), JSON columns parsed, timestamps and other types as DuckDB prints them.
 */
import type { DuckDBResultReader } from '@duckdb/node-api';
import { DuckDBTypeId } from './duckdb-api.js';
import type { Cell, ResultColumn } from './store.js';

const INTEGER_TYPES = new Set<number>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

function cell(v: unknown, typeId: number, json: boolean): Cell {
  if (v === null || v === undefined) return null;
  if (json && typeof v === 'string') {
    try {
      return JSON.parse(v) as Cell;
    } catch {
      return v;
    }
  }
  if (INTEGER_TYPES.has(typeId) && typeof v === 'string') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  return v as Cell;
}

/** Columns and rows of a fully read result. */
export function resultCells(r: DuckDBResultReader): { columns: ResultColumn[]; rows: Cell[][] } {
  const types = r.columnTypes();
  const names = r.columnNames();
  const isJson = types.map((t) => t.alias === 'JSON');
  const columns = names.map((name, i) => ({ name, type: isJson[i] ? 'JSON' : types[i]!.toString() }));
  const rows = r.getRowsJson().map((row) => row.map((v, i) => cell(v, types[i]!.typeId, isJson[i]!)));
  return { columns, rows };
}
