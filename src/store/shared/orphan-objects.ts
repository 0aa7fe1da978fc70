/**
 * Objects nobody indexed: a server that dies after putting a snapshot's Parquet objects and
 * before inserting its index row (a fleet snapshot's origin, any server storing one) leaves
 * objects under `snapshots/<id>/` that no query sees and no deletion reaches. One server at a
 * time (a PostgreSQL advisory lock, tried, never waited for) lists the snapshot ids of the
 * object store, leaves out the indexed ones and those of fleet requests still recorded (in
 * flight), notes when each other id was first seen so (`orphan_sightings`, PostgreSQL's clock),
 * and deletes the objects of those first seen longer ago than the safe age, checking the index
 * once more just before. An id indexed or gone since is forgotten. The same for probe objects
 * (`probes/`), by key prefix: a flush or a compacted or trimmed batch whose index row was never
 * written (a server killed between putting and indexing).
 */
import type pg from 'pg';
import type { ObjectStore } from '../object-store.js';
import { inPgTransaction, sessionLock, withPgRetry } from './pg-schema.js';
import { PROBES_PREFIX } from './probe-objects.js';

/** The advisory lock key held by the server collecting ("PSCO"). */
export const ORPHAN_LOCK = 0x5053434f;
/** The advisory lock key held while the sightings table is created ("PSCT"). */
const SCHEMA_LOCK = 0x50534354;

const SIGHTINGS_SQL = `CREATE TABLE IF NOT EXISTS periscope.orphan_sightings (
  snapshot_id bigint PRIMARY KEY, seen_at timestamptz NOT NULL DEFAULT clock_timestamp())`;
/** The same for probe objects, by key prefix (a flush's, or a rewritten batch's). */
const PROBE_SIGHTINGS_SQL = `CREATE TABLE IF NOT EXISTS periscope.orphan_probe_sightings (
  prefix text PRIMARY KEY, seen_at timestamptz NOT NULL DEFAULT clock_timestamp())`;

/** What one pass did. */
export interface OrphanPass {
  /** Another server was collecting: this pass did nothing. */
  readonly locked: boolean;
  /** Snapshot ids with objects and no index row, seen now (collected or not yet old enough). */
  readonly unindexed: number;
  /** The snapshot ids whose objects were deleted. */
  readonly collected: readonly number[];
  /** The key prefixes of probe objects deleted (a flush or a rewritten batch never indexed). */
  readonly probePrefixes: readonly string[];
  /** How many objects were deleted, and their bytes. */
  readonly objects: number;
  readonly bytes: number;
}

/** Creates the sightings table (once per database, under an advisory lock). */
export async function ensureOrphanSchema(pool: pg.Pool): Promise<void> {
  await inPgTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await c.query(SIGHTINGS_SQL);
    await c.query(PROBE_SIGHTINGS_SQL);
  });
}

/** The snapshot id of an object key under `snapshots/<id>/`, if it is one. */
function snapshotIdOf(key: string): number | undefined {
  const m = /^snapshots\/(\d+)\//.exec(key);
  return m ? Number(m[1]) : undefined;
}

/**
 * One collection pass: deletes the objects of snapshot ids unindexed and first seen so more than
 * `ageMs` ago. Returns `locked` when another server holds the collector's lock.
 */
export async function collectOrphanObjects(
  pool: pg.Pool,
  objects: ObjectStore,
  ageMs: number,
): Promise<OrphanPass> {
  const lock = await sessionLock(pool, ORPHAN_LOCK, false);
  if (!lock) return { locked: true, unindexed: 0, collected: [], probePrefixes: [], objects: 0, bytes: 0 };
  try {
    const snapshots = await pass(pool, objects, ageMs);
    const probes = await probePass(pool, objects, ageMs);
    return {
      ...snapshots,
      probePrefixes: probes.prefixes,
      objects: snapshots.objects + probes.objects,
      bytes: snapshots.bytes + probes.bytes,
    };
  } finally {
    await lock.release();
  }
}

