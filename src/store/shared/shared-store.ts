/**
 * The scaled-out store (`periscope server --store postgres://… --objects URL`): several servers
 * share PostgreSQL (spec history, snapshot index, fleet-snapshot metadata, investigations) and
 * an object store (each process snapshot as Parquet objects); each answers queries from its own
 * DuckDB cache (snapshot-cache.ts), so user SQL, derived tables and dashboards see the same
 * views as over the embedded store. The entry module of the room `store/shared/`.
 *
 * Probe events and request traces are shared too: each server buffers its agents' batches and
 * flushes them as objects indexed in PostgreSQL (probe-flusher.ts); every cache loads every
 * server's batches in seq order (probe-mirror.ts). Retention by program rule applies to the
 * shared snapshots (pg-retention.ts) and to probe data (probe-retention.ts).
 */
import type pg from 'pg';
import { PeriscopeError } from '../../common/errors.js';
import { waitAtMost } from '../../common/wait-at-most.js';
import { DuckDBStore } from '../duckdb-store.js';
import type { ObjectStore } from '../object-store.js';
import { openObjectStore } from '../open-objects.js';
import type { ProcessFilter } from '../process-filter.js';
import type { RetentionResult, RetentionRule } from '../retention.js';
import type {
  ExportFormat,
  FiringInput,
  FiringPatch,
  FiringRecord,
  ImportResult,
  InvestigationRecord,
  ProbeBatchInput,
  ProbeEventQuery,
  QueryResult,
  QueryScope,
  QuerySession,
  ReportRowInput,
  SetSpecOptions,
  SetSpecResult,
  SnapshotInfo,
  SnapshotInput,
  SpecSqlProblem,
  SpecVersion,
  Store,
  StoredBinary,
  StoredProbeEvent,
  StoredProcessInput,
} from '../store.js';
import type { TokenBook } from '../token-book.js';
import type { StoredTrace, TraceBatchInput, TraceQuery } from '../trace-store.js';
import { collectOrphanObjects, ensureOrphanSchema, type OrphanPass } from './orphan-objects.js';
import { PgFleet } from './pg-fleet.js';
import {
  addSpecVersion,
  fleetMeta,
  type ImportRecord,
  indexedBinaries,
  indexSnapshot,
  nextSnapshotId,
  putFleetMeta,
  readIndex,
  readSpecVersions,
  specVersionOfText,
  unindexSnapshots,
} from './pg-index.js';
import { PgInvestigationFleet } from './pg-investigation-fleet.js';
import {
  pgAddFiring,
  pgAddInvestigation,
  pgAddReportRows,
  pgCloseInvestigation,
  pgFirings,
  pgInvestigations,
  pgPatchFiring,
} from './pg-investigations.js';
import { PROBE_TRIM_KEEP_MS, pruneProbeTrims } from './pg-probe-rewrites.js';
import { ensureProbeIndex } from './pg-probes.js';
import { expiredProcesses, tryRetentionLock, unindexProcesses } from './pg-retention.js';
import { connectPg, describePg } from './pg-schema.js';
import { PgTokens } from './pg-tokens.js';
import {
  compactProbeBatches,
  type ProbeCompactionOptions,
  type ProbeCompactionPass,
} from './probe-compaction.js';
import { type FlusherOptions, ProbeFlusher } from './probe-flusher.js';
import { ProbeMirror } from './probe-mirror.js';
import { expireProbeData } from './probe-retention.js';
import { type CacheLease, SnapshotCache } from './snapshot-cache.js';

export type { OrphanPass } from './orphan-objects.js';
export type {
  FleetPartRow,
  FleetProbeStatusRow,
  FleetRequestRow,
  FleetServerRow,
  PgFleet,
} from './pg-fleet.js';
export type { FleetAnswerRow, FleetAskRow, PgFleetAsks } from './pg-fleet-asks.js';
export type {
  FiringState,
  PgInvestigationFleet,
  Reservation,
  TickClaim,
} from './pg-investigation-fleet.js';
export type { ProbeCompactionOptions, ProbeCompactionPass } from './probe-compaction.js';
export type { WrittenSnapshot } from './snapshot-objects.js';

