/**
 * DuckDB result types as PostgreSQL type OIDs, and DuckDB's printed values in PostgreSQL's
 * text formats: clients (pgx, node-postgres, JDBC) parse a value by its column's OID, so
 * booleans are `t`/`f`, lists are `{…}` arrays, and timestamps keep DuckDB's printing, which is
 * PostgreSQL's (`2024-01-01 12:00:00.12`, `…+00`). Types PostgreSQL lacks travel as text.
 */

import type { CellSql, ResultColumn } from '../../store/store.js';
import type { PgColumn } from './pg-messages.js';
import { type PgTimeZone, timestamptzSql, timestamptzText } from './pg-timezone.js';

/** PostgreSQL type OIDs this server sends. */
export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  float4: 700,
  float8: 701,
  int2Array: 1005,
  int4Array: 1007,
  textArray: 1009,
  int8Array: 1016,
  float8Array: 1022,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
} as const;

const SCALAR: Record<string, [number, number]> = {
  BOOLEAN: [OID.bool, 1],
  TINYINT: [OID.int2, 2],
  SMALLINT: [OID.int2, 2],
  UTINYINT: [OID.int2, 2],
  INTEGER: [OID.int4, 4],
  USMALLINT: [OID.int4, 4],
  BIGINT: [OID.int8, 8],
  UINTEGER: [OID.int8, 8],
  UBIGINT: [OID.numeric, -1],
  HUGEINT: [OID.numeric, -1],
  UHUGEINT: [OID.numeric, -1],
  FLOAT: [OID.float4, 4],
  DOUBLE: [OID.float8, 8],
  VARCHAR: [OID.text, -1],
  JSON: [OID.json, -1],
  BLOB: [OID.bytea, -1],
  DATE: [OID.date, 4],
  TIME: [OID.time, 8],
  TIMESTAMP: [OID.timestamp, 8],
  TIMESTAMP_S: [OID.timestamp, 8],
  TIMESTAMP_MS: [OID.timestamp, 8],
  TIMESTAMP_NS: [OID.timestamp, 8],
  'TIMESTAMP WITH TIME ZONE': [OID.timestamptz, 8],
  INTERVAL: [OID.interval, 16],
  UUID: [OID.uuid, 16],
};

const ARRAY_OF: Record<number, number> = {
  [OID.int2]: OID.int2Array,
  [OID.int4]: OID.int4Array,
  [OID.int8]: OID.int8Array,
  [OID.float8]: OID.float8Array,
  [OID.text]: OID.textArray,
};

/** How one column is sent: its OID, its size, and how a DuckDB-printed value becomes PostgreSQL text. */
export interface WireColumn extends PgColumn {
  readonly text: (v: string) => string;
}

const same = (v: string): string => v;

/** A column of an answer made by this server (catalog, SHOW), its values already PostgreSQL's text. */
export function textColumn(name: string, oid: number = OID.text): WireColumn {
  return { name, oid, size: -1, text: same };
}