async function pass(
  pool: pg.Pool,
  objects: ObjectStore,
  ageMs: number,
): Promise<Omit<OrphanPass, 'probePrefixes'>> {
  const byId = new Map<number, { key: string; size: number }[]>();
  for (const o of await objects.list('snapshots/')) {
    const id = snapshotIdOf(o.key);
    if (id === undefined) continue;
    const list = byId.get(id) ?? [];
    list.push(o);
    byId.set(id, list);
  }
  const ids = [...byId.keys()];
  const known = async (among: readonly number[]): Promise<Set<number>> => {
    const q = await withPgRetry(() =>
      pool.query<{ id: string }>(
        `SELECT snapshot_id AS id FROM periscope.snapshots WHERE snapshot_id = ANY($1::bigint[])
         UNION SELECT snapshot_id FROM periscope.fleet_requests WHERE snapshot_id = ANY($1::bigint[])`,
        [among],
      ),
    );
    return new Set(q.rows.map((r) => Number(r.id)));
  };
  const seen = await known(ids);
  const unindexed = ids.filter((id) => !seen.has(id));
  // Sightings: new ones noted, those no longer unindexed (indexed, or their objects gone) forgotten.
  const old = await inPgTransaction(pool, async (c) => {
    await c.query(
      'INSERT INTO periscope.orphan_sightings (snapshot_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING',
      [unindexed],
    );
    await c.query('DELETE FROM periscope.orphan_sightings WHERE NOT (snapshot_id = ANY($1::bigint[]))', [
      unindexed,
    ]);
    const q = await c.query<{ id: string }>(
      `SELECT snapshot_id AS id FROM periscope.orphan_sightings
       WHERE seen_at <= clock_timestamp() - make_interval(secs => $1 / 1000.0) ORDER BY snapshot_id`,
      [ageMs],
    );
    return q.rows.map((r) => Number(r.id));
  });
  if (old.length === 0)
    return { locked: false, unindexed: unindexed.length, collected: [], objects: 0, bytes: 0 };
  // Indexed since the listing (a writer slower than the age, in theory): never deleted.
  const late = await known(old);
  const collected: number[] = [];
  let count = 0;
  let bytes = 0;
  for (const id of old.filter((x) => !late.has(x))) {
    const list = byId.get(id) ?? [];
    await objects.delete(list.map((o) => o.key));
    await withPgRetry(() =>
      pool.query('DELETE FROM periscope.orphan_sightings WHERE snapshot_id = $1', [id]),
    );
    collected.push(id);
    count += list.length;
    bytes += list.reduce((n, o) => n + o.size, 0);
  }
  return { locked: false, unindexed: unindexed.length, collected, objects: count, bytes };
}

/**
 * The probe objects under a key prefix that no batch row names and none of whose keys wait as
 * garbage of a replaced batch (probe-compaction.ts deletes those): a flush or a rewritten batch
 * whose index row was never written. Sightings as for snapshots, by prefix.
 */
async function probePass(
  pool: pg.Pool,
  objects: ObjectStore,
  ageMs: number,
): Promise<{ prefixes: string[]; objects: number; bytes: number }> {
  const byPrefix = new Map<string, { key: string; size: number }[]>();
  for (const o of await objects.list(PROBES_PREFIX)) {
    const prefix = o.key.slice(0, o.key.lastIndexOf('/') + 1);
    const list = byPrefix.get(prefix) ?? [];
    list.push(o);
    byPrefix.set(prefix, list);
  }
  const known = async (among: readonly string[]): Promise<Set<string>> => {
    const keys = among.flatMap((p) => (byPrefix.get(p) ?? []).map((o) => o.key));
    const q = await withPgRetry(() =>
      pool.query<{ p: string }>(
        `SELECT flush_key AS p FROM periscope.probe_batches WHERE flush_key = ANY($1::text[])
         UNION SELECT regexp_replace(key, '[^/]*$', '') FROM periscope.probe_garbage WHERE key = ANY($2::text[])`,
        [among, keys],
      ),
    );
    return new Set(q.rows.map((r) => r.p));
  };
  const prefixes = [...byPrefix.keys()];
  const seen = await known(prefixes);
  const unindexed = prefixes.filter((p) => !seen.has(p));
  const old = await inPgTransaction(pool, async (c) => {
    await c.query(
      'INSERT INTO periscope.orphan_probe_sightings (prefix) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
      [unindexed],
    );
    await c.query('DELETE FROM periscope.orphan_probe_sightings WHERE NOT (prefix = ANY($1::text[]))', [
      unindexed,
    ]);
    const q = await c.query<{ p: string }>(
      `SELECT prefix AS p FROM periscope.orphan_probe_sightings
       WHERE seen_at <= clock_timestamp() - make_interval(secs => $1 / 1000.0) ORDER BY prefix`,
      [ageMs],
    );
    return q.rows.map((r) => r.p);
  });
  if (old.length === 0) return { prefixes: [], objects: 0, bytes: 0 };
  const late = await known(old);
  const collected: string[] = [];
  let count = 0;
  let bytes = 0;
  for (const prefix of old.filter((x) => !late.has(x))) {
    const list = byPrefix.get(prefix) ?? [];
    await objects.delete(list.map((o) => o.key));
    await withPgRetry(() =>
      pool.query('DELETE FROM periscope.orphan_probe_sightings WHERE prefix = $1', [prefix]),
    );
    collected.push(prefix);
    count += list.length;
    bytes += list.reduce((n, o) => n + o.size, 0);
  }
  return { prefixes: collected, objects: count, bytes };
}