import { exportFromObjects, exportFromSharedStore, importToObjects } from './shared-export-import.js';
import {
  objectRowCounts,
  putSnapshotObjects,
  snapshotPrefix,
  type WrittenSnapshot,
} from './snapshot-objects.js';

/** How often the writes of other servers are looked for, ms. */
const WATCH_MS = 1000;

/**
 * The share of the cache's bound probe data may take: snapshots left out are fetched again when
 * a query needs them, probe rows deleted from the cache are not (so they get the larger share).
 */
const PROBE_CACHE_SHARE = 0.75;

/** How to open the scaled-out store. */
export interface SharedStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly store: string;
  /** `file:///dir` (or `s3://bucket/prefix` once wired in). */
  readonly objects: string | ObjectStore;
  /** This server's cache directory (a DuckDB file in it). */
  readonly cacheDir: string;
  /**
   * The bound of the cache (default 2 GiB): the bytes of the objects of the snapshots and the
   * probe batches it holds; probe data keeps at most PROBE_CACHE_SHARE of it (probe-mirror.ts).
   */
  readonly cacheBytes?: number;
  /** How long a retention pass over probe data stays recorded for other servers' caches (default 7 days). */
  readonly probeTrimKeepMs?: number;
  /** Where notes for the server's log go (probe data copied at start). */
  readonly log?: (line: string) => void;
  /** How probe batches are flushed (tests shorten the intervals). */
  readonly probeFlush?: FlusherOptions;
  /**
   * Compaction of probe batches (probe-compaction.ts): tried every `intervalMs` (default 60 s;
   * 0: never on a timer, only `compactProbes`).
   */
  readonly probeCompaction?: ProbeCompactionOptions & { readonly intervalMs?: number };
}

/** A session over the cache that lets its snapshots be evicted again when it closes. */
function leased(session: QuerySession, lease: CacheLease): QuerySession {
  return {
    get snapshotIds() {
      return session.snapshotIds;
    },
    get warnings() {
      return session.warnings;
    },
    query: (sql) => session.query(sql),
    queryText: (sql, params) => session.queryText(sql, params),
    streamText: (sql, params, cellSql) => session.streamText(sql, params, cellSql),
    describe: (sql) => session.describe(sql),
    setTimeZone: (iana) => session.setTimeZone(iana),
    pin: () => session.pin(),
    unpin: () => session.unpin(),
    interrupt: () => session.interrupt(),
    close: () => {
      session.close();
      lease.release();
    },
  };
}

/** Checks that the object store answers and takes writes: a probe object put, read and deleted. */
async function checkObjects(objects: ObjectStore): Promise<void> {
  const key = `periscope-check/${process.pid}-${Date.now()}`;
  try {
    await objects.put(key, new TextEncoder().encode('ok'));
    const back = await objects.get(key);
    if (!back) throw new Error('an object just written could not be read back');
    await objects.delete([key]);
  } catch (e) {
    throw new PeriscopeError(
      'permission',
      `cannot write to the object store ${objects.describe()}: ${(e as Error).message}; check --objects, that it exists and that this server may write there`,
    );
  }
}

/** The Store of servers that share PostgreSQL and an object store. */
export class SharedStore implements Store {
  private constructor(
    readonly location: string,
    private readonly pool: pg.Pool,
    private readonly objects: ObjectStore,
    private readonly cache: SnapshotCache,
    /** The fleet across servers: registry and fleet snapshot requests (pg-fleet.ts). */
    readonly fleet: PgFleet,
    /** Every server's probe and trace batches in this server's cache. */
    private readonly mirror: ProbeMirror,
    /** This server's agents' probe and trace batches, on their way to the shared store. */
    private readonly flusher: ProbeFlusher,
    /** Investigations across servers: firings reserved, ticks claimed, changes announced (pg-investigation-fleet.ts). */
    readonly investigationFleet: PgInvestigationFleet,
    private readonly compaction: ProbeCompactionOptions & { readonly intervalMs?: number } = {},
    log: (line: string) => void = () => undefined,
    private readonly trimKeepMs = PROBE_TRIM_KEEP_MS,
  ) {
    this.watch = setInterval(() => void this.poll(), WATCH_MS);
    this.watch.unref();
    const every = compaction.intervalMs ?? 60_000;
    if (every > 0) {
      this.compactTimer = setInterval(() => {
        this.compactProbes().catch((e: unknown) => {
          // A pass cut short by close: its merged batch was never indexed (the orphan collection takes it).
          if (!this.closed)
            log(`probe data: compaction failed (tried again in ${every / 1000} s): ${(e as Error).message}`);
        });
      }, every);
      this.compactTimer.unref();
    }
  }

