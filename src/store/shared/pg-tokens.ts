/**
 * The API tokens of a scaled-out Periscope, in `periscope.tokens`: the same records as a data
 * directory's tokens.json (token-records.ts: role, SHA-256 of the secret, expiry, revocation,
 * rotation, programs). Every server checks tokens against a copy in memory (a check is
 * synchronous and made on every request); the copy is read again when `meta.tokens_changed`,
 * bumped in the same transaction as every change, differs from the one it was read at, which
 * each server looks at every second. So a token created or revoked through one server takes
 * effect on every other within about a second (docs/security.md). While PostgreSQL cannot be
 * reached, the last copy read keeps being used.
 */
import type pg from 'pg';
import type { FirstTokens, TokenBook } from '../token-book.js';
import {
  checkRole,
  findRecord,
  futureTime,
  newRecord,
  publicInfo,
  refusalIn,
  rotatedRecords,
  type TokenRecord,
  verifyIn,
  withPrograms,
} from '../token-records.js';
import { isRole, type Role, type TokenInfo } from '../token-types.js';
import { inPgTransaction, withPgRetry } from './pg-schema.js';

/** How often each server looks for token changes made elsewhere: the bound on a revocation's delay. */
export const TOKEN_REFRESH_MS = 1000;

interface TokenRow {
  token_id: string;
  name: string;
  role: string;
  hash: string;
  created_at: Date;
  revoked_at: Date | null;
  expires_at: Date | null;
  rotated_to: string | null;
  programs: unknown;
}

const COLUMNS = 'token_id, name, role, hash, created_at, revoked_at, expires_at, rotated_to, programs';

function recordOf(r: TokenRow): TokenRecord | undefined {
  if (!isRole(r.role)) return undefined;
  return {
    id: r.token_id,
    name: r.name,
    role: r.role,
    createdAt: r.created_at.toISOString(),
    hash: r.hash,
    ...(r.revoked_at ? { revokedAt: r.revoked_at.toISOString() } : {}),
    ...(r.expires_at ? { expiresAt: r.expires_at.toISOString() } : {}),
    ...(r.rotated_to ? { rotatedTo: r.rotated_to } : {}),
    ...(Array.isArray(r.programs) ? { programs: r.programs.map(String) } : {}),
  };
}

function valuesOf(r: TokenRecord): unknown[] {
  return [
    r.id,
    r.name,
    r.role,
    r.hash,
    r.createdAt,
    r.revokedAt ?? null,
    r.expiresAt ?? null,
    r.rotatedTo ?? null,
    r.programs ? JSON.stringify(r.programs) : null,
  ];
}

/** Writes records (new or changed, by id) in a transaction's client. */
export async function upsertTokens(c: pg.PoolClient, records: readonly TokenRecord[]): Promise<void> {
  for (const r of records)
    await c.query(
      `INSERT INTO periscope.tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (token_id) DO UPDATE SET name = $2, role = $3, hash = $4, created_at = $5,
         revoked_at = $6, expires_at = $7, rotated_to = $8, programs = $9`,
      valuesOf(r),
    );
  await c.query(
    `INSERT INTO periscope.meta VALUES ('tokens_changed', '1') ON CONFLICT (key)
     DO UPDATE SET value = (periscope.meta.value::bigint + 1)::text`,
  );
}

/** Every token record in PostgreSQL, oldest first. */
export async function readTokens(q: pg.Pool | pg.PoolClient): Promise<TokenRecord[]> {
  const r = await q.query<TokenRow>(`SELECT ${COLUMNS} FROM periscope.tokens ORDER BY created_at, token_id`);
  return r.rows.flatMap((row) => recordOf(row) ?? []);
}

