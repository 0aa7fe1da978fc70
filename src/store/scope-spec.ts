/**
 * The spec whose tables a query sees: the store's current spec in effect, with the one-off
 * specs of the snapshots in scope attached. Apart from spec-history.ts because it parses YAML:
 * the store imports it only when a query names a table of the spec.
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
import { readVersions } from './spec-history.js';
import type { QueryScope, SpecVersion } from './store.js';

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
