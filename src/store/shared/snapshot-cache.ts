/**
 * A server's local DuckDB cache of the scaled-out store: an embedded DuckDBStore (same raw
 * tables, same views) holding the snapshots recent queries needed. Before a session it reads
 * the index from PostgreSQL, drops what was deleted elsewhere (or trimmed by retention: its
 * bytes in the index changed), fetches what the scope needs
 * (the latest snapshot, one, or all) and is not here yet, mirrors the spec history and the
 * import records, and evicts the least recently used snapshots that no open session uses while
 * they and the probe data the cache holds (probe-mirror.ts) exceed the bound.
 */
import type pg from 'pg';
import { TableWriter } from '../bulk-append.js';
import type { DuckDBStore } from '../duckdb-store.js';
import { INVESTIGATION_FIRINGS, INVESTIGATION_REPORTS, INVESTIGATIONS } from '../investigation-schema.js';
import type { ObjectStore } from '../object-store.js';
import { literal } from '../sql-text.js';
import type { QueryScope } from '../store.js';
import {
  type IndexedSnapshot,
  importRecords,
  readIndex,
  snapshotObjects,
  specVersionsAfter,
} from './pg-index.js';
import { pgInvestigationRows } from './pg-investigations.js';
import { loadIndexedSnapshot, loadSpecVersions, MissingObjectError } from './snapshot-objects.js';

/** Snapshots held for a session: released when it closes, so no eviction pulls them away meanwhile. */
export interface CacheLease {
  /** The snapshots the scope shows, oldest first. */
  readonly ids: readonly number[];
  release(): void;
}

/** What the cache did, for tests and logs. */
export interface CacheCounters {
  fetched: number;
  evicted: number;
  dropped: number;
}

/** The cache of one server. */
export class SnapshotCache {
  /**
   * Cached snapshots: bytes of their objects, how many processes the index held when they were
   * fetched (retention can trim a part's processes and leave its objects), and when a session
   * last used them.
   */
  private readonly held = new Map<number, { bytes: number; processes: number; used: number }>();
  private readonly pins = new Map<number, number>();
  private specMirrored = 0;
  /** The last report row (PostgreSQL's seq) copied; -1 before the first copy, which starts the tables afresh. */
  private reportsMirrored = -1;
  /** The investigations and firings last copied, as JSON. */
  private investigationsPrint = '';
  /** The import records last copied, as JSON ('': copy them again). */
  private importsPrint = '';
  private turn: Promise<unknown> = Promise.resolve();
  private clock = 0;
  readonly counters: CacheCounters = { fetched: 0, evicted: 0, dropped: 0 };

  private constructor(
    readonly store: DuckDBStore,
    private readonly pool: pg.Pool,
    private readonly objects: ObjectStore,
    private readonly boundBytes: number,
    private readonly probeBytes: () => number,
  ) {}

  /**
   * Opens over a cache store that may hold snapshots from an earlier run (they are kept if still
   * indexed). `probeBytes`: what the cache's probe data counts against the bound.
   */
  static async open(
    store: DuckDBStore,
    pool: pg.Pool,
    objects: ObjectStore,
    boundBytes: number,
    probeBytes: () => number = () => 0,
  ): Promise<SnapshotCache> {
    const c = new SnapshotCache(store, pool, objects, boundBytes, probeBytes);
    const indexed = new Map((await readIndex(pool)).map((s) => [s.snapshotId, s]));
    for (const s of await store.listSnapshots())
      c.held.set(s.snapshotId, {
        bytes: indexed.get(s.snapshotId)?.bytes ?? 0,
        // Compared with what the cache itself holds: a snapshot trimmed while this server was
        // down is dropped and fetched again.
        processes: s.processes,
        used: 0,
      });
    const log = await store.specLog();
    c.specMirrored = log.at(-1)?.version ?? 0;
    return c;
  }

