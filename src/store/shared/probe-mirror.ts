/**
 * The probe and trace data of every server in one server's cache: the batches indexed in
 * PostgreSQL (pg-probes.ts) loaded into the cache's raw probe and trace tables in batch order
 * (so the events held are always a prefix of the fleet's seq order), with the processes'
 * facts, and the last batch loaded kept in the cache's `raw.meta` in the same transaction; a
 * rewritten batch (probe-compaction.ts) only for its rows of batches above that mark. Then the
 * retention passes recorded since the last applied (`probe_trims`) delete the same rows here; a
 * cache that missed passes since pruned from there (its server stopped or cut off longer than
 * they are kept) starts afresh. What it holds is bounded (a share of `--cache-mb`, counted as
 * the batches' bytes in the object store): past the bound, the rows before a time (the cache's
 * floor, kept in `raw.meta`) are deleted from the cache, the oldest first, and batches wholly
 * before it are not loaded. Looked for before every read and every PROBE_WATCH_MS; listeners
 * hear of new batches (the long-poll of `GET /v1/events`).
 */
import { hostname } from 'node:os';
import type { DuckDBConnection } from '@duckdb/node-api';
import type pg from 'pg';
import { TableWriter } from '../bulk-append.js';
import type { DuckDBStore } from '../duckdb-store.js';
import type { ObjectStore } from '../object-store.js';
import { PROBE_PROCESSES } from '../probe-schema.js';
import { deleteExpiredProbeRows } from '../retention.js';
import { literal } from '../sql-text.js';
import { lastProbeTrim, type ProbeTrim, probeTrimsAfter, prunedProbeTrims } from './pg-probe-rewrites.js';
import {
  lastProbeBatch,
  probeBatchesAfter,
  probeBytesUpTo,
  probeFloorFor,
  probeProcessesAfter,
} from './pg-probes.js';
import { copyProbeRows, fromConnection } from './probe-migrate.js';
import { loadProbeObjects, PROBE_OBJECT_TABLES } from './probe-objects.js';

/** How often a server looks for batches the others indexed, ms. */
export const PROBE_WATCH_MS = 500;

/** The `raw.meta` key of the last batch loaded. */
const MARK = 'probe_batch';
/** The `raw.meta` key of the last retention pass applied (`probe_trims`). */
const TRIM_MARK = 'probe_trim';
/** The `raw.meta` key of the cache's floor: rows recorded before it (µs) were deleted to keep within the bound. */
const FLOOR_MARK = 'probe_floor_us';
/** Past its bound, a cache deletes rows until it holds at most this share of it (not at every new batch). */
const REFILL_SHARE = 0.9;
/** The note that the floor moved is logged at most this often, ms. */
const FLOOR_NOTE_MS = 3_600_000;
/** Logged when a cache starts afresh because retention passes it missed were pruned. */
const MISSED_PASSES =
  'probe data: this server missed retention passes that are no longer recorded (it was stopped, or could not reach PostgreSQL, for longer than they are kept): its cache loads probe data afresh';

/** Loads every server's probe batches into one cache. */
export class ProbeMirror {
  private loaded = 0;
  private trimmed = 0;
  private turn: Promise<unknown> = Promise.resolve();
  private readonly listeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Batches loaded since open (tests, logs). */
  batches = 0;
  /** Rows deleted by retention passes applied since open (tests, logs). */
  trimmedRows = 0;
  /** Times the cache started afresh since open, passes it missed having been pruned (tests, logs). */
  restarts = 0;
  /** Rows deleted to keep within the bound since open (tests, logs). */
  flooredRows = 0;
  /** What the cache holds, as the bytes of its batches' objects (a batch across the floor counts whole). */
  heldBytes = 0;
  /** Rows recorded before this time (µs since the epoch; 0: none) are not held, to keep within the bound. */
  floorUs = 0;
  /** The last sync's failure, if it failed (the next one tries again). */
  lastError: Error | undefined;
  /** What the cache holds changed since heldBytes was counted. */
  private recount = true;
  private floorNoted = 0;