  private readonly compactTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private compacting: Promise<ProbeCompactionPass> | undefined;

  /**
   * One compaction pass of probe batches (one server at a time fleet-wide; one here at a time):
   * see probe-compaction.ts. The timer runs it every `probeCompaction.intervalMs`.
   */
  compactProbes(): Promise<ProbeCompactionPass> {
    this.compacting ??= compactProbeBatches(
      this.pool,
      this.objects,
      this.flusher.writer,
      this.compaction,
    ).finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  /** Bumped when PostgreSQL shows a write by any server (polled every WATCH_MS). */
  private seenWrites = 0;
  private lastMark = '';
  private readonly watch: NodeJS.Timeout;

  private async poll(): Promise<void> {
    try {
      const q = await this.pool.query(
        'SELECT (SELECT coalesce(max(snapshot_id), 0) FROM periscope.snapshots) AS s, (SELECT count(*) FROM periscope.snapshots) AS n, ' +
          '(SELECT coalesce(sum(bytes), 0) FROM periscope.snapshots) AS b, (SELECT coalesce(sum(process_count), 0) FROM periscope.snapshots) AS p, ' +
          '(SELECT coalesce(max(version), 0) FROM periscope.spec_versions) AS v, (SELECT count(*) FROM periscope.investigation_firings) AS f',
      );
      const mark = JSON.stringify(q.rows[0]);
      if (this.lastMark !== '' && mark !== this.lastMark) this.seenWrites++;
      this.lastMark = mark;
    } catch {
      // PostgreSQL briefly away: the next poll tries again; requests report their own errors.
    }
  }

  /**
   * Moves with every write this server's cache sees and with what the others write (seen in
   * PostgreSQL within WATCH_MS): a session kept open (the PostgreSQL port's) is then rebuilt.
   */
  get generation(): number {
    return this.cache.store.generation + this.seenWrites;
  }

  /** Connects to PostgreSQL (creating the schema), checks the object store, opens the cache. */
  static async open(opts: SharedStoreOptions): Promise<SharedStore> {
    const objects = typeof opts.objects === 'string' ? openObjectStore(opts.objects) : opts.objects;
    await checkObjects(objects);
    const pool = await connectPg(opts.store);
    let local: DuckDBStore | undefined;
    try {
      local = await DuckDBStore.open(opts.cacheDir, { noExternalAccess: true, waitMs: 2000 });
      const bound = opts.cacheBytes ?? 2 ** 31; // not 2 << 30: that is -2^31 in 32-bit arithmetic
      await ensureProbeIndex(pool);
      const mirror = await ProbeMirror.open(local, pool, objects, opts.log, bound * PROBE_CACHE_SHARE);
      const cache = await SnapshotCache.open(local, pool, objects, bound, () => mirror.heldBytes);
      const flusher = new ProbeFlusher(pool, objects, () => mirror.sync(), opts.probeFlush);
      const store = new SharedStore(
        `${describePg(opts.store)} + ${objects.describe()}`,
        pool,
        objects,
        cache,
        new PgFleet(pool, objects, opts.store),
        mirror,
        flusher,
        new PgInvestigationFleet(pool, opts.store),
        opts.probeCompaction,
        opts.log,
        opts.probeTrimKeepMs,
      );
      await store.fleet.ensureSchema();
      await store.investigationFleet.ensureSchema();
      await ensureOrphanSchema(pool);
      await store.poll(); // the first mark: what later polls compare with
      // Loading every server's probe data can take a while on a new server: not before it serves.
      mirror.sync().catch(() => undefined); // kept in lastError; reads sync again and report it
      mirror.watch();
      return store;
    } catch (e) {
      await local?.close();
      await pool.end().catch(() => undefined);
      throw e;
    }
  }

  /** The cache's snapshot ids and counters (tests, logs). */
  cacheState(): { ids: number[]; fetched: number; evicted: number; dropped: number } {
    return { ids: this.cache.cachedIds(), ...this.cache.counters };
  }

  /**
   * Stores a snapshot: its id from PostgreSQL's sequence, its objects put, then its index row
   * inserted; a failure before the index row leaves nothing visible (and its objects deleted).
   */
  async addSnapshot(input: SnapshotInput): Promise<number> {
    const version = input.specText === '' ? null : await specVersionOfText(this.pool, input.specText);
    const { id } = await this.storeNew(async (id) => ({
      written: await putSnapshotObjects(this.objects, id, input, version),
      specVersion: version,
    }));
    return id;
  }

  /** A new snapshot id, its objects put by `write`, then its index row; on failure its objects go. */
  private async storeNew<
    T extends { written: WrittenSnapshot; specVersion: number | null; imported?: ImportRecord | undefined },
  >(write: (id: number) => Promise<T>): Promise<T & { id: number }> {
    const id = await nextSnapshotId(this.pool);
    try {
      const w = await write(id);
      await indexSnapshot(this.pool, id, w.specVersion, w.written, w.imported);
      return { ...w, id };
    } catch (e) {
      await this.deleteObjectsOf([id]).catch(() => undefined);
      throw e;
    }
  }

  private async deleteObjectsOf(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const keys = (await this.objects.list(snapshotPrefix(id))).map((o) => o.key);
      if (keys.length > 0) await this.objects.delete(keys);
    }
  }

