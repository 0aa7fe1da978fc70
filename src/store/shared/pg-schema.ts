/**
 * What the scaled-out store keeps in PostgreSQL (schema `periscope`): the spec history, the
 * snapshot index (ids from a sequence; each snapshot's processes and the keys of their objects),
 * fleet-snapshot metadata, where imported snapshots came from (`imports`), investigations with their firings and report rows, and the hashed API
 * tokens (`tokens`; `meta.tokens_changed` counts their changes, see pg-tokens.ts). Created or
 * migrated on connect, under an advisory lock so that servers starting together do not race,
 * with the schema version in `periscope.meta`.
 */
import pg from 'pg';
import { PeriscopeError } from '../../common/errors.js';

/** The version of the PostgreSQL schema this Periscope writes. */
export const PG_SCHEMA_VERSION = 1;

/**
 * The NOTIFY channel servers wake each other on (pg-fleet.ts). Payloads: a fleet request's id,
 * `spec:VERSION` when a spec version is stored, `ask:ID` when a question for other servers'
 * agents is asked or answered.
 */
export const FLEET_CHANNEL = 'periscope_fleet';

/** The advisory lock key held while the schema is created (any constant; "PSCP"). */
const SCHEMA_LOCK = 0x50534350;

const SCHEMA_SQL = [
  'CREATE SCHEMA IF NOT EXISTS periscope',
  'CREATE TABLE IF NOT EXISTS periscope.meta (key text PRIMARY KEY, value text NOT NULL)',
  'CREATE SEQUENCE IF NOT EXISTS periscope.snapshot_ids',
  `CREATE TABLE IF NOT EXISTS periscope.spec_versions (
     version int PRIMARY KEY, created_at timestamptz NOT NULL, author text NOT NULL,
     yaml text NOT NULL, diff text NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS periscope.snapshots (
     snapshot_id bigint PRIMARY KEY, created_at timestamptz NOT NULL, labels jsonb NOT NULL,
     spec_version int, capture_spec text NOT NULL, process_count int NOT NULL,
     failed_processes int NOT NULL, goroutine_count bigint NOT NULL, bytes bigint NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS periscope.snapshot_processes (
     snapshot_id bigint NOT NULL REFERENCES periscope.snapshots ON DELETE CASCADE,
     process_id text NOT NULL, hostname text, pid bigint, program text, executable text,
     build_id text, go_version text, error text, objects jsonb NOT NULL,
     PRIMARY KEY (snapshot_id, process_id))`,
  `CREATE TABLE IF NOT EXISTS periscope.fleet_snapshots (
     snapshot_id bigint PRIMARY KEY REFERENCES periscope.snapshots ON DELETE CASCADE, meta jsonb NOT NULL)`,
  // Where an imported snapshot came from: the embedded store's raw.imports (added later; additive).
  `CREATE TABLE IF NOT EXISTS periscope.imports (
     snapshot_id bigint PRIMARY KEY REFERENCES periscope.snapshots ON DELETE CASCADE,
     original_snapshot_id bigint NOT NULL, path text NOT NULL, format text NOT NULL, imported_at timestamptz NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS periscope.investigations (
     investigation_id bigserial PRIMARY KEY, name text NOT NULL, owner text NOT NULL,
     question text NOT NULL, notes text NOT NULL, definition text NOT NULL,
     created_at timestamptz NOT NULL, closed_at timestamptz, closed_by text)`,
  `CREATE TABLE IF NOT EXISTS periscope.investigation_firings (
     firing_id bigserial PRIMARY KEY, investigation_id bigint NOT NULL, investigation text NOT NULL,
     fired_at timestamptz NOT NULL, trigger text NOT NULL, detail jsonb NOT NULL, process_id text,
     goroutine_id bigint, request_id text, snapshot_id bigint, trace_kept boolean NOT NULL,
     report_rows bigint NOT NULL DEFAULT 0, webhook text, error text)`,
  `CREATE TABLE IF NOT EXISTS periscope.investigation_reports (
     seq bigserial PRIMARY KEY, firing_id bigint NOT NULL, investigation_id bigint NOT NULL, snapshot_id bigint,
     request_id text, query text NOT NULL, row_number int NOT NULL, row jsonb, error text)`,
  `CREATE TABLE IF NOT EXISTS periscope.tokens (
     token_id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, hash text NOT NULL,
     created_at timestamptz NOT NULL, revoked_at timestamptz, expires_at timestamptz,
     rotated_to text, programs jsonb)`,
];

