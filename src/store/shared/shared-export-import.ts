/**
 * `periscope export` and `periscope import` on the scaled-out store, in the embedded store's
 * format (export-import.ts does the work in both directions): a snapshot's objects and index
 * row, with the spec history of PostgreSQL, are loaded into a scratch in-memory DuckDB and
 * exported from there; an export is imported into a scratch DuckDB under an id from the
 * sequence and written as objects, which the caller then indexes (as a server stores a snapshot)
 * with where it came from.
 */

import type pg from 'pg';
import { PeriscopeError } from '../../common/errors.js';
import { exportSnapshot, importSnapshot } from '../export-import.js';
import type { ObjectStore } from '../object-store.js';
import { openObjectStore } from '../open-objects.js';
import { ensureSchema } from '../schema.js';
import { specForScope } from '../scope-spec.js';
import type { ExportFormat, ImportResult } from '../store.js';
import {
  adoptSpecHistory,
  type ImportRecord,
  readIndex,
  readSpecVersions,
  snapshotObjects,
  specVersionOfText,
} from './pg-index.js';
import { connectPg, describePg } from './pg-schema.js';
import {
  importRecordIn,
  loadIndexedSnapshot,
  loadSpecVersions,
  putRawRows,
  scratch,
  type WrittenSnapshot,
} from './snapshot-objects.js';

/** Writes snapshot `id` from the objects to `out`; returns the spec tables left out and why. */
export async function exportFromObjects(
  pool: pg.Pool,
  objects: ObjectStore,
  where: string,
  id: number,
  format: ExportFormat,
  out: string,
): Promise<string[]> {
  const [indexed] = await readIndex(pool, [id]);
  if (!indexed)
    throw new PeriscopeError(
      'not-found',
      `no snapshot ${id} in ${where}; \`periscope snapshots\` lists the stored ones`,
    );
  const keys = await snapshotObjects(pool, id); // the objects and the processes indexed
  const specs = await readSpecVersions(pool);
  return scratch(async (conn) => {
    await ensureSchema(conn);
    await loadIndexedSnapshot(objects, indexed, keys, conn);
    await loadSpecVersions(conn, specs);
    const { spec } = await specForScope(conn, { snapshot: id });
    return exportSnapshot(conn, spec, id, format, out);
  });
}

/**
 * `periscope export` from the scaled-out store as a reader: PostgreSQL is read (a role with
 * SELECT on the schema is enough) and objects are read; nothing is written to either, and no
 * server cache is opened.
 */
export async function exportFromSharedStore(
  storeUrl: string,
  objectsUrl: string,
  id: number,
  format: ExportFormat,
  out: string,
): Promise<string[]> {
  const objects = openObjectStore(objectsUrl);
  const pool = await connectPg(storeUrl, { readOnly: true });
  try {
    return await exportFromObjects(
      pool,
      objects,
      `${describePg(storeUrl)} + ${objects.describe()}`,
      id,
      format,
      out,
    );
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** An imported snapshot written as objects: what its index rows need. */
export interface ImportedObjects {
  readonly written: WrittenSnapshot;
  readonly specVersion: number | null;
  readonly result: ImportResult;
  /** Where it came from (`periscope.imports`, as the embedded store's `raw.imports`). */
  readonly imported: ImportRecord | undefined;
}

/**
 * Reads the export at `path` as snapshot `id` and puts its objects. The capturing spec version
 * is mapped to PostgreSQL's by its text; into a store without a spec history the export's
 * whole history comes along (unless another server set a spec meanwhile).
 */
export async function importToObjects(
  pool: pg.Pool,
  objects: ObjectStore,
  path: string,
  id: number,
): Promise<ImportedObjects> {
  const specs = await readSpecVersions(pool);
  return scratch(async (conn, dir) => {
    await ensureSchema(conn);
    await loadSpecVersions(conn, specs);
    const result = await importSnapshot(conn, path, (fn) => fn(), id);
    const row = (
      await conn.runAndReadAll(
        'SELECT s.spec_version, v.yaml FROM raw.snapshots s LEFT JOIN raw.spec_versions v ON v.version = s.spec_version',
      )
    ).getRowsJS()[0];
    let specVersion = row?.[0] === null || row?.[0] === undefined ? null : Number(row[0]);
    let specVersionsImported = 0;
    if (result.specVersionsImported > 0) {
      const history = (
        await conn.runAndReadAll(
          `SELECT version, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), author, yaml, diff FROM raw.spec_versions ORDER BY version`,
        )
      )
        .getRowsJS()
        .map(([version, createdAt, author, yaml, diff]) => ({
          version: Number(version),
          createdAt: String(createdAt),
          author: String(author),
          yaml: String(yaml),
          diff: String(diff),
        }));
      if (await adoptSpecHistory(pool, history)) specVersionsImported = history.length;
      else specVersion = specVersion === null ? null : await specVersionOfText(pool, String(row?.[1]));
    }
    const imported = await importRecordIn(conn, id);
    const written = await putRawRows(conn, dir, objects, id);
    return { written, specVersion, result: { ...result, specVersionsImported }, imported };
  });
}