  /** Every snapshot, oldest first: from the index (with `only`, through the cache's views). */
  async listSnapshots(only?: ProcessFilter): Promise<SnapshotInfo[]> {
    if (!only)
      return (await readIndex(this.pool)).map((s) => ({
        snapshotId: s.snapshotId,
        createdAt: s.createdAt,
        labels: s.labels,
        specVersion: s.specVersion,
        processes: s.processes,
        goroutines: s.goroutines,
      }));
    const lease = await this.cache.prepare({ all: true });
    try {
      return await this.cache.store.listSnapshots(only);
    } finally {
      lease.release();
    }
  }

  /** Opens a session over the cache once it holds what the scope needs. */
  async session(scope: QueryScope, only?: ProcessFilter): Promise<QuerySession> {
    await this.mirror.sync();
    const lease = await this.cache.prepare(scope);
    try {
      return leased(await this.cache.store.session(scope, only), lease);
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  /** Runs one read-only SQL statement over the scope. */
  async query(sql: string, scope: QueryScope, only?: ProcessFilter): Promise<QueryResult> {
    const s = await this.session(scope, only);
    try {
      return await s.query(sql);
    } finally {
      s.close();
    }
  }

  /** What a goroutine links to and is linked from. */
  async links(
    snapshotId: number,
    processId: string,
    goroutineId: number,
    only?: ProcessFilter,
  ): Promise<QueryResult> {
    const lease = await this.cache.prepare({ snapshot: snapshotId });
    try {
      return await this.cache.store.links(snapshotId, processId, goroutineId, only);
    } finally {
      lease.release();
    }
  }

  /** The current spec version (PostgreSQL). */
  async currentSpec(): Promise<SpecVersion | undefined> {
    return (await readSpecVersions(this.pool, 'current'))[0];
  }

  /** One spec version. */
  async specVersion(version: number): Promise<SpecVersion | undefined> {
    return (await readSpecVersions(this.pool, version))[0];
  }

  /** Every spec version, oldest first. */
  async specLog(): Promise<SpecVersion[]> {
    return readSpecVersions(this.pool);
  }

  /**
   * Checks a spec's derived tables and links over the snapshots this server's cache holds
   * (the latest one brought in first), not over every stored snapshot as the embedded store does.
   */
  async checkSpec(yaml: string, source: string): Promise<SpecSqlProblem[]> {
    const lease = await this.cache.prepare({ latest: true });
    try {
      return await this.cache.store.checkSpec(yaml, source);
    } finally {
      lease.release();
    }
  }

  /** Checks and appends a spec version in PostgreSQL (refused when its SQL does not build, unless forced). */
  async setSpec(
    yaml: string,
    author: string,
    source: string,
    opts: SetSpecOptions = {},
  ): Promise<SetSpecResult> {
    const { issueText, SpecError } = await import('../../spec/spec-parse.js');
    const problems = await this.checkSpec(yaml, source);
    const current = await this.currentSpec();
    if (problems.length > 0 && opts.force !== true && current?.yaml !== yaml)
      throw new SpecError(
        source,
        problems,
        `${source} was not stored: ${problems.length === 1 ? 'a derived table or link does' : `${problems.length} derived tables or links do`} not build over the stored tables (fix the spec, or store it anyway with --force):`,
      );
    const { version, changed } = await addSpecVersion(this.pool, yaml, author);
    return { version, changed, warnings: problems.map((p) => issueText(source, p)) };
  }

  /** The distinct binaries of indexed snapshots. */
  async storedBinaries(): Promise<StoredBinary[]> {
    return indexedBinaries(this.pool);
  }

  /** Writes one snapshot, read from its objects, as the embedded store exports one. */
  async exportSnapshot(snapshotId: number, format: ExportFormat, out: string): Promise<void> {
    await this.exportWithNotes(snapshotId, format, out);
  }

  /**
   * `periscope export` as a reader, without opening a store: PostgreSQL and the objects are only
   * read (a SELECT-only role is enough), no cache is made (shared-export-import.ts).
   */
  static exportReadOnly(
    storeUrl: string,
    objectsUrl: string,
    snapshotId: number,
    format: ExportFormat,
    out: string,
  ): Promise<string[]> {
    return exportFromSharedStore(storeUrl, objectsUrl, snapshotId, format, out);
  }

  /** exportSnapshot, returning the spec tables that could not be exported and why. */
  async exportWithNotes(snapshotId: number, format: ExportFormat, out: string): Promise<string[]> {
    return exportFromObjects(this.pool, this.objects, this.location, snapshotId, format, out);
  }

  /**
   * Stores an export as a new snapshot (an id from the sequence; objects put, then indexed with
   * where it came from: `periscope.imports`, which every cache shows as `raw.imports`).
   */
  async importSnapshot(path: string): Promise<ImportResult> {
    const { result } = await this.storeNew((id) => importToObjects(this.pool, this.objects, path, id));
    return result;
  }

  /**
   * Buffers a probe batch for the next flush (about every second); resolves with its last
   * event seq once it is in the shared store and this server's cache.
   */
  async addProbeBatch(batch: ProbeBatchInput): Promise<number> {
    return this.flusher.addProbe(batch);
  }

  /** Probe events after a cursor, of every server (the batches indexed so far). */
  async probeEvents(q: ProbeEventQuery): Promise<StoredProbeEvent[]> {
    await this.mirror.sync();
    return this.cache.store.probeEvents(q);
  }

  /** Buffers a trace batch for the next flush; resolves once it is in the shared store. */
  async addTraceBatch(batch: TraceBatchInput): Promise<void> {
    return this.flusher.addTrace(batch);
  }

  /** Kept request traces of every server. */
  async traces(q: TraceQuery): Promise<StoredTrace[]> {
    await this.mirror.sync();
    return this.cache.store.traces(q);
  }

  /** The process ids whose probe data a limited token sees (the facts every server shares). */
  async visibleProbeProcesses(only: ProcessFilter): Promise<Set<string>> {
    await this.mirror.sync();
    return this.cache.store.visibleProbeProcesses(only);
  }

  /** Calls `fn` when batches another server (or this one) flushed become readable here. */
  onProbeEvents(fn: () => void): void {
    this.mirror.onNew(fn);
  }

  /** Probe batches: flushed by this server, failed flushes, loaded into the cache (tests, logs). */
  probeState(): {
    flushes: number;
    failures: number;
    loaded: number;
    lastBatch: number;
    trimmedRows: number;
    restarts: number;
    heldBytes: number;
    floorUs: number;
    flooredRows: number;
  } {
    return {
      ...this.flusher.counters,
      loaded: this.mirror.batches,
      lastBatch: this.mirror.loadedBatch,
      trimmedRows: this.mirror.trimmedRows,
      restarts: this.mirror.restarts,
      heldBytes: this.mirror.heldBytes,
      floorUs: this.mirror.floorUs,
      flooredRows: this.mirror.flooredRows,
    };
  }

  /** Why one process's rows cannot be stored. */
  async processProblem(p: StoredProcessInput): Promise<string | undefined> {
    return this.cache.store.processProblem(p);
  }

  /**
   * Deletes the processes (and snapshots left empty) older than their program's rule: one pass
   * at a time across servers (another server's pass in progress: none here, `elsewhere`); the
   * index changes in one transaction, and only then their objects are deleted and caches
   * forget them (this server's now, the others' at their next read of the index). Then the
   * probe data and request traces past their rule (probe-retention.ts): batches rewritten
   * without them, and every cache deletes them (this one's now, the others' within
   * PROBE_WATCH_MS); `probeRows` counts the rows deleted from the shared store. Passes recorded
   * longer ago than `probeTrimKeepMs` are pruned.
   */
  async applyRetention(rules: readonly RetentionRule[], now = new Date()): Promise<RetentionResult> {
    const lock = await tryRetentionLock(this.pool);
    if (!lock)
      return {
        snapshotIds: [],
        trimmedSnapshotIds: [],
        processes: 0,
        trimmedProcesses: [],
        probeRows: 0,
        elsewhere: true,
      };
    try {
      const snapshots = await this.expireSnapshots(rules, now);
      const probes = await expireProbeData(this.pool, this.objects, this.flusher.writer, rules, now);
      if (probes.rows > 0) await this.mirror.sync();
      // After this server's cache applied the pass: passes older than every running server has seen.
      await pruneProbeTrims(this.pool, this.trimKeepMs);
      return { ...snapshots, probeRows: probes.rows };
    } finally {
      await lock.release();
    }
  }

  /** The snapshot part of a retention pass (under the retention lock). */
  private async expireSnapshots(
    rules: readonly RetentionRule[],
    now: Date,
  ): Promise<Omit<RetentionResult, 'probeRows'>> {
    const expired = await expiredProcesses(this.pool, rules, now);
    if (expired.length === 0)
      return { snapshotIds: [], trimmedSnapshotIds: [], processes: 0, trimmedProcesses: [] };
    // A trimmed snapshot's goroutine count drops by the goroutines of the processes that go.
    const counted = expired.flatMap((e) =>
      e.wholeSnapshot
        ? []
        : e.objects.filter((o) => o.table === 'goroutines').map((o) => ({ e, key: o.key })),
    );
    const counts = await objectRowCounts(
      this.objects,
      counted.map((c) => ({ key: c.key, processId: c.e.processId })),
    );
    const goroutines = new Map(counted.map((c, i) => [`${c.e.snapshotId}:${c.e.processId}`, counts[i]!]));
    const gone = await unindexProcesses(this.pool, expired, goroutines);
    // Only now that no index row names them.
    const trimmedSnapshotIds = [...new Set(gone.trimmedProcesses.map((t) => t.snapshotId))];
    try {
      if (gone.keys.length > 0) await this.objects.delete(gone.keys);
    } finally {
      await this.cache.forget([...gone.snapshotIds, ...trimmedSnapshotIds]);
    }
    return {
      snapshotIds: gone.snapshotIds,
      trimmedSnapshotIds,
      processes: gone.processes,
      trimmedProcesses: gone.trimmedProcesses,
    };
  }

  /** Compacts this server's cache file. */
  async compact(): Promise<{ before: number; after: number }> {
    return this.cache.store.compact();
  }

  /** Deletes whole snapshots: from the index first (then nobody sees them), then their objects. */
  async deleteSnapshots(ids: readonly number[]): Promise<number[]> {
    const list = ids.filter((i) => Number.isSafeInteger(i));
    if (list.length === 0) return [];
    const had = await unindexSnapshots(this.pool, list);
    await this.deleteObjectsOf(had);
    await this.cache.forget(had);
    return had;
  }

  /** Adds a standing investigation; returns its id. */
  async addInvestigation(
    r: Omit<InvestigationRecord, 'id' | 'fires' | 'lastFiredAt' | 'closedAt' | 'closedBy'>,
  ): Promise<number> {
    return pgAddInvestigation(this.pool, r);
  }

  /** Marks an investigation closed. */
  async closeInvestigation(id: number, by: string, at: Date): Promise<void> {
    return pgCloseInvestigation(this.pool, id, by, at);
  }

  /** Every investigation with its number of firings, oldest first. */
  async investigations(): Promise<InvestigationRecord[]> {
    return pgInvestigations(this.pool);
  }

  /** Records a firing as it starts; returns its id. */
  async addFiring(f: FiringInput): Promise<number> {
    return pgAddFiring(this.pool, f);
  }

  /** Completes a firing with what its actions did. */
  async patchFiring(id: number, p: FiringPatch): Promise<void> {
    return pgPatchFiring(this.pool, id, p);
  }

  /** Stores the rows of a firing's report. */
  async addReportRows(rows: readonly ReportRowInput[]): Promise<void> {
    if (rows.length > 0) await pgAddReportRows(this.pool, rows);
  }

  /** The latest firings of an investigation, newest first. */
  async firings(investigationId: number, limit: number): Promise<FiringRecord[]> {
    return pgFirings(this.pool, investigationId, limit);
  }

  /** Records a fleet snapshot's server-side metadata (shared by every server). */
  async putFleetMeta(snapshotId: number, meta: unknown): Promise<void> {
    await putFleetMeta(this.pool, snapshotId, meta);
  }

  /** A fleet snapshot's metadata, whichever server took it. */
  async fleetMeta(snapshotId: number): Promise<unknown> {
    return fleetMeta(this.pool, snapshotId);
  }

  /**
   * Deletes the objects of snapshot ids that no index row names and no fleet request still
   * holds, first seen so more than `ageMs` ago (orphan-objects.ts); one server at a time.
   */
  async collectOrphans(ageMs: number): Promise<OrphanPass> {
    return collectOrphanObjects(this.pool, this.objects, ageMs);
  }

  /** The API tokens kept in this store's PostgreSQL (stop them before closing the store). */
  openTokens(onError: (e: Error) => void): Promise<PgTokens> {
    return PgTokens.open(this.pool, this.location, onError);
  }

  /** Closes the cache and the PostgreSQL pool. */
  /**
   * Takes no more work and writes what this server's agents sent in the last second (not
   * loaded here); a compaction pass in flight ends; then the cache closes (after what runs on
   * it) and the pool ends. Resolves with what still ran after `waitMs`, left to end by itself
   * (batches not written then are lost, a compaction's merged batch is collected as an orphan).
   */
  close(waitMs = Number.POSITIVE_INFINITY): Promise<string[]> {
    this.closing ??= this.shut(waitMs);
    return this.closing;
  }

  private closing: Promise<string[]> | undefined;

  private async shut(waitMs: number): Promise<string[]> {
    const deadline = Date.now() + waitMs;
    this.closed = true;
    clearInterval(this.watch);
    clearInterval(this.compactTimer);
    this.fleet.close();
    this.mirror.close();
    this.investigationFleet.close();
    const unstored = this.flusher.unstored;
    const left = await waitAtMost(
      [
        { what: `the last flush of probe data (${unstored} batches not stored)`, done: this.flusher.close() },
        ...(this.compacting ? [{ what: 'a compaction pass of probe data', done: this.compacting }] : []),
      ],
      waitMs,
    );
    left.push(...(await this.cache.store.close(deadline - Date.now())));
    // Given up: the pool ends once the queries still running end (its idle connections at once).
    const ended = this.pool.end().catch(() => undefined);
    if (left.length === 0) await ended;
    return left;
  }
}

/**
 * The tokens of a scaled-out store without the rest of it (`periscope token … --store`): its
 * own connection, ended by `close`.
 */
export async function openSharedTokens(url: string): Promise<TokenBook> {
  const pool = await connectPg(url);
  try {
    return await PgTokens.open(pool, describePg(url), () => undefined, { ownsPool: true });
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}

export { type MigrateOptions, type MigrateResult, migrateEmbedded } from './migrate.js';