/** A DuckDB list as printed (`[1, 2]`, `['a b', c]`) as a PostgreSQL array literal (`{1,2}`, `{"a b",c}`). */
function arrayText(v: string): string {
  const inner = v.slice(1, -1).trim();
  if (inner === '') return '{}';
  const items: string[] = [];
  let cur = '';
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (quoted) {
      if (ch === "'" && inner[i + 1] === "'") {
        cur += "'";
        i++;
      } else if (ch === "'") quoted = false;
      else cur += ch;
    } else if (ch === "'") quoted = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      cur += ch;
    } else if (ch === ']' || ch === '}') {
      depth--;
      cur += ch;
    } else if (ch === ',' && depth === 0) {
      items.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  items.push(cur.trim());
  return `{${items.map((s) => (s === 'NULL' ? 'NULL' : /^[^\s{}",\\]+$/.test(s) && s.toUpperCase() !== 'NULL' ? s : `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

/**
 * The wire form of a result column; a TIMESTAMPTZ is printed in `zone` (the session's; the
 * callers that want only the OID give none).
 */
export function wireColumn(c: ResultColumn, zone?: PgTimeZone): WireColumn {
  const t = c.type.replace(/^DECIMAL\(.*$/, 'DECIMAL');
  if (t === 'TIMESTAMP WITH TIME ZONE' && zone)
    return { name: c.name, oid: OID.timestamptz, size: 8, text: timestamptzText(zone) };
  if (t === 'DECIMAL') return { name: c.name, oid: OID.numeric, size: -1, text: same };
  if (t === 'BOOLEAN')
    return { name: c.name, oid: OID.bool, size: 1, text: (v) => (v === 'true' ? 't' : 'f') };
  const scalar = SCALAR[t];
  if (scalar) return { name: c.name, oid: scalar[0], size: scalar[1], text: same };
  const list = /^(.*)\[\]$/.exec(t);
  if (list) {
    const inner = list[1]!;
    const el = inner === 'BOOLEAN' ? undefined : SCALAR[inner.replace(/^DECIMAL\(.*$/, 'DECIMAL')];
    const oid = el ? (ARRAY_OF[el[0]] ?? OID.textArray) : OID.textArray;
    return { name: c.name, oid, size: -1, text: arrayText };
  }
  return { name: c.name, oid: OID.text, size: -1, text: same };
}

/**
 * The SQL that prints a column's value (`ref`) in PostgreSQL's text format, for the types
 * whose DuckDB printing (CAST AS VARCHAR) is PostgreSQL's or made so here: booleans `t`/`f`,
 * floats' NaN and Infinity (DuckDB prints `nan`, `inf`; otherwise it prints `1e+20` and a
 * float4 0.1 as `0.1`, as PostgreSQL does), TIMESTAMPTZ in the session's zone (pg-timezone.ts).
 * Undefined for lists, structs and other types, which keep the JS path (DuckDB's cast prints
 * lists' strings unquoted, `[a b, c]`).
 */
function cellSqlIn(zone: PgTimeZone, c: ResultColumn, ref: string): string | undefined {
  const t = c.type.replace(/^DECIMAL\(.*$/, 'DECIMAL');
  if (t === 'BOOLEAN') return `CASE WHEN ${ref} IS NULL THEN NULL WHEN ${ref} THEN 't' ELSE 'f' END`;
  if (t === 'FLOAT' || t === 'DOUBLE')
    return `CASE WHEN isnan(${ref}) THEN 'NaN' WHEN isinf(${ref}) THEN (CASE WHEN ${ref} > 0 THEN 'Infinity' ELSE '-Infinity' END) ELSE CAST(${ref} AS VARCHAR) END`;
  if (t === 'TIMESTAMP WITH TIME ZONE') return timestamptzSql(ref, zone);
  if (t === 'DECIMAL' || t in SCALAR) return `CAST(${ref} AS VARCHAR)`;
  return undefined;
}

const cellSqls = new Map<string, CellSql>();

/** The cell printing of a time zone (one function per zone, so that a session keeps its wrapped statements for it). */
export function cellSql(zone: PgTimeZone): CellSql {
  let f = cellSqls.get(zone.iana);
  if (!f) {
    f = (c, ref) => cellSqlIn(zone, c, ref);
    cellSqls.set(zone.iana, f);
  }
  return f;
}

/** PostgreSQL's name for an OID (what `format_type` prints, for psql's `\d`). */
export function typeName(oid: number): string {
  const names: Record<number, string> = {
    [OID.bool]: 'boolean',
    [OID.bytea]: 'bytea',
    [OID.int8]: 'bigint',
    [OID.int2]: 'smallint',
    [OID.int4]: 'integer',
    [OID.text]: 'text',
    [OID.json]: 'json',
    [OID.float4]: 'real',
    [OID.float8]: 'double precision',
    [OID.int2Array]: 'smallint[]',
    [OID.int4Array]: 'integer[]',
    [OID.textArray]: 'text[]',
    [OID.int8Array]: 'bigint[]',
    [OID.float8Array]: 'double precision[]',
    [OID.date]: 'date',
    [OID.time]: 'time without time zone',
    [OID.timestamp]: 'timestamp without time zone',
    [OID.timestamptz]: 'timestamp with time zone',
    [OID.interval]: 'interval',
    [OID.numeric]: 'numeric',
    [OID.uuid]: 'uuid',
  };
  return names[oid] ?? 'text';
}
