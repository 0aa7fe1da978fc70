/**
 * The fleet across servers in PostgreSQL: each server's row with its heartbeat and the agents
 * connected to it with their processes (`servers`, `server_agents`), and fleet snapshot
 * requests split into one part per server (`fleet_requests`, `fleet_parts`) with their states.
 * Each agent's latest probe status is written by its server (`agent_probe_status`), so any
 * server shows the fleet's; questions for other servers' agents are in pg-fleet-asks.ts.
 * Servers wake each other with NOTIFY on the channel `periscope_fleet`; the tables are the truth
 * (a server that misses a notification sees the state on its next poll).
 */
import type pg from 'pg';
import type { ObjectStore } from '../object-store.js';
import type { SnapshotInput } from '../store.js';
import { FLEET_ASKS_SQL, PgFleetAsks } from './pg-fleet-asks.js';
import { indexSnapshot, nextSnapshotId } from './pg-index.js';
import { listenPg, type PgListening } from './pg-listen.js';
import { FLEET_CHANNEL, inPgTransaction, withPgRetry } from './pg-schema.js';
import {
  distinctObjects,
  putSnapshotObjects,
  snapshotPrefix,
  type WrittenSnapshot,
} from './snapshot-objects.js';

/** The NOTIFY channel (payload: a fleet request's id, `spec:VERSION` or `ask:ID`). */
const CHANNEL = FLEET_CHANNEL;
/** The advisory lock key held while the fleet tables are created ("PSCQ"). */
const FLEET_SCHEMA_LOCK = 0x50534351;

const FLEET_SQL = [
  `CREATE TABLE IF NOT EXISTS periscope.servers (
     server_id text PRIMARY KEY, url text NOT NULL, started_at timestamptz NOT NULL,
     heartbeat_at timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS periscope.server_agents (
     server_id text NOT NULL REFERENCES periscope.servers ON DELETE CASCADE, agent_id text NOT NULL,
     view jsonb NOT NULL, processes jsonb NOT NULL, PRIMARY KEY (server_id, agent_id))`,
  `CREATE TABLE IF NOT EXISTS periscope.fleet_requests (
     request_id text PRIMARY KEY, snapshot_id bigint NOT NULL, origin text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(), spec_version int NOT NULL,
     no_pause boolean NOT NULL, state text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS periscope.fleet_parts (
     request_id text NOT NULL REFERENCES periscope.fleet_requests ON DELETE CASCADE,
     server_id text NOT NULL, targets jsonb NOT NULL, state text NOT NULL, result jsonb,
     PRIMARY KEY (request_id, server_id))`,
  FLEET_ASKS_SQL,
  `CREATE TABLE IF NOT EXISTS periscope.agent_probe_status (
     agent_id text PRIMARY KEY,
     server_id text NOT NULL REFERENCES periscope.servers ON DELETE CASCADE,
     at timestamptz NOT NULL, status jsonb NOT NULL)`,
  // Versions of each server's agent list and of its agents' probe statuses: a new number each
  // time the content changes (or the row is new), so the other servers read a list only when
  // it changed (added in place: servers of the version before insert rows without them).
  'CREATE SEQUENCE IF NOT EXISTS periscope.fleet_list_versions',
  `ALTER TABLE periscope.servers
     ADD COLUMN IF NOT EXISTS agents_version bigint NOT NULL DEFAULT nextval('periscope.fleet_list_versions'),
     ADD COLUMN IF NOT EXISTS status_version bigint NOT NULL DEFAULT nextval('periscope.fleet_list_versions')`,
];

/** A live server and the versions of its lists (see FLEET_SQL). */
export interface FleetServerVersions {
  readonly serverId: string;
  readonly url: string;
  readonly agentsVersion: string;
  readonly statusVersion: string;
}

/** An agent's latest probe status, as its server wrote it. */
export interface FleetProbeStatusRow {
  readonly agentId: string;
  readonly serverId: string;
  /** When its server received it (ISO 8601). */
  readonly at: string;
  readonly status: unknown;
}

