/**
 * The spec's history in `raw.spec_versions`: every version with its author, time, YAML text
 * and a unified diff against the one before. The newest version is the current spec.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { describeError } from '../common/errors.js';
import {
  type AttachedSpec,
  type EffectiveSpec,
  effectiveSpecOfText,
  withAttachedSpecs,
} from '../spec/effective-spec.js';
import { parseSpec } from '../spec/spec-parse.js';
import { TableWriter } from './bulk-append.js';
import { SPEC_VERSIONS } from './schema.js';
import type { QueryScope, SpecVersion } from './store.js';
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

/** The spec whose tables queries see: the current version (none set: the built-in entries alone) in effect. */
export async function currentSpec(
  conn: DuckDBConnection,
): Promise<{ spec: EffectiveSpec; version?: SpecVersion }> {
  const [v] = await readVersions(conn, 'current');
  if (!v) return { spec: effectiveSpecOfText('', 'no spec') };
  return { spec: effectiveSpecOfText(v.yaml, `spec version ${v.version}`), version: v };
}

/**
 * The spec whose tables a query over `scope` sees: the current spec, with the specs attached
 * that captured snapshots in scope without being a stored version (`periscope snapshot
 * --spec FILE`, an imported snapshot): their tables show for those snapshots only. `notes`
 * says what could not be attached.
 */
export async function specForScope(
  conn: DuckDBConnection,
  scope: QueryScope,
): Promise<{ spec: EffectiveSpec; version?: SpecVersion; notes: string[] }> {
  const current = await currentSpec(conn);
  const where =
    'snapshot' in scope
      ? ` AND snapshot_id = ${Math.trunc(scope.snapshot)}`
      : 'latest' in scope
        ? ' AND snapshot_id = (SELECT max(snapshot_id) FROM raw.snapshots)'
        : '';
  const r = await conn.runAndReadAll(
    'SELECT capture_spec, list(snapshot_id ORDER BY snapshot_id) AS ids FROM raw.snapshots ' +
      `WHERE trim(capture_spec) <> '' AND capture_spec NOT IN (SELECT yaml FROM raw.spec_versions)${where} ` +
      'GROUP BY capture_spec ORDER BY max(snapshot_id) DESC',
  );
  const attached: AttachedSpec[] = [];
  const notes: string[] = [];
  for (const [text, ids] of r.getRowsJS()) {
    const list = (ids as unknown[]).map(Number);
    const snapshots =
      list.length === 1
        ? `snapshot ${list[0]}`
        : `snapshots ${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''}`;
    try {
      attached.push({ spec: parseSpec(String(text), `the spec of ${snapshots}`), snapshots });
    } catch (e) {
      notes.push(
        `the spec that captured ${snapshots} no longer parses, its tables are left out: ${describeError(e)}`,
      );
    }
  }
  const merged = withAttachedSpecs(current.spec, attached);
  return { ...current, spec: merged.spec, notes: [...notes, ...merged.notes] };
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
