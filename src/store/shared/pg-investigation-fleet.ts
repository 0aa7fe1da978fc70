/**
 * Standing investigations run by several servers on one PostgreSQL: each firing is reserved in
 * one transaction (the investigation's row locked, its firings counted and the last one's time
 * read, the limits decided, the firing row inserted), so "at most N" and "at most once per
 * interval" hold across servers; each tick of a schedule is claimed by one server (the tick's
 * time in `investigation_ticks`, from PostgreSQL's clock); and every add, close and firing is
 * announced with NOTIFY on `periscope_investigations` so the other servers look at once; a
 * unique index keeps one open investigation per name, whichever server adds it.
 * Nothing is held between transactions: a server that dies mid-firing leaves its firing row
 * (counted, never completed) and blocks nobody; the firing is noted as under way on that server
 * (`investigation_firings_under_way`) until its actions are done, so once the server is gone from
 * the fleet's heartbeats another server marks the firing with an error saying so.
 */
import type pg from 'pg';
import type { FiringInput } from '../store.js';
import { listenPg, type PgListening } from './pg-listen.js';
import { inPgTransaction, withPgRetry } from './pg-schema.js';

/** The NOTIFY channel (payload: the investigation id). */
const CHANNEL = 'periscope_investigations';
/** The advisory lock key held while the table is created ("PSCI"). */
const SCHEMA_LOCK = 0x50534349;

const TICKS_SQL = `CREATE TABLE IF NOT EXISTS periscope.investigation_ticks (
  investigation_id bigint PRIMARY KEY, ticked_at timestamptz NOT NULL, server text NOT NULL)`;

/** The firings whose actions a server is running (a row per firing, deleted when they are done). */
const UNDER_WAY_SQL = `CREATE TABLE IF NOT EXISTS periscope.investigation_firings_under_way (
  firing_id bigint PRIMARY KEY, server text NOT NULL)`;

const FIRINGS_INDEX_SQL = `CREATE INDEX IF NOT EXISTS investigation_firings_by_investigation
  ON periscope.investigation_firings (investigation_id, fired_at)`;

const OPEN_NAMES_SQL = `CREATE UNIQUE INDEX IF NOT EXISTS investigations_open_name
  ON periscope.investigations (name) WHERE closed_at IS NULL`;

/** What the limits of an investigation are decided on, read under its row's lock. */
export interface FiringState {
  readonly closed: boolean;
  /** Firings so far (every server's). */
  readonly fires: number;
  /** Epoch ms of the last firing, PostgreSQL's clock. */
  readonly lastFiredAt?: number;
  /** Epoch ms now, PostgreSQL's clock. */
  readonly now: number;
}

/** A reserved firing: its row's id and time, or why the limits refused it. */
export type Reservation =
  | { readonly firingId: number; readonly firedAt: string; readonly state: FiringState }
  | { readonly refused: string; readonly state: FiringState };

/** A claimed tick, or how long until the next one may be claimed. */
export type TickClaim = { readonly won: true } | { readonly won: false; readonly waitMs: number };

