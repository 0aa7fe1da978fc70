/**
 * The probe and trace data of every server in one server's cache: the batches indexed in
 * PostgreSQL (pg-probes.ts) loaded into the cache's raw probe and trace tables in batch order
 * (so the events held are always a prefix of the fleet's seq order), with the processes'
 * facts, and the last batch loaded kept in the cache's `raw.meta` in the same transaction; a
 * rewritten batch (probe-compaction.ts) only for its rows of batches above that mark. Then the
 * retention passes recorded since the last applied (`probe_trims`) delete the same rows here.
 * Looked for before every read and every PROBE_WATCH_MS; listeners hear of new batches (the
 * long-poll of `GET /v1/events`).
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
import { lastProbeTrim, probeTrimsAfter } from './pg-probe-rewrites.js';
import { lastProbeBatch, probeBatchesAfter, probeProcessesAfter } from './pg-probes.js';
import { copyProbeRows, fromConnection } from './probe-migrate.js';
import { loadProbeObjects, PROBE_OBJECT_TABLES } from './probe-objects.js';

/** How often a server looks for batches the others indexed, ms. */
export const PROBE_WATCH_MS = 500;

/** The `raw.meta` key of the last batch loaded. */
const MARK = 'probe_batch';
/** The `raw.meta` key of the last retention pass applied (`probe_trims`). */
const TRIM_MARK = 'probe_trim';

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
  /** The last sync's failure, if it failed (the next one tries again). */
  lastError: Error | undefined;

  private constructor(
    private readonly store: DuckDBStore,
    private readonly pool: pg.Pool,
    private readonly objects: ObjectStore,
  ) {}

  /**
   * Opens over a cache that may hold batches from an earlier run: kept when its mark is one the
   * index still has, else the cache's probe and trace tables start afresh: rows there without
   * a mark were kept by a Periscope before probe data was shared, and are copied into the
   * shared store first (probe-migrate.ts); rows with a mark the index lacks are of another
   * database.
   */
  static async open(
    store: DuckDBStore,
    pool: pg.Pool,
    objects: ObjectStore,
    log: (line: string) => void = () => undefined,
  ): Promise<ProbeMirror> {
    const m = new ProbeMirror(store, pool, objects);
    // Read before the index: a cache starting afresh loads batches rewritten by every pass up
    // to this one, and applies only those after it.
    const lastTrim = await lastProbeTrim(pool);
    const last = await lastProbeBatch(pool);
    await store.writeRaw('opening the probe cache', async (conn) => {
      const r = await conn.runAndReadAll(`SELECT value FROM raw.meta WHERE key = ${literal(MARK)}`);
      const mark = Number(r.getRowsJS()[0]?.[0] ?? -1);
      if (mark >= 0 && mark <= last) {
        m.loaded = mark;
        const t = await conn.runAndReadAll(`SELECT value FROM raw.meta WHERE key = ${literal(TRIM_MARK)}`);
        m.trimmed = Number(t.getRowsJS()[0]?.[0] ?? 0);
        return;
      }
      if (mark < 0) {
        // Rows this server kept before probe data was shared: into the shared store first.
        const r = await copyProbeRows(objects, pool, `cache of ${hostname()}`, fromConnection(conn));
        if (r.copied)
          log(
            `probe data kept in the cache before it was shared, copied into the shared store: ${r.events} events, ${r.traces} request traces, ${r.rows} other rows`,
          );
      }
      for (const [table] of PROBE_OBJECT_TABLES) await conn.run(`DELETE FROM raw.${table}`);
      await conn.run('DELETE FROM raw.probe_processes');
      await conn.run(`INSERT OR REPLACE INTO raw.meta VALUES (${literal(MARK)}, '0')`);
      await conn.run(
        `INSERT OR REPLACE INTO raw.meta VALUES (${literal(TRIM_MARK)}, ${literal(String(lastTrim))})`,
      );
      m.trimmed = lastTrim;
    });
    return m;
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
    const before = this.loaded;
    try {
      for (;;) {
        if (this.closed) break; // a stopping server's cache closes after this batch, not after every one
        const batches = await probeBatchesAfter(this.pool, this.loaded);
        if (batches.length === 0) break;
        const facts = await probeProcessesAfter(this.pool, this.loaded);
        const last = batches.at(-1)!.batchNo;
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
            if (facts.length > 0) {
              await conn.run(
                `DELETE FROM raw.probe_processes WHERE process_id IN (${facts.map((p) => literal(p.processId)).join(', ')})`,
              );
              const w = new TableWriter('probe_processes', PROBE_PROCESSES);
              for (const p of facts)
                w.add(p.processId, p.hostname, p.pid, p.program, p.executable, p.agentId);
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
      }
      // After loading: rows loaded from objects a retention pass replaced meanwhile go too.
      const trims = await probeTrimsAfter(this.pool, this.trimmed);
      if (trims.length > 0) {
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
      }
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e as Error;
      throw e;
    } finally {
      if (this.loaded > before) for (const fn of this.listeners) fn();
    }
    return this.loaded;
  }

  /** Stops watching; a sync under way finishes. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
