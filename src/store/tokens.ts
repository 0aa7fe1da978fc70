/**
 * Tokens: who may talk to the server. Agent tokens let an agent connect to `/v1/agent`; user
 * tokens read data, take snapshots and edit the spec; admin tokens also manage tokens. Only a
 * SHA-256 of each token's secret is kept, in `tokens.json` of the data directory (mode 0600);
 * the token itself is shown once, when created. Verification compares in constant time.
 *
 * The file is re-read when it changes on disk, so `periscope token revoke` on the server's
 * machine takes effect without a restart.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeriscopeError } from '../common/errors.js';
import { isRole, ROLES, type Role, type TokenInfo, tokenState } from './token-types.js';

interface TokenRecord extends TokenInfo {
  /** Hex SHA-256 of the secret part. */
  readonly hash: string;
}

interface TokenFile {
  readonly version: 1;
  readonly tokens: TokenRecord[];
}

/** The file that holds the hashed tokens inside a data directory. */
export const TOKENS_FILE = 'tokens.json';

const TOKEN_RE = /^psk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** An ISO time that must lie in the future (a token that expires at once is a mistake). */
function futureTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t))
    throw new PeriscopeError(
      'bad-usage',
      `expiry "${iso}" is not a time; give an ISO time or a duration like 30d`,
    );
  if (t <= Date.now()) throw new PeriscopeError('bad-usage', `expiry ${iso} is not in the future`);
  return new Date(t).toISOString();
}

/** A new token and its record (the secret only in `token`). */
function newRecord(
  role: Role,
  name: string | undefined,
  expiresAt: string | undefined,
  programs: readonly string[] | undefined,
) {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const record: TokenRecord = {
    id,
    name: name?.trim() || `${role}-${id.slice(0, 4)}`,
    role,
    createdAt: new Date().toISOString(),
    ...(expiresAt ? { expiresAt } : {}),
    ...(programs ? { programs: [...programs] } : {}),
    hash: sha256(secret).toString('hex'),
  };
  return { token: `psk_${id}_${secret}`, record };
}

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
    if (!isRole(role))
      throw new PeriscopeError('bad-usage', `unknown role "${String(role)}"; use one of ${ROLES.join(', ')}`);
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
    const expiresAt = opts.expiresAt === undefined ? undefined : futureTime(opts.expiresAt);
    const { i, found } = this.find(id);
    if (tokenState(found) !== 'active')
      throw new PeriscopeError(
        'bad-usage',
        `token ${id} is ${tokenState(found)}; rotate an active token, or create a new one with \`periscope token create\``,
      );
    const { token, record } = newRecord(found.role, found.name, expiresAt, found.programs);
    const now = Date.now();
    const graceEnd =
      opts.graceMs && opts.graceMs > 0 ? new Date(now + opts.graceMs).toISOString() : undefined;
    const keepUntil = graceEnd && found.expiresAt && found.expiresAt < graceEnd ? found.expiresAt : graceEnd;
    const old: TokenRecord = keepUntil
      ? { ...found, expiresAt: keepUntil, rotatedTo: record.id }
      : { ...found, revokedAt: new Date(now).toISOString(), rotatedTo: record.id };
    this.records[i] = old;
    this.records.push(record);
    this.save();
    return { token, info: publicInfo(record), old: publicInfo(old) };
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
    const { programs: _old, ...rest } = found;
    const changed: TokenRecord = programs ? { ...rest, programs: [...programs] } : rest;
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
    const m = TOKEN_RE.exec(token);
    const hash = sha256(m?.[2] ?? token);
    this.reload();
    const record = m ? this.records.find((r) => r.id === m[1]) : undefined;
    // Compare even when the id is unknown, so timing does not tell which ids exist.
    const expected = record ? Buffer.from(record.hash, 'hex') : sha256('');
    const equal = expected.length === hash.length && timingSafeEqual(expected, hash);
    if (!record || !equal || tokenState(record) !== 'active') return undefined;
    return publicInfo(record);
  }

  /** Why a token that `verify` refuses is refused, when it is a real token: revoked or expired (and when). */
  refusal(token: string | undefined): string | undefined {
    const m = token ? TOKEN_RE.exec(token) : null;
    if (!m) return undefined;
    this.reload();
    const record = this.records.find((r) => r.id === m[1]);
    if (!record) return undefined;
    const hash = sha256(m[2] ?? '');
    const expected = Buffer.from(record.hash, 'hex');
    if (expected.length !== hash.length || !timingSafeEqual(expected, hash)) return undefined;
    const state = tokenState(record);
    if (state === 'revoked')
      return `token ${record.id} (${record.name}) was ${record.rotatedTo ? `rotated (replaced by ${record.rotatedTo})` : 'revoked'} at ${record.revokedAt}`;
    if (state === 'expired')
      return `token ${record.id} (${record.name}) expired at ${record.expiresAt}${record.rotatedTo ? ` (rotated: replaced by ${record.rotatedTo})` : ''}`;
    return undefined;
  }

  /** Reads the file again and finds a token by id: its index and record; not-found otherwise. */
  private find(id: string): { i: number; found: TokenRecord } {
    this.reload();
    const i = this.records.findIndex((r) => r.id === id);
    const found = this.records[i];
    if (!found)
      throw new PeriscopeError(
        'not-found',
        `no token with id "${id}"; \`periscope token list\` shows the ids`,
      );
    return { i, found };
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

function publicInfo(r: TokenRecord): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: r.createdAt,
    ...(r.revokedAt ? { revokedAt: r.revokedAt } : {}),
    ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}),
    ...(r.rotatedTo ? { rotatedTo: r.rotatedTo } : {}),
    ...(Array.isArray(r.programs) ? { programs: r.programs.map(String) } : {}),
  };
}