/** A server of the fleet and the agents connected to it (JSON as the server wrote it). */
export interface FleetServerRow {
  readonly serverId: string;
  readonly url: string;
  readonly agents: readonly { readonly view: unknown; readonly processes: unknown }[];
}

/** A request as the table holds it: `preparing`, then `capture`, then `done`. */
export interface FleetRequestRow {
  readonly requestId: string;
  readonly snapshotId: number;
  readonly origin: string;
  readonly specVersion: number;
  readonly noPause: boolean;
  readonly state: string;
}

/** One server's part of a request: `asked`, `prepared`, `stored` (or `failed`). */
export interface FleetPartRow {
  readonly requestId: string;
  readonly serverId: string;
  readonly targets: unknown;
  readonly state: string;
  readonly result: unknown;
}

/** The fleet tables of one PostgreSQL, and the objects a part writes. */
export class PgFleet {
  private listener: PgListening | undefined;
  private readonly subscribers: ((payload: string) => void)[] = [];
  private closed = false;
  /** Questions for other servers' agents (spec checks, function descriptions). */
  readonly asks: PgFleetAsks;

  constructor(
    private readonly pool: pg.Pool,
    private readonly objects: ObjectStore,
    private readonly url: string,
  ) {
    this.asks = new PgFleetAsks(pool);
  }