/** The investigations' coordination tables of one PostgreSQL. */
export class PgInvestigationFleet {
  private listening: PgListening | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  /**
   * Creates the tick table, an index of firings by investigation, and the index that keeps one
   * open investigation per name whichever server adds it (once per database, under an advisory
   * lock). A database that already holds two open investigations of one name (added at once
   * before this index) gets no such index; names are then checked by each server only, as before.
   */
  async ensureSchema(): Promise<void> {
    await inPgTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(TICKS_SQL);
      await c.query(UNDER_WAY_SQL);
      // Each reservation counts one investigation's firings, and each server's look counts them all.
      await c.query(FIRINGS_INDEX_SQL);
      await c.query('SAVEPOINT open_names');
      try {
        await c.query(OPEN_NAMES_SQL);
      } catch {
        await c.query('ROLLBACK TO SAVEPOINT open_names');
      }
    });
  }

  /**
   * Reserves a firing: under the investigation's row lock, `decide` is given its state (every
   * server's firings) and says why not, or undefined; then the firing row is inserted with
   * PostgreSQL's time (and, when `server` is given, the firing noted as under way there until
   * finishFiring), and the servers are told.
   */
  async reserveFiring(
    f: Omit<FiringInput, 'firedAt'>,
    decide: (s: FiringState) => string | undefined,
    server?: string,
  ): Promise<Reservation> {
    return inPgTransaction(this.pool, async (c) => {
      const inv = await c.query(
        'SELECT closed_at IS NOT NULL AS closed FROM periscope.investigations WHERE investigation_id = $1 FOR UPDATE',
        [f.investigationId],
      );
      const n = await c.query(
        `SELECT count(*) AS fires, (extract(epoch FROM max(fired_at)) * 1000)::float8 AS last,
                (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now
         FROM periscope.investigation_firings WHERE investigation_id = $1`,
        [f.investigationId],
      );
      const row = n.rows[0];
      const state: FiringState = {
        closed: inv.rows[0] === undefined || inv.rows[0].closed === true,
        fires: Number(row.fires),
        ...(row.last !== null ? { lastFiredAt: Number(row.last) } : {}),
        now: Number(row.now),
      };
      const refused = decide(state);
      if (refused !== undefined) return { refused, state };
      const q = await c.query<{ id: string; at: string }>(
        `INSERT INTO periscope.investigation_firings (investigation_id, investigation, fired_at, trigger, detail, process_id, goroutine_id, request_id, trace_kept)
         VALUES ($1, $2, clock_timestamp(), $3, $4, $5, $6, $7, $8)
         RETURNING firing_id AS id, to_char(fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at`,
        [
          f.investigationId,
          f.investigation,
          f.trigger,
          JSON.stringify(f.detail),
          f.process ?? null,
          f.goroutine ?? null,
          f.requestId ?? null,
          f.traceKept,
        ],
      );
      const firingId = Number(q.rows[0]!.id);
      if (server !== undefined)
        await c.query('INSERT INTO periscope.investigation_firings_under_way VALUES ($1, $2)', [
          firingId,
          server,
        ]);
      await c.query('SELECT pg_notify($1, $2)', [CHANNEL, String(f.investigationId)]);
      return { firingId, firedAt: String(q.rows[0]!.at), state };
    });
  }

  /** A firing's actions are done (or failed and recorded): it is no longer under way. */
  async finishFiring(firingId: number): Promise<void> {
    await withPgRetry(() =>
      this.pool.query('DELETE FROM periscope.investigation_firings_under_way WHERE firing_id = $1', [
        firingId,
      ]),
    );
  }

  /**
   * Firings left under way by servers that died (no heartbeat younger than `aliveS` seconds in
   * `periscope.servers`): each gets an error saying so and is no longer under way. Returns their ids.
   */
  async markAbandoned(aliveS: number): Promise<number[]> {
    const q = await withPgRetry(() =>
      this.pool.query<{ id: string }>(
        `WITH dead AS (
           DELETE FROM periscope.investigation_firings_under_way u
           WHERE NOT EXISTS (SELECT 1 FROM periscope.servers s
                             WHERE s.server_id = u.server AND s.heartbeat_at >= now() - make_interval(secs => $1))
           RETURNING u.firing_id, u.server)
         UPDATE periscope.investigation_firings f
         SET error = concat_ws('; ', f.error, 'server ' || d.server || ' stopped during this firing (no heartbeat in PostgreSQL); what it had not done yet (snapshot, report, webhook) was not done')
         FROM dead d WHERE f.firing_id = d.firing_id
         RETURNING f.firing_id AS id`,
        [aliveS],
      ),
    );
    return q.rows.map((r) => Number(r.id));
  }

  /**
   * Claims the tick of a schedule every `everyMs`: won when no server ticked it in the last
   * `everyMs` (PostgreSQL's clock); else the ms until one may.
   */
  async claimTick(investigationId: number, everyMs: number, server: string): Promise<TickClaim> {
    const won = await withPgRetry(() =>
      this.pool.query(
        `INSERT INTO periscope.investigation_ticks AS t VALUES ($1, clock_timestamp(), $3)
         ON CONFLICT (investigation_id) DO UPDATE SET ticked_at = clock_timestamp(), server = $3
         WHERE t.ticked_at <= clock_timestamp() - make_interval(secs => $2 / 1000.0)
         RETURNING 1`,
        [investigationId, everyMs, server],
      ),
    );
    if ((won.rowCount ?? 0) > 0) return { won: true };
    const q = await withPgRetry(() =>
      this.pool.query(
        `SELECT (extract(epoch FROM ticked_at + make_interval(secs => $2 / 1000.0) - clock_timestamp()) * 1000)::float8 AS wait
         FROM periscope.investigation_ticks WHERE investigation_id = $1`,
        [investigationId, everyMs],
      ),
    );
    return { won: false, waitMs: Math.max(0, Math.ceil(Number(q.rows[0]?.wait ?? 0))) };
  }

  /** Tells the other servers that an investigation changed (added, closed). */
  async announce(investigationId: number): Promise<void> {
    await withPgRetry(() => this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, String(investigationId)]));
  }

  /** Calls `fn` on every announcement (the investigation id), over a connection remade when it drops. */
  listen(fn: (investigationId: number) => void): void {
    this.listening?.close();
    this.listening = listenPg(this.url, CHANNEL, (p) => fn(Number(p)));
  }

  /** Stops listening. */
  close(): void {
    this.listening?.close();
  }
}
