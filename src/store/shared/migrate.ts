/**
 * `periscope store migrate`: copies an embedded store (a data directory) into the scaled-out
 * one. Spec versions keep their numbers, snapshots their ids (each written as objects, then
 * indexed, as a server writes one, with where an imported one came from; the id sequence is
 * moved past them); fleet-snapshot
 * metadata, tokens, investigations and their firings keep theirs (migrate-investigations.ts);
 * probe data and request traces become one batch of the shared store (probe-migrate.ts).
 * Idempotent: what the target already holds identically is skipped, so a second run (or one
 * after an interruption) copies only what is missing. Before copying anything it refuses when
 * the target holds other data under the same numbers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { PeriscopeError } from '../../common/errors.js';
import { DB_FILE } from '../data-dir.js';
import { DuckDBInstance } from '../duckdb-api.js';
import { DuckDBStore } from '../duckdb-store.js';
import { openObjectStore } from '../open-objects.js';
import type { TokenRecord } from '../token-records.js';
import { TOKENS_FILE, TokenStore } from '../tokens.js';
import {
  copyInvestigations,
  type EmbeddedInvestigations,
  investigationConflicts,
  readEmbeddedInvestigations,
} from './migrate-investigations.js';
import { indexSnapshot } from './pg-index.js';
import { ensureProbeIndex } from './pg-probes.js';
import { connectPg, describePg, inPgTransaction, withPgRetry } from './pg-schema.js';
import { readTokens, upsertTokens } from './pg-tokens.js';
import { copyProbeRows, fromDuckDBFile } from './probe-migrate.js';
import { putEmbeddedSnapshot } from './snapshot-objects.js';

/** What to migrate, and where progress lines go. */
export interface MigrateOptions {
  readonly dataDir: string;
  readonly store: string;
  readonly objects: string;
  readonly progress: (line: string) => void;
  /** A fleet snapshot's metadata in the data directory (fleet-snapshots.jsonl), if any. */
  readonly fleetMeta: (snapshotId: number) => Promise<unknown>;
}

/** What one run copied and what it found already there. */
export interface MigrateResult {
  readonly specVersions: { readonly copied: number; readonly present: number };
  readonly snapshots: { readonly copied: number; readonly present: number };
  readonly fleetMeta: number;
  readonly tokens: { readonly copied: number; readonly present: number };
  readonly investigations: { readonly copied: number; readonly firingsCopied: number };
  /** Probe events, their other rows and request traces (probe-migrate.ts). */
  readonly probes: {
    readonly events: number;
    readonly rows: number;
    readonly traces: number;
    readonly copied: boolean;
  };
}

interface EmbeddedSpec {
  readonly version: number;
  readonly createdAt: string;
  readonly author: string;
  readonly yaml: string;
  readonly diff: string;
}

interface Embedded {
  readonly specs: EmbeddedSpec[];
  /** Snapshot id → taken time (ISO, ms). */
  readonly snapshots: Map<number, string>;
  readonly tokens: readonly TokenRecord[];
  readonly investigations: EmbeddedInvestigations;
}

const ISO_SQL = (col: string) => `strftime(${col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')`;