  /** Creates the fleet tables (once per database; under an advisory lock). */
  async ensureSchema(): Promise<void> {
    await inPgTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [FLEET_SCHEMA_LOCK]);
      for (const sql of FLEET_SQL) await c.query(sql);
    });
  }

  /**
   * Writes this server's heartbeat and replaces its agents' rows; deletes servers silent for
   * `forgetS` seconds (their agents with them). Ages are PostgreSQL's clock, never a server's.
   * `probeStatuses`, when given, are the latest probe status of each of its connected agents
   * (replacing its rows; an agent that moved here takes its row over from its old server).
   * `changed` says which of the two differ from what this server wrote before (not a periodic
   * rewrite): their version moves, so the other servers read them again.
   */
  async heartbeat(
    serverId: string,
    url: string,
    agents: readonly { id: string; view: unknown; processes: unknown }[] | undefined,
    forgetS: number,
    probeStatuses?: readonly { agentId: string; at: string; status: unknown }[],
    changed: { readonly agents: boolean; readonly statuses: boolean } = { agents: true, statuses: true },
  ): Promise<void> {
    await inPgTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO periscope.servers (server_id, url, started_at, heartbeat_at) VALUES ($1, $2, now(), now())
         ON CONFLICT (server_id) DO UPDATE SET heartbeat_at = now(), url = $2,
           agents_version = CASE WHEN $3 THEN nextval('periscope.fleet_list_versions') ELSE servers.agents_version END,
           status_version = CASE WHEN $4 THEN nextval('periscope.fleet_list_versions') ELSE servers.status_version END`,
        [
          serverId,
          url,
          agents !== undefined && changed.agents,
          probeStatuses !== undefined && changed.statuses,
        ],
      );
      if (agents) {
        await c.query('DELETE FROM periscope.server_agents WHERE server_id = $1', [serverId]);
        // One statement for all of them: one round trip each took seconds at 333 agents on a busy
        // machine, and a beat that slow lets the others take this server for dead.
        if (agents.length > 0)
          await c.query(
            'INSERT INTO periscope.server_agents SELECT $1, * FROM unnest($2::text[], $3::jsonb[], $4::jsonb[])',
            [
              serverId,
              agents.map((a) => a.id),
              agents.map((a) => JSON.stringify(a.view)),
              agents.map((a) => JSON.stringify(a.processes)),
            ],
          );
      }
      if (probeStatuses) {
        // A server whose agent moved here loses that agent's row: its statuses changed too.
        if (probeStatuses.length > 0)
          await c.query(
            `UPDATE periscope.servers SET status_version = nextval('periscope.fleet_list_versions')
             WHERE server_id IN (SELECT server_id FROM periscope.agent_probe_status
                                 WHERE agent_id = ANY($1::text[]) AND server_id <> $2)`,
            [probeStatuses.map((p) => p.agentId), serverId],
          );
        await c.query('DELETE FROM periscope.agent_probe_status WHERE server_id = $1', [serverId]);
        for (const p of probeStatuses)
          await c.query(
            `INSERT INTO periscope.agent_probe_status VALUES ($1, $2, $3, $4)
             ON CONFLICT (agent_id) DO UPDATE SET server_id = $2, at = $3, status = $4`,
            [p.agentId, serverId, p.at, JSON.stringify(p.status)],
          );
      }
      await c.query(`DELETE FROM periscope.servers WHERE heartbeat_at < now() - make_interval(secs => $1)`, [
        forgetS,
      ]);
    });
  }

  /** Removes a server's rows (it is stopping). */
  async leave(serverId: string): Promise<void> {
    await withPgRetry(() =>
      this.pool.query('DELETE FROM periscope.servers WHERE server_id = $1', [serverId]),
    );
  }

  /** The servers whose heartbeat is younger than `aliveS` seconds, with their lists' versions (one small row each). */
  async liveServerVersions(aliveS: number): Promise<FleetServerVersions[]> {
    const q = await withPgRetry(() =>
      this.pool.query(
        `SELECT server_id, url, agents_version::text AS av, status_version::text AS sv FROM periscope.servers
         WHERE heartbeat_at >= now() - make_interval(secs => $1) ORDER BY server_id`,
        [aliveS],
      ),
    );
    return q.rows.map((r) => ({
      serverId: String(r.server_id),
      url: String(r.url),
      agentsVersion: String(r.av),
      statusVersion: String(r.sv),
    }));
  }

  /**
   * The servers whose heartbeat is younger than `aliveS` seconds, with their agents; with
   * `only`, just those servers (the ones whose list changed).
   */
  async liveServers(aliveS: number, only?: readonly string[]): Promise<FleetServerRow[]> {
    if (only?.length === 0) return [];
    const q = await withPgRetry(() =>
      this.pool.query(
        `SELECT s.server_id, s.url, coalesce(json_agg(json_build_object('view', a.view, 'processes', a.processes))
           FILTER (WHERE a.agent_id IS NOT NULL), '[]') AS agents
         FROM periscope.servers s LEFT JOIN periscope.server_agents a USING (server_id)
         WHERE s.heartbeat_at >= now() - make_interval(secs => $1)${only ? ' AND s.server_id = ANY($2::text[])' : ''}
         GROUP BY s.server_id, s.url ORDER BY s.server_id`,
        only ? [aliveS, only] : [aliveS],
      ),
    );
    return q.rows.map((r) => ({
      serverId: String(r.server_id),
      url: String(r.url),
      agents: r.agents as FleetServerRow['agents'],
    }));
  }

  /**
   * The probe status of every agent of the servers whose heartbeat is younger than `aliveS`
   * seconds; with `only`, of just those servers.
   */
  async liveProbeStatuses(aliveS: number, only?: readonly string[]): Promise<FleetProbeStatusRow[]> {
    if (only?.length === 0) return [];
    const q = await withPgRetry(() =>
      this.pool.query(
        `SELECT p.agent_id, p.server_id, to_json(p.at) #>> '{}' AS at, p.status
         FROM periscope.agent_probe_status p JOIN periscope.servers s USING (server_id)
         WHERE s.heartbeat_at >= now() - make_interval(secs => $1)${only ? ' AND s.server_id = ANY($2::text[])' : ''}
         ORDER BY p.agent_id`,
        only ? [aliveS, only] : [aliveS],
      ),
    );
    return q.rows.map((r) => ({
      agentId: String(r.agent_id),
      serverId: String(r.server_id),
      at: new Date(String(r.at)).toISOString(),
      status: r.status,
    }));
  }

  /** Wakes every server (NOTIFY on the fleet channel with this payload). */
  async notify(payload: string): Promise<void> {
    await withPgRetry(() => this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]));
  }

  /** A new snapshot id from the index's sequence. */
  nextSnapshotId(): Promise<number> {
    return nextSnapshotId(this.pool);
  }

  /** Records a request and its parts (state `preparing`, parts `asked`) and wakes the servers. */
  async createRequest(
    r: Omit<FleetRequestRow, 'state'>,
    parts: readonly { serverId: string; targets: unknown }[],
  ): Promise<void> {
    await inPgTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO periscope.fleet_requests (request_id, snapshot_id, origin, spec_version, no_pause, state)
         VALUES ($1, $2, $3, $4, $5, 'preparing')`,
        [r.requestId, r.snapshotId, r.origin, r.specVersion, r.noPause],
      );
      for (const p of parts)
        await c.query(`INSERT INTO periscope.fleet_parts VALUES ($1, $2, $3, 'asked', NULL)`, [
          r.requestId,
          p.serverId,
          JSON.stringify(p.targets),
        ]);
      await c.query('SELECT pg_notify($1, $2)', [CHANNEL, r.requestId]);
    });
  }

  /** Sets a request's state and wakes the servers. */
  async setRequestState(requestId: string, state: string): Promise<void> {
    await withPgRetry(() =>
      this.pool.query(
        `WITH u AS (UPDATE periscope.fleet_requests SET state = $2 WHERE request_id = $1)
         SELECT pg_notify($3, $1)`,
        [requestId, state, CHANNEL],
      ),
    );
  }

  /**
   * Moves a part on (`from` → `to`, with its result) while its request is in `requestState`;
   * false when the request moved on first (the origin stopped waiting for this part).
   */
  async movePart(
    requestId: string,
    serverId: string,
    from: string,
    to: string,
    requestState: string,
    result: unknown = null,
  ): Promise<boolean> {
    return inPgTransaction(this.pool, async (c) => {
      const r = await c.query<{ state: string }>(
        'SELECT state FROM periscope.fleet_requests WHERE request_id = $1 FOR SHARE',
        [requestId],
      );
      if (r.rows[0]?.state !== requestState) return false;
      const u = await c.query(
        'UPDATE periscope.fleet_parts SET state = $4, result = $5 WHERE request_id = $1 AND server_id = $2 AND state = $3',
        [requestId, serverId, from, to, JSON.stringify(result)],
      );
      await c.query('SELECT pg_notify($1, $2)', [CHANNEL, requestId]);
      return (u.rowCount ?? 0) > 0;
    });
  }

  /** One request, if recorded. */
  async request(requestId: string): Promise<FleetRequestRow | undefined> {
    const q = await withPgRetry(() =>
      this.pool.query('SELECT * FROM periscope.fleet_requests WHERE request_id = $1', [requestId]),
    );
    const r = q.rows[0];
    return r
      ? {
          requestId: String(r.request_id),
          snapshotId: Number(r.snapshot_id),
          origin: String(r.origin),
          specVersion: Number(r.spec_version),
          noPause: r.no_pause === true,
          state: String(r.state),
        }
      : undefined;
  }

  /** The parts of one request. */
  async parts(requestId: string): Promise<FleetPartRow[]> {
    const q = await withPgRetry(() =>
      this.pool.query('SELECT * FROM periscope.fleet_parts WHERE request_id = $1 ORDER BY server_id', [
        requestId,
      ]),
    );
    return q.rows.map((r) => ({
      requestId: String(r.request_id),
      serverId: String(r.server_id),
      targets: r.targets,
      state: String(r.state),
      result: r.result,
    }));
  }

  /**
   * The state of each part of one request, without its targets and result (what a wait polls
   * every 250 ms: the results list every process of a part, megabytes at thousands of them).
   */
  async partStates(requestId: string): Promise<{ serverId: string; state: string }[]> {
    const q = await withPgRetry(() =>
      this.pool.query(
        'SELECT server_id, state FROM periscope.fleet_parts WHERE request_id = $1 ORDER BY server_id',
        [requestId],
      ),
    );
    return q.rows.map((r) => ({ serverId: String(r.server_id), state: String(r.state) }));
  }

  /** The parts asked of `serverId` whose request is still preparing. */
  async askedOf(serverId: string): Promise<{ request: FleetRequestRow; part: FleetPartRow }[]> {
    const q = await withPgRetry(() =>
      this.pool.query(
        `SELECT p.request_id FROM periscope.fleet_parts p JOIN periscope.fleet_requests r USING (request_id)
         WHERE p.server_id = $1 AND r.origin <> $1 AND p.state = 'asked' AND r.state = 'preparing'`,
        [serverId],
      ),
    );
    const out: { request: FleetRequestRow; part: FleetPartRow }[] = [];
    for (const row of q.rows) {
      const request = await this.request(String(row.request_id));
      const part = (await this.parts(String(row.request_id))).find((p) => p.serverId === serverId);
      if (request && part) out.push({ request, part });
    }
    return out;
  }

  /** Deletes requests older than `ageS` seconds (their outcome is in the snapshot index). */
  async forgetRequests(ageS: number): Promise<void> {
    await withPgRetry(() =>
      this.pool.query(
        'DELETE FROM periscope.fleet_requests WHERE created_at < now() - make_interval(secs => $1)',
        [ageS],
      ),
    );
  }

  /** Puts one part's process snapshots as objects under the request's snapshot id (not indexed). */
  async putPart(
    snapshotId: number,
    input: SnapshotInput,
    specVersion: number | null,
  ): Promise<WrittenSnapshot> {
    return putSnapshotObjects(this.objects, snapshotId, input, specVersion);
  }

  /** Deletes the objects of one part (a part the origin stopped waiting for). */
  async deleteObjects(w: WrittenSnapshot): Promise<void> {
    const keys = distinctObjects(w.processes.flatMap((p) => p.objects)).map((o) => o.key);
    if (keys.length > 0) await this.objects.delete(keys);
  }

  /** Makes a fleet snapshot visible: the origin's written part merged with the stored parts, one index row. */
  async index(
    snapshotId: number,
    specVersion: number | null,
    own: WrittenSnapshot,
    parts: readonly WrittenSnapshot[],
  ): Promise<void> {
    const all = [own, ...parts];
    await indexSnapshot(this.pool, snapshotId, specVersion, {
      ...own,
      processCount: all.reduce((n, w) => n + w.processCount, 0),
      failedProcesses: all.reduce((n, w) => n + w.failedProcesses, 0),
      goroutineCount: all.reduce((n, w) => n + w.goroutineCount, 0),
      bytes: all.reduce((n, w) => n + w.bytes, 0),
      processes: all.flatMap((w) => w.processes),
    });
  }

  /** Deletes every object of a snapshot id (a fleet snapshot whose index row was never written). */
  async deleteSnapshotObjects(snapshotId: number): Promise<void> {
    const keys = (await this.objects.list(snapshotPrefix(snapshotId))).map((o) => o.key);
    if (keys.length > 0) await this.objects.delete(keys);
  }

  /**
   * Calls `fn` with the payload of each notification (a request id, `spec:N`, `ask:ID`); one
   * connection listens for every subscriber, remade when it drops (pg-listen.ts).
   */
  listen(fn: (payload: string) => void): void {
    this.subscribers.push(fn);
    if (this.subscribers.length > 1 || this.closed) return;
    this.listener = listenPg(this.url, CHANNEL, (payload) => {
      for (const f of this.subscribers) f(payload);
    });
  }

  /** Stops listening. */
  close(): void {
    this.closed = true;
    this.listener?.close();
  }
}
