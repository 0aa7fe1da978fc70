/**
 * The values of @duckdb/node-api, loaded with `require`. The package is CommonJS and its index
 * re-exports about 80 files: an ESM `import` of it makes Node 20 run its CommonJS export
 * scanner (cjs-module-lexer, in JavaScript) over every one of them, which was more than half
 * of the time to load DuckDB (docs/performance.md, "CLI start-up"). `require` skips the scan.
 * Modules import the package's types with `import type`, and the values they use from here.
 */
import { createRequire } from 'node:module';
import type * as Api from '@duckdb/node-api';

const api = loadApi();

/**
 * The package as one bundled file (dist/vendor/duckdb-node-api.cjs, written by `npm run build`:
 * scripts/bundle-duckdb-api.js) when it was built from the installed version: one file to
 * compile instead of eighty to resolve, read and compile (about 40 ms of CPU of a `periscope
 * query`). Else, as after a bare `tsc`, the package itself.
 */
function loadApi(): typeof Api {
  const require = createRequire(import.meta.url);
  try {
    const bundled = require('../../vendor/duckdb-node-api.cjs') as typeof Api & {
      periscopeBundledFrom?: string;
    };
    const installed = (require('@duckdb/node-api/package.json') as { version?: string }).version;
    if (bundled.periscopeBundledFrom !== undefined && bundled.periscopeBundledFrom === installed)
      return bundled;
  } catch {
    // Not built (a bare `tsc`): the package.
  }
  return require('@duckdb/node-api') as typeof Api;
}

/** DuckDBInstance (value and type). */
export const DuckDBInstance = api.DuckDBInstance;
export type DuckDBInstance = Api.DuckDBInstance;
/** DuckDBDataChunk (value and type). */
export const DuckDBDataChunk = api.DuckDBDataChunk;
export type DuckDBDataChunk = Api.DuckDBDataChunk;
/** The kinds of statement a prepared statement can be (enum). */
export const StatementType = api.StatementType;
export type StatementType = Api.StatementType;
/** The ids of DuckDB's types (enum). */
export const DuckDBTypeId = api.DuckDBTypeId;
export type DuckDBTypeId = Api.DuckDBTypeId;
/** Column types of data chunks. */
export const { BOOLEAN, DOUBLE, INTEGER, TIMESTAMPTZ, VARCHAR } = api;
/** A TIMESTAMPTZ value from microseconds since the epoch. */
export const timestampTZValue = api.timestampTZValue;