  /** The snapshot ids held now, ascending. */
  cachedIds(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Brings what `scope` needs into the cache and holds it until release(). One at a time. */
  prepare(scope: QueryScope): Promise<CacheLease> {
    // An object deleted (by retention or a deletion on any server) between reading the index
    // and fetching it: read the index again, which no longer lists it.
    const run = this.turn.then(() =>
      this.prepareNow(scope).catch((e: unknown) => {
        if (e instanceof MissingObjectError) return this.prepareNow(scope);
        throw e;
      }),
    );
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async prepareNow(scope: QueryScope): Promise<CacheLease> {
    const index = await readIndex(this.pool);
    const byId = new Map(index.map((s) => [s.snapshotId, s]));
    // Deleted, or trimmed by retention (its bytes or its processes changed): dropped, and
    // fetched again if wanted.
    const gone = [...this.held.entries()]
      .filter(([id, h]) => {
        const now = byId.get(id);
        return (now?.bytes !== h.bytes || now.processes !== h.processes) && !this.pins.has(id);
      })
      .map(([id]) => id);
    if (gone.length > 0) {
      await this.deleteSnapshots(gone);
      this.counters.dropped += gone.length;
    }
    const wanted =
      'all' in scope
        ? index
        : 'latest' in scope
          ? index.slice(-1)
          : index.filter((s) => s.snapshotId === scope.snapshot);
    for (const s of wanted) if (!this.held.has(s.snapshotId)) await this.fetch(s);
    await this.mirrorSpec();
    await this.mirrorInvestigations();
    const ids = wanted.map((s) => s.snapshotId);
    for (const id of ids) {
      this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
      this.held.get(id)!.used = ++this.clock;
    }
    await this.evict();
    await this.mirrorImports();
    let released = false;
    return {
      ids,
      release: () => {
        if (released) return;
        released = true;
        for (const id of ids) {
          const n = (this.pins.get(id) ?? 1) - 1;
          if (n === 0) this.pins.delete(id);
          else this.pins.set(id, n);
        }
      },
    };
  }

  private async fetch(s: IndexedSnapshot): Promise<void> {
    const indexed = await snapshotObjects(this.pool, s.snapshotId);
    await this.store.writeRaw('caching a snapshot', (conn) =>
      loadIndexedSnapshot(this.objects, s, indexed, conn),
    );
    this.held.set(s.snapshotId, { bytes: s.bytes, processes: s.processes, used: ++this.clock });
    this.counters.fetched++;
  }

  /** Copies spec versions the cache does not have yet (versions are only ever appended). */
  private async mirrorSpec(): Promise<void> {
    const fresh = await specVersionsAfter(this.pool, this.specMirrored);
    if (fresh.length === 0) return;
    await this.store.writeRaw('mirroring the spec', (conn) => loadSpecVersions(conn, fresh));
    this.specMirrored = fresh.at(-1)!.version;
  }

  /**
   * Copies the investigation tables, so that SQL over `investigations`, `investigation_firings`
   * and `investigation_reports` sees every server's: the first two whole (small, and updated in
   * place), report rows only those added since the last copy.
   */
  private async mirrorInvestigations(): Promise<void> {
    const fresh = await pgInvestigationRows(this.pool, Math.max(this.reportsMirrored, 0));
    const first = this.reportsMirrored < 0;
    // Unchanged: no write, so the cache's generation (and sessions kept open) stay.
    const print = JSON.stringify([fresh.investigations, fresh.firings]);
    if (!first && fresh.reports.length === 0 && print === this.investigationsPrint) return;
    this.investigationsPrint = print;
    await this.store.writeRaw('mirroring investigations', async (conn) => {
      await conn.run('DELETE FROM raw.investigations');
      await conn.run('DELETE FROM raw.investigation_firings');
      if (first) await conn.run('DELETE FROM raw.investigation_reports');
      const time = (v: unknown): Date | null => (v === null ? null : new Date(v as Date));
      const inv = new TableWriter('investigations', INVESTIGATIONS);
      for (const r of fresh.investigations)
        inv.add(Number(r[0]), ...(r.slice(1, 6) as string[]), time(r[6]), time(r[7]), r[8] as string | null);
      await inv.flush(conn, 'raw');
      const fir = new TableWriter('investigation_firings', INVESTIGATION_FIRINGS);
      for (const r of fresh.firings)
        fir.add(
          Number(r[0]),
          Number(r[1]),
          r[2] as string,
          time(r[3]),
          r[4] as string,
          r[5] as string,
          r[6] as string | null,
          r[7] === null ? null : Number(r[7]),
          r[8] as string | null,
          r[9] === null ? null : Number(r[9]),
          r[10] as boolean,
          Number(r[11]),
          r[12] as string | null,
          r[13] as string | null,
        );
      await fir.flush(conn, 'raw');
      const rep = new TableWriter('investigation_reports', INVESTIGATION_REPORTS);
      for (const r of fresh.reports)
        rep.add(
          Number(r[0]),
          Number(r[1]),
          r[2] === null ? null : Number(r[2]),
          r[3] as string | null,
          r[4] as string,
          Number(r[5]),
          r[6] as string | null,
          r[7] as string | null,
        );
      await rep.flush(conn, 'raw');
    });
    this.reportsMirrored = fresh.lastSeq;
  }

  /**
   * Copies the import records (`raw.imports`: where imported snapshots came from) of every
   * snapshot, cached or not, as the embedded store lists them all; small, so whole.
   */
  private async mirrorImports(): Promise<void> {
    const rows = await importRecords(this.pool);
    const print = JSON.stringify(rows);
    if (print === this.importsPrint) return;
    await this.store.writeRaw('mirroring import records', async (conn) => {
      await conn.run('DELETE FROM raw.imports');
      // As text: the time to the microsecond (a TableWriter takes a Date).
      if (rows.length > 0)
        await conn.run(
          `INSERT INTO raw.imports VALUES ${rows.map((r) => `(${r.snapshotId}, ${r.originalSnapshotId}, ${literal(r.path)}, ${literal(r.format)}, ${literal(r.importedAt)}::TIMESTAMPTZ)`).join(', ')}`,
        );
    });
    this.importsPrint = print;
  }

  /** Deletes cached snapshots (the store deletes their import records: copied again at the next prepare). */
  private async deleteSnapshots(ids: readonly number[]): Promise<void> {
    await this.store.deleteSnapshots(ids);
    for (const id of ids) this.held.delete(id);
    this.importsPrint = '';
  }

  /** Evicts least recently used, unpinned snapshots while the cache holds more than its bound. */
  private async evict(): Promise<void> {
    let total = this.probeBytes();
    for (const h of this.held.values()) total += h.bytes;
    if (total <= this.boundBytes) return;
    const victims: number[] = [];
    const order = [...this.held.entries()]
      .filter(([id]) => !this.pins.has(id))
      .sort((a, b) => a[1].used - b[1].used);
    for (const [id, h] of order) {
      if (total <= this.boundBytes) break;
      victims.push(id);
      total -= h.bytes;
    }
    if (victims.length === 0) return;
    await this.deleteSnapshots(victims);
    this.counters.evicted += victims.length;
  }

  /** Forgets snapshots deleted from the index by this server (after the prepare under way). */
  forget(ids: readonly number[]): Promise<void> {
    const run = this.turn.then(() => this.forgetNow(ids));
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async forgetNow(ids: readonly number[]): Promise<void> {
    const here = ids.filter((id) => this.held.has(id) && !this.pins.has(id));
    if (here.length === 0) return;
    await this.deleteSnapshots(here);
  }
}
