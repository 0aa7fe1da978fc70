/**
 * The spec's history in `raw.spec_versions`: every version with its author, time, YAML text
 * and a unified diff against the one before. The newest version is the current spec.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { TableWriter } from './bulk-append.js';
import { SPEC_VERSIONS } from './schema.js';
import type { SpecVersion } from './store.js';
import { unifiedDiff } from './unified-diff.js';

function toVersion(row: Record<string, unknown>): SpecVersion {
  return {
    version: Number(row.version),
    createdAt: String(row.created_at),
    author: String(row.author ?? ''),
    yaml: String(row.yaml ?? ''),
    diff: String(row.diff ?? ''),
  };
}

/** Spec versions, oldest first (or only the one asked for). */
export async function readVersions(
  conn: DuckDBConnection,
  only?: number | 'current',
): Promise<SpecVersion[]> {
  const where =
    only === 'current'
      ? ' ORDER BY version DESC LIMIT 1'
      : only !== undefined
        ? ` WHERE version = ${Math.trunc(only)}`
        : ' ORDER BY version';
  const r = await conn.runAndReadAll(
    `SELECT version, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ') AS created_at, author, yaml, diff FROM raw.spec_versions${where}`,
  );
  return r.getRowObjectsJson().map((row) => toVersion(row));
}

/** Appends a version (the caller has validated it); returns its number, or the current one if unchanged. */
export async function addVersion(
  conn: DuckDBConnection,
  yaml: string,
  author: string,
): Promise<{ version: number; changed: boolean }> {
  const [cur] = await readVersions(conn, 'current');
  if (cur && cur.yaml === yaml) return { version: cur.version, changed: false };
  const version = (cur?.version ?? 0) + 1;
  const diff = unifiedDiff(
    cur?.yaml ?? '',
    yaml,
    cur ? `spec version ${cur.version}` : '/dev/null',
    `spec version ${version}`,
  );
  const w = new TableWriter('spec_versions', SPEC_VERSIONS);
  w.add(version, new Date(), author, yaml, diff);
  await w.flush(conn, 'raw');
  return { version, changed: true };
}

/** The version whose text is exactly `yaml`, if any (the newest such). */
export async function versionOfText(conn: DuckDBConnection, yaml: string): Promise<number | null> {
  const p = await conn.prepare('SELECT max(version) FROM raw.spec_versions WHERE yaml = $1');
  p.bindVarchar(1, yaml);
  const v = (await p.runAndReadAll()).getRows()[0]?.[0];
  return v === null || v === undefined ? null : Number(v);
}