/** Reads what the embedded store holds (its file brought to the current schema first). */
async function readEmbedded(dataDir: string): Promise<Embedded> {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file))
    throw new PeriscopeError(
      'not-found',
      `no embedded store in ${dataDir} (no ${DB_FILE}); give the data directory of the server to migrate`,
    );
  // Opening it as a server does brings an older file to the current schema, and fails (saying
  // so) while a server still holds it: stop that server first.
  await (await DuckDBStore.open(dataDir, { waitMs: 2000 })).close();
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const specs = (
      await conn.runAndReadAll(
        `SELECT version, ${ISO_SQL('created_at')}, author, yaml, diff FROM raw.spec_versions ORDER BY version`,
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
    const snaps = (
      await conn.runAndReadAll(
        `SELECT snapshot_id, ${ISO_SQL('created_at')} FROM raw.snapshots ORDER BY snapshot_id`,
      )
    ).getRowsJS();
    const tokens = existsSync(join(dataDir, TOKENS_FILE)) ? new TokenStore(dataDir).storedRecords() : [];
    return {
      specs,
      snapshots: new Map(snaps.map(([id, at]) => [Number(id), String(at)])),
      tokens,
      investigations: await readEmbeddedInvestigations(conn),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The conflicts between the embedded store and what the target holds; empty when none. */
async function conflicts(pool: pg.Pool, src: Embedded): Promise<{ lines: string[]; present: Present }> {
  const lines: string[] = [];
  const specRows = (
    await pool.query<{ version: number; yaml: string }>('SELECT version, yaml FROM periscope.spec_versions')
  ).rows;
  const specs = new Map(specRows.map((r) => [Number(r.version), r.yaml]));
  for (const s of src.specs) {
    const there = specs.get(s.version);
    if (there !== undefined && there !== s.yaml) lines.push(`spec version ${s.version} differs`);
  }
  const own = new Set(src.specs.map((s) => s.version));
  for (const v of specs.keys()) if (!own.has(v)) lines.push(`spec version ${v} is not in the embedded store`);
  const snapRows = (
    await pool.query<{ id: string; at: string }>(
      `SELECT snapshot_id AS id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM periscope.snapshots`,
    )
  ).rows;
  const snaps = new Map(snapRows.map((r) => [Number(r.id), r.at]));
  for (const [id, at] of src.snapshots) {
    const there = snaps.get(id);
    if (there !== undefined && there !== at)
      lines.push(`snapshot ${id} is another snapshot there (taken ${there}, here ${at})`);
  }
  const tokens = new Map((await readTokens(pool)).map((t) => [t.id, t.hash]));
  for (const t of src.tokens) {
    const there = tokens.get(t.id);
    if (there !== undefined && there !== t.hash) lines.push(`token ${t.id} is another token there`);
  }
  lines.push(...(await investigationConflicts(pool, src.investigations)));
  return {
    lines,
    present: {
      specs: new Set([...specs.keys()]),
      snapshots: new Set([...snaps.keys()]),
      tokens: new Set([...tokens.keys()]),
    },
  };
}

interface Present {
  readonly specs: ReadonlySet<number>;
  readonly snapshots: ReadonlySet<number>;
  readonly tokens: ReadonlySet<string>;
}

/** Copies the embedded store of `dataDir` into the scaled-out store; see the module comment. */
export async function migrateEmbedded(o: MigrateOptions): Promise<MigrateResult> {
  const src = await readEmbedded(o.dataDir);
  o.progress(
    `${o.dataDir}: ${src.specs.length} spec versions, ${src.snapshots.size} snapshots, ${src.tokens.length} tokens, ${src.investigations.investigations.length} investigations`,
  );
  const objects = await openObjectStore(o.objects);
  const pool = await connectPg(o.store);
  try {
    const { lines, present } = await conflicts(pool, src);
    if (lines.length > 0)
      throw new PeriscopeError(
        'bad-usage',
        `${describePg(o.store)} already holds other data: ${lines.slice(0, 5).join('; ')}${lines.length > 5 ? ` (and ${lines.length - 5} more)` : ''}; migrate into an empty schema (or one this data directory was migrated into before)`,
      );
    const newSpecs = src.specs.filter((s) => !present.specs.has(s.version));
    if (newSpecs.length > 0)
      await inPgTransaction(pool, async (c) => {
        for (const s of newSpecs)
          await c.query('INSERT INTO periscope.spec_versions VALUES ($1, $2, $3, $4, $5)', [
            s.version,
            s.createdAt,
            s.author,
            s.yaml,
            s.diff,
          ]);
      });
    o.progress(
      `spec versions: ${newSpecs.length} copied, ${src.specs.length - newSpecs.length} already there`,
    );
    const todo = [...src.snapshots.keys()].filter((id) => !present.snapshots.has(id));
    let n = 0;
    for (const id of todo) {
      const w = await putEmbeddedSnapshot(objects, join(o.dataDir, DB_FILE), id);
      await indexSnapshot(pool, id, w.specVersion, w, w.imported);
      n++;
      o.progress(
        `snapshot ${id}: ${w.processes.length} processes, ${w.bytes} bytes of objects (${n}/${todo.length})`,
      );
    }
    // Past every id, so a server's next snapshot never takes one the migration used.
    await withPgRetry(() =>
      pool.query(
        `SELECT setval('periscope.snapshot_ids', greatest(s.last_value, m.id)) FROM periscope.snapshot_ids s,
           (SELECT max(snapshot_id) AS id FROM periscope.snapshots) m WHERE m.id IS NOT NULL`,
      ),
    );
    let meta = 0;
    for (const id of src.snapshots.keys()) {
      const m = await o.fleetMeta(id);
      if (m === undefined) continue;
      await withPgRetry(() =>
        pool.query(
          'INSERT INTO periscope.fleet_snapshots VALUES ($1, $2) ON CONFLICT (snapshot_id) DO NOTHING',
          [id, JSON.stringify(m)],
        ),
      );
      meta++;
    }
    o.progress(`fleet-snapshot metadata: ${meta} snapshots`);
    const newTokens = src.tokens.filter((t) => !present.tokens.has(t.id));
    if (newTokens.length > 0) await inPgTransaction(pool, (c) => upsertTokens(c, newTokens));
    o.progress(`tokens: ${newTokens.length} copied, ${src.tokens.length - newTokens.length} already there`);
    const inv = await copyInvestigations(pool, src.investigations);
    o.progress(
      `investigations: ${inv.investigations} copied (of ${src.investigations.investigations.length}), ${inv.firings} firings copied with their report rows (of ${src.investigations.firings.length})`,
    );
    await ensureProbeIndex(pool);
    const probes = await copyProbeRows(objects, pool, 'migrate', fromDuckDBFile(join(o.dataDir, DB_FILE)));
    o.progress(
      `probe data: ${probes.events} events, ${probes.rows} rows of counts, histograms, notices and facts, ${probes.traces} request traces${probes.copied ? ' copied' : probes.events + probes.rows + probes.traces > 0 ? ' already there' : ''}`,
    );
    return {
      probes,
      investigations: { copied: inv.investigations, firingsCopied: inv.firings },
      specVersions: { copied: newSpecs.length, present: src.specs.length - newSpecs.length },
      snapshots: { copied: todo.length, present: src.snapshots.size - todo.length },
      fleetMeta: meta,
      tokens: { copied: newTokens.length, present: src.tokens.length - newTokens.length },
    };
  } finally {
    await pool.end().catch(() => undefined);
  }
}
