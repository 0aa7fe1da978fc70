/**
 * Tokens: who may talk to the server. Agent tokens let an agent connect to `/v1/agent`; user
 * tokens read data, take snapshots and edit the spec; admin tokens also manage tokens. Only a
 * SHA-256 of each token's secret is kept, in `tokens.json` of the data directory (mode 0600);
 * the token itself is shown once, when created. Verification compares in constant time.
 *
 * The file is re-read when it changes on disk, so `periscope token revoke` on the server's
 * machine takes effect without a restart.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeriscopeError } from '../common/errors.js';
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
} from './token-records.js';
import { isRole, type Role, type TokenInfo, tokenState } from './token-types.js';

interface TokenFile {
  readonly version: 1;
  readonly tokens: TokenRecord[];
}

/** The file that holds the hashed tokens inside a data directory. */
export const TOKENS_FILE = 'tokens.json';

/** The hashed tokens of one data directory. */
export class TokenStore {
  readonly path: string;
  private records: TokenRecord[] = [];
  private stamp = '';

  /** Reads the tokens of a data directory; the directory is created only when a token is saved. */
  constructor(readonly dataDir: string) {
    this.path = join(dataDir, TOKENS_FILE);
    this.reload();
  }

  /**
   * Creates a token; the returned `token` string is the only time the secret exists in clear.
   * With `expiresAt` (ISO, in the future) it stops working then; with `programs` (selectors the
   * caller has checked) it sees only those programs' processes.
   */
  create(
    role: Role,
    name?: string,
    opts: { expiresAt?: string; programs?: readonly string[] } = {},
  ): { token: string; info: TokenInfo } {
    checkRole(role);
    const expiresAt = opts.expiresAt === undefined ? undefined : futureTime(opts.expiresAt);
    this.reload();
    const { token, record } = newRecord(role, name, expiresAt, opts.programs);
    this.records.push(record);
    this.save();
    return { token, info: publicInfo(record) };
  }

  /**
   * Replaces a token by a new one with the same role and name (and `expiresAt`, if given).
   * The old one is revoked at once, or, with `graceMs`, expires after that long so that what
   * uses it can be switched over without an outage.
   */
  rotate(
    id: string,
    opts: { expiresAt?: string; graceMs?: number } = {},
  ): { token: string; info: TokenInfo; old: TokenInfo } {
    const { i, found } = this.find(id);
    const { token, record, old } = rotatedRecords(found, opts);
    this.records[i] = old;
    this.records.push(record);
    this.save();
    return { token, info: publicInfo(record), old: publicInfo(old) };
  }

  /** The stored records, hashes included: what `periscope store migrate` copies. */
  storedRecords(): readonly TokenRecord[] {
    this.reload();
    return [...this.records];
  }

  /** Every token ever created (revoked ones too, marked), oldest first. */
  list(): TokenInfo[] {
    this.reload();
    return this.records.map(publicInfo);
  }

  /** Revokes a token by id; it stops working at once (the server re-reads the file). */
  revoke(id: string): TokenInfo {
    const { i, found } = this.find(id);
    if (found.revokedAt) return publicInfo(found);
    const revoked = { ...found, revokedAt: new Date().toISOString() };
    this.records[i] = revoked;
    this.save();
    return publicInfo(revoked);
  }

  /**
   * Sets the programs a token may see (selectors the caller has checked), or lifts the limit
   * (undefined); a running server uses the new value from its next request.
   */
  setPrograms(id: string, programs: readonly string[] | undefined): TokenInfo {
    const { i, found } = this.find(id);
    const changed = withPrograms(found, programs);
    this.records[i] = changed;
    this.save();
    return publicInfo(changed);
  }

  /** Whether at least one token that is not revoked has this role. */
  hasActive(role: Role): boolean {
    this.reload();
    return this.records.some((r) => r.role === role && tokenState(r) === 'active');
  }

  /** The token's identity if it is valid and not revoked, else undefined. */
  verify(token: string | undefined): TokenInfo | undefined {
    if (!token) return undefined;
    this.reload();
    return verifyIn(this.records, token);
  }

  /** Why a token that `verify` refuses is refused, when it is a real token: revoked or expired (and when). */
  refusal(token: string | undefined): string | undefined {
    this.reload();
    return refusalIn(this.records, token);
  }

  /** Reads the file again and finds a token by id: its index and record; not-found otherwise. */
  private find(id: string): { i: number; found: TokenRecord } {
    this.reload();
    const found = findRecord(this.records, id);
    return { i: this.records.indexOf(found), found };
  }

  private reload(): void {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      this.records = [];
      this.stamp = '';
      return;
    }
    if (stamp === this.stamp) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (e) {
      throw new PeriscopeError(
        'corrupt',
        `${this.path} is not valid JSON (${(e as Error).message}); restore it from a backup or move it away to start without tokens`,
      );
    }
    const tokens = (parsed as Partial<TokenFile> | null)?.tokens;
    if (!Array.isArray(tokens))
      throw new PeriscopeError('corrupt', `${this.path} has no "tokens" list; restore it or move it away`);
    this.records = tokens.filter(
      (r): r is TokenRecord =>
        typeof r === 'object' &&
        r !== null &&
        typeof r.id === 'string' &&
        typeof r.hash === 'string' &&
        isRole(r.role),
    );
    this.stamp = stamp;
  }

  private save(): void {
    mkdirSync(this.dataDir, { recursive: true });
    const body: TokenFile = { version: 1, tokens: this.records };
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
    this.stamp = '';
    this.reload();
  }
}