/** The tokens in the scaled-out store's PostgreSQL, checked from a copy refreshed every second. */
export class PgTokens implements TokenBook {
  private records: TokenRecord[] = [];
  private seen: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly onError: (e: Error) => void,
    private readonly ownsPool: boolean,
  ) {}

  /**
   * Reads the tokens and starts looking for changes every TOKEN_REFRESH_MS; `onError` hears a
   * failed look (the copy in memory stays). With `ownsPool`, `close` ends the pool too.
   */
  static async open(
    pool: pg.Pool,
    location: string,
    onError: (e: Error) => void,
    opts: { ownsPool?: boolean } = {},
  ): Promise<PgTokens> {
    const t = new PgTokens(pool, location, onError, opts.ownsPool ?? false);
    await withPgRetry(() => t.refresh(true));
    t.timer = setInterval(() => {
      t.refresh(false).catch((e: Error) => t.onError(e));
    }, TOKEN_REFRESH_MS);
    t.timer.unref();
    return t;
  }

  /**
   * Reads the records again when the change counter moved (or always, with `force`). Reads run
   * one after another, so an older read never replaces a newer one; a timer tick while one is
   * pending adds nothing.
   */
  refresh(force: boolean): Promise<void> {
    if (!force && this.pending > 0) return this.chain;
    this.pending++;
    const run = this.chain.then(async () => {
      try {
        await this.read(force);
      } finally {
        this.pending--;
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async read(force: boolean): Promise<void> {
    const v = await this.pool.query<{ value: string }>(
      "SELECT value FROM periscope.meta WHERE key = 'tokens_changed'",
    );
    const seen = v.rows[0]?.value ?? '0';
    if (!force && seen === this.seen) return;
    // Read after the counter: the rows are at least as new as what `seen` counts.
    this.records = await readTokens(this.pool);
    this.seen = seen;
  }

  verify(token: string | undefined): TokenInfo | undefined {
    return verifyIn(this.records, token);
  }

  refusal(token: string | undefined): string | undefined {
    return refusalIn(this.records, token);
  }

  list(): TokenInfo[] {
    return this.records.map(publicInfo);
  }

  async create(
    role: Role,
    name?: string,
    opts: { expiresAt?: string; programs?: readonly string[] } = {},
  ): Promise<{ token: string; info: TokenInfo }> {
    checkRole(role);
    const expiresAt = opts.expiresAt === undefined ? undefined : futureTime(opts.expiresAt);
    const { token, record } = newRecord(role, name, expiresAt, opts.programs);
    await this.write(async (c) => upsertTokens(c, [record]));
    return { token, info: publicInfo(record) };
  }

  async rotate(
    id: string,
    opts: { expiresAt?: string; graceMs?: number } = {},
  ): Promise<{ token: string; info: TokenInfo; old: TokenInfo }> {
    return this.write(async (c) => {
      const { token, record, old } = rotatedRecords(await this.locked(c, id), opts);
      await upsertTokens(c, [old, record]);
      return { token, info: publicInfo(record), old: publicInfo(old) };
    });
  }

  async revoke(id: string): Promise<TokenInfo> {
    return this.write(async (c) => {
      const found = await this.locked(c, id);
      if (found.revokedAt) return publicInfo(found);
      const revoked = { ...found, revokedAt: new Date().toISOString() };
      await upsertTokens(c, [revoked]);
      return publicInfo(revoked);
    });
  }

  async setPrograms(id: string, programs: readonly string[] | undefined): Promise<TokenInfo> {
    return this.write(async (c) => {
      const changed = withPrograms(await this.locked(c, id), programs);
      await upsertTokens(c, [changed]);
      return publicInfo(changed);
    });
  }

  async createFirst(): Promise<FirstTokens | undefined> {
    // Servers starting together: the table lock lets exactly one of them create the first tokens.
    return this.write(async (c) => {
      await c.query('LOCK TABLE periscope.tokens IN EXCLUSIVE MODE');
      const n = await c.query<{ n: string }>('SELECT count(*) AS n FROM periscope.tokens');
      if (Number(n.rows[0]?.n) > 0) return undefined;
      const admin = newRecord('admin', 'first-admin', undefined, undefined);
      const agent = newRecord('agent', 'first-agent', undefined, undefined);
      await upsertTokens(c, [admin.record, agent.record]);
      return { admin: admin.token, agent: agent.token };
    });
  }

  close(): void {
    clearInterval(this.timer);
    if (this.ownsPool) void this.chain.then(() => this.pool.end()).catch(() => undefined);
  }

  /** The record of `id` as PostgreSQL has it now, locked until the transaction ends. */
  private async locked(c: pg.PoolClient, id: string): Promise<TokenRecord> {
    const r = await c.query<TokenRow>(
      `SELECT ${COLUMNS} FROM periscope.tokens WHERE token_id = $1 FOR UPDATE`,
      [id],
    );
    const row = r.rows[0];
    return findRecord(row ? [recordOf(row)].flatMap((x) => x ?? []) : [], id);
  }

  /** Runs a change in a transaction, then reads the records so this server sees it at once. */
  private async write<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const out = await inPgTransaction(this.pool, fn);
    await this.refresh(true);
    return out;
  }
}