/** What a connection string names, without its password, for messages. */
export function describePg(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.href;
  } catch {
    return 'the PostgreSQL URL';
  }
}

/**
 * Connects a pool to `url`, checks the server answers, and creates or checks the schema;
 * fails with what to check when PostgreSQL cannot be reached or holds a newer schema.
 * `readOnly`: only checks the schema a server created (a reader's role needs no more than
 * SELECT; nothing is written).
 */
export async function connectPg(url: string, opts: { readOnly?: boolean } = {}): Promise<pg.Pool> {
  const where = describePg(url);
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new PeriscopeError(
      'not-found',
      `cannot reach PostgreSQL at ${where}: ${(e as Error).message}; check that it runs, the host, port, database, user and password of --store, and that this machine may connect (pg_hba.conf)`,
    );
  }
  if (opts.readOnly) {
    try {
      await checkSchemaVersion(client, where);
    } finally {
      client.release();
    }
    return pool;
  }
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    for (const sql of SCHEMA_SQL) await client.query(sql);
    await client.query(
      `INSERT INTO periscope.meta VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING`,
      [String(PG_SCHEMA_VERSION)],
    );
    await checkSchemaVersion(client, where);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
    await pool.end().catch(() => undefined);
    if (e instanceof PeriscopeError) throw e;
    throw new PeriscopeError(
      'permission',
      `cannot create the Periscope tables in ${where}: ${(e as Error).message}; the user of --store needs CREATE on the database`,
    );
  }
  client.release();
  return pool;
}

/** Fails unless the Periscope schema in PostgreSQL is the version this Periscope uses. */
async function checkSchemaVersion(client: pg.PoolClient, where: string): Promise<void> {
  let r: pg.QueryResult<{ value: string }>;
  try {
    r = await client.query<{ value: string }>(
      "SELECT value FROM periscope.meta WHERE key = 'schema_version'",
    );
  } catch (e) {
    if ((e as { code?: string }).code === '42P01')
      throw new PeriscopeError(
        'not-found',
        `no Periscope store in ${where} (no periscope.meta table); a \`periscope server --store\` on it creates one, or check the database of --store`,
      );
    throw e;
  }
  const version = Number(r.rows[0]?.value);
  if (version !== PG_SCHEMA_VERSION)
    throw new PeriscopeError(
      'unsupported',
      `the Periscope schema in ${where} is version ${r.rows[0]?.value}; this Periscope uses ${PG_SCHEMA_VERSION} (run the Periscope version that wrote it)`,
    );
}

/** Errors worth retrying: the connection dropped or the server is starting or shutting down. */
export function transientPg(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message ?? '';
  return (
    /^(08|57P0|53300|40001|40P01)/.test(code) ||
    /ECONNREFUSED|ECONNRESET|terminated|Connection terminated|timeout exceeded when trying to connect/i.test(
      msg,
    )
  );
}

/** Runs `fn`, retrying transient PostgreSQL failures with backoff for about 15 s. */
export async function withPgRetry<T>(fn: () => Promise<T>): Promise<T> {
  let delay = 100;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!transientPg(e) || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/** Runs `fn` in one transaction on one client of the pool (retried whole when transient). */
export async function inPgTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return withPgRetry(async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  });
}

/** A session-level advisory lock, held on a connection of its own until released. */
export interface SessionLock {
  release(): Promise<void>;
}

/**
 * Takes advisory lock `key` on a connection of its own: waited for (`wait`), or else tried
 * (undefined when another session holds it). Released by `release`, or with the connection
 * when that fails. A connection lost while the lock is held (PostgreSQL restarted, the session
 * ended) does not crash the process: the lock went with its session, and `release` drops it.
 */
export async function sessionLock(
  pool: pg.Pool,
  key: number,
  wait: boolean,
): Promise<SessionLock | undefined> {
  const c = await withPgRetry(() => pool.connect());
  // Between queries a client checked out of the pool has no listener: an 'error' would be uncaught.
  const lost = (): void => undefined;
  c.on('error', lost);
  const done = (destroy: boolean): void => {
    c.off('error', lost);
    c.release(destroy);
  };
  try {
    if (wait) await c.query('SELECT pg_advisory_lock($1)', [key]);
    else {
      const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      if (r.rows[0]?.ok !== true) {
        done(false);
        return undefined;
      }
    }
  } catch (e) {
    done(true);
    throw e;
  }
  return {
    release: async () => {
      try {
        await c.query('SELECT pg_advisory_unlock($1)', [key]);
        done(false);
      } catch {
        done(true); // the connection goes, and its session's lock with it
      }
    },
  };
}