  private constructor(
    private readonly store: DuckDBStore,
    private readonly pool: pg.Pool,
    private readonly objects: ObjectStore,
    private readonly boundBytes: number,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Opens over a cache that may hold batches from an earlier run: kept when its mark is one the
   * index still has, else the cache's probe and trace tables start afresh: rows there without
   * a mark were kept by a Periscope before probe data was shared, and are copied into the
   * shared store first (probe-migrate.ts); rows with a mark the index lacks are of another
   * database; a cache that missed retention passes pruned since (its trim mark below the last
   * pruned) starts afresh too. `boundBytes`: what it may hold (see the header).
   */
  static async open(
    store: DuckDBStore,
    pool: pg.Pool,
    objects: ObjectStore,
    log: (line: string) => void = () => undefined,
    boundBytes = Number.POSITIVE_INFINITY,
  ): Promise<ProbeMirror> {
    const m = new ProbeMirror(store, pool, objects, boundBytes, log);
    // Read before the index: a cache starting afresh loads batches rewritten by every pass up
    // to this one, and applies only those after it.
    const lastTrim = await lastProbeTrim(pool);
    const pruned = await prunedProbeTrims(pool);
    const last = await lastProbeBatch(pool);
    await store.writeRaw('opening the probe cache', async (conn) => {
      const meta = async (key: string) =>
        (
          await conn.runAndReadAll(`SELECT value FROM raw.meta WHERE key = ${literal(key)}`)
        ).getRowsJS()[0]?.[0];
      const mark = Number((await meta(MARK)) ?? -1);
      m.floorUs = Number((await meta(FLOOR_MARK)) ?? 0);
      if (mark >= 0 && mark <= last) {
        const trimmed = Number((await meta(TRIM_MARK)) ?? 0);
        if (trimmed >= pruned) {
          m.loaded = mark;
          m.trimmed = trimmed;
          return;
        }
        log(MISSED_PASSES);
        m.restarts++;
      }
      if (mark > last) {
        // Of another database: its floor too.
        await conn.run(`DELETE FROM raw.meta WHERE key = ${literal(FLOOR_MARK)}`);
        m.floorUs = 0;
      }
      if (mark < 0) {
        // Rows this server kept before probe data was shared: into the shared store first.
        const r = await copyProbeRows(objects, pool, `cache of ${hostname()}`, fromConnection(conn));
        if (r.copied)
          log(
            `probe data kept in the cache before it was shared, copied into the shared store: ${r.events} events, ${r.traces} request traces, ${r.rows} other rows`,
          );
      }
      await m.clear(conn, lastTrim);
    });
    return m;
  }

  /**
   * Empties the cache's probe and trace tables (in the caller's transaction): batches are then
   * loaded from the first, and retention passes applied after `lastTrim` (read before the index).
   * The floor stays.
   */
  private async clear(conn: DuckDBConnection, lastTrim: number): Promise<void> {
    for (const [table] of PROBE_OBJECT_TABLES) await conn.run(`DELETE FROM raw.${table}`);
    await conn.run('DELETE FROM raw.probe_processes');
    await conn.run(`INSERT OR REPLACE INTO raw.meta VALUES (${literal(MARK)}, '0')`);
    await conn.run(
      `INSERT OR REPLACE INTO raw.meta VALUES (${literal(TRIM_MARK)}, ${literal(String(lastTrim))})`,
    );
    this.loaded = 0;
    this.trimmed = lastTrim;
    this.recount = true;
  }

  /** The last batch this cache holds. */
  get loadedBatch(): number {
    return this.loaded;
  }

  /** Looks for new batches every `ms` (until close). */
  watch(ms = PROBE_WATCH_MS): void {
    this.timer = setInterval(() => {
      this.sync().catch(() => undefined); // kept in lastError; reads sync again and report it
    }, ms);
    this.timer.unref();
  }

  /** Calls `fn` after a sync that loaded new batches. */
  onNew(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Loads every batch indexed after the last one held, in order. One at a time. */
  sync(): Promise<number> {
    const run = this.turn.then(() => this.syncNow());
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async syncNow(): Promise<number> {
    if (this.closed) return this.loaded;
    let before = this.loaded;
    try {
      for (;;) {
        await this.loadNew();
        // After loading: rows loaded from objects a retention pass replaced meanwhile go too.
        const { trims, pruned } = await probeTrimsAfter(this.pool, this.trimmed);
        // A pass pruned after this cache's last can no longer be applied.
        if (this.closed || pruned <= this.trimmed) {
          await this.applyTrims(trims);
          break;
        }
        this.log(MISSED_PASSES);
        const lastTrim = await lastProbeTrim(this.pool); // before the index, as at open
        await this.store.writeRaw('loading probe data afresh', (conn) => this.clear(conn, lastTrim));
        this.restarts++;
        before = 0; // every batch is loaded again: listeners hear of it
      }
      await this.keepWithinBound();
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e as Error;
      throw e;
    } finally {
      if (this.loaded > before) for (const fn of this.listeners) fn();
    }
    return this.loaded;
  }

  /** Loads every batch indexed after the last one held (those wholly before the floor skipped). */
  private async loadNew(): Promise<void> {
    for (;;) {
      if (this.closed) break; // a stopping server's cache closes after this batch, not after every one
      const indexed = await probeBatchesAfter(this.pool, this.loaded);
      if (indexed.length === 0) break;
      const facts = await probeProcessesAfter(this.pool, this.loaded);
      const last = indexed.at(-1)!.batchNo;
      const floor = this.floorUs;
      const batches = indexed.filter((b) => b.endUs === null || b.endUs >= floor);
      const acrossFloor = batches.some((b) => b.startUs !== null && b.startUs < floor);
      // Only value types not seen before change a view (a probe table's typed column): other
      // batches leave Store.generation, so the PostgreSQL port's kept sessions stay open.
      const distinctTypes = async (conn: DuckDBConnection) =>
        Number(
          (
            await conn.runAndReadAll(
              'SELECT count(*) FROM (SELECT DISTINCT probe, expr, json_type FROM raw.probe_value_types)',
            )
          ).getRowsJS()[0]![0],
        );
      let newTypes = true;
      await this.store.writeRaw(
        'caching probe data',
        async (conn) => {
          const typesBefore = await distinctTypes(conn);
          await loadProbeObjects(this.objects, batches, conn, { after: this.loaded });
          if (acrossFloor) this.flooredRows += await deleteBefore(conn, floor);
          if (facts.length > 0) {
            await conn.run(
              `DELETE FROM raw.probe_processes WHERE process_id IN (${facts.map((p) => literal(p.processId)).join(', ')})`,
            );
            const w = new TableWriter('probe_processes', PROBE_PROCESSES);
            for (const p of facts) w.add(p.processId, p.hostname, p.pid, p.program, p.executable, p.agentId);
            await w.flush(conn, 'raw');
          }
          await conn.run(
            `INSERT OR REPLACE INTO raw.meta VALUES (${literal(MARK)}, ${literal(String(last))})`,
          );
          newTypes = (await distinctTypes(conn)) !== typesBefore;
        },
        () => newTypes,
      );
      this.loaded = last;
      this.batches += batches.length;
      this.recount = true;
    }
  }

  /** Deletes from the cache the rows the retention passes `trims` deleted from the shared store. */
  private async applyTrims(trims: readonly ProbeTrim[]): Promise<void> {
    if (trims.length === 0) return;
    await this.store.writeRaw(
      'applying retention to probe data',
      async (conn) => {
        await conn.run(
          'CREATE OR REPLACE TEMP TABLE probe_programs AS SELECT process_id, program FROM raw.probe_processes',
        );
        for (const t of trims)
          this.trimmedRows += await deleteExpiredProbeRows(conn, t.rules, t.now, 'probe_programs');
        await conn.run('DROP TABLE probe_programs');
        await conn.run(
          `INSERT OR REPLACE INTO raw.meta VALUES (${literal(TRIM_MARK)}, ${literal(String(trims.at(-1)!.trimNo))})`,
        );
      },
      () => false,
    );
    this.trimmed = trims.at(-1)!.trimNo;
    this.recount = true;
  }

  /**
   * Counts what the cache holds (after it changed) and, past the bound, moves the floor up so
   * that it holds at most REFILL_SHARE of it: the rows recorded before the floor are deleted
   * from the cache (not from the shared store).
   */
  private async keepWithinBound(): Promise<void> {
    if (!this.recount || this.closed) return;
    this.recount = false;
    this.heldBytes = await probeBytesUpTo(this.pool, this.loaded, this.floorUs);
    if (this.heldBytes <= this.boundBytes) return;
    const floor = await probeFloorFor(this.pool, this.loaded, this.floorUs, this.boundBytes * REFILL_SHARE);
    if (floor === undefined) return;
    await this.store.writeRaw(
      'keeping probe data within the cache bound',
      async (conn) => {
        this.flooredRows += await deleteBefore(conn, floor);
        await conn.run(
          `INSERT OR REPLACE INTO raw.meta VALUES (${literal(FLOOR_MARK)}, ${literal(String(floor))})`,
        );
      },
      () => false,
    );
    this.floorUs = floor;
    this.heldBytes = await probeBytesUpTo(this.pool, this.loaded, floor);
    if (Date.now() - this.floorNoted >= FLOOR_NOTE_MS) {
      this.floorNoted = Date.now();
      this.log(
        `probe data: this server's cache keeps ${mib(this.heldBytes)} MiB of probe data, at most ${mib(this.boundBytes)} MiB (three quarters of --cache-mb): rows recorded before ${new Date(floor / 1000).toISOString()} were deleted from it (not from the shared store) and queries on this server no longer see them; raise --cache-mb, or set --retain to delete old probe data everywhere (noted at most once an hour)`,
      );
    }
  }

  /** Stops watching; a sync under way finishes. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}

/** Deletes the probe and trace rows recorded before `floorUs` (a whole ms) from the cache; returns how many. */
function deleteBefore(conn: DuckDBConnection, floorUs: number): Promise<number> {
  // Every program by one rule: nothing before the floor (the programs' table is not read).
  return deleteExpiredProbeRows(
    conn,
    [{ program: '*', maxAgeSeconds: 0 }],
    new Date(floorUs / 1000),
    'raw.probe_processes',
  );
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
