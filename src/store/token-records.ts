/**
 * A token as stored (its facts and the hash of its secret) and what every token backend does
 * with records alike: making one, checking a presented token against them in constant time,
 * saying why a real token is refused, and rotating. The file (`tokens.ts`) and PostgreSQL
 * (`shared/pg-tokens.ts`) keep the same records, so roles, hashing and expiry cannot drift.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PeriscopeError } from '../common/errors.js';
import { isRole, ROLES, type Role, type TokenInfo, tokenState } from './token-types.js';

/** A token as kept: what is listed plus the hash of its secret. */
export interface TokenRecord extends TokenInfo {
  /** Hex SHA-256 of the secret part. */
  readonly hash: string;
}

const TOKEN_RE = /^psk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** An ISO time that must lie in the future (a token that expires at once is a mistake). */
export function futureTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t))
    throw new PeriscopeError(
      'bad-usage',
      `expiry "${iso}" is not a time; give an ISO time or a duration like 30d`,
    );
  if (t <= Date.now()) throw new PeriscopeError('bad-usage', `expiry ${iso} is not in the future`);
  return new Date(t).toISOString();
}

/** Refuses a role that is not one (the API and CLI check too; this guards every backend). */
export function checkRole(role: Role): void {
  if (!isRole(role))
    throw new PeriscopeError('bad-usage', `unknown role "${String(role)}"; use one of ${ROLES.join(', ')}`);
}

/** A new token and its record (the secret only in `token`). */
export function newRecord(
  role: Role,
  name: string | undefined,
  expiresAt: string | undefined,
  programs: readonly string[] | undefined,
): { token: string; record: TokenRecord } {
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

/** The record a presented token names and whether its secret matches (compared in constant time). */
function matching(records: readonly TokenRecord[], token: string): TokenRecord | undefined {
  const m = TOKEN_RE.exec(token);
  const hash = sha256(m?.[2] ?? token);
  const record = m ? records.find((r) => r.id === m[1]) : undefined;
  // Compare even when the id is unknown, so timing does not tell which ids exist.
  const expected = record ? Buffer.from(record.hash, 'hex') : sha256('');
  const equal = expected.length === hash.length && timingSafeEqual(expected, hash);
  return record && equal ? record : undefined;
}

/** The token's identity if it matches an active record, else undefined. */
export function verifyIn(records: readonly TokenRecord[], token: string | undefined): TokenInfo | undefined {
  if (!token) return undefined;
  const record = matching(records, token);
  if (!record || tokenState(record) !== 'active') return undefined;
  return publicInfo(record);
}

/** Why a real token (its secret matches) is refused: revoked, rotated or expired, and when. */
export function refusalIn(records: readonly TokenRecord[], token: string | undefined): string | undefined {
  if (!token || !TOKEN_RE.test(token)) return undefined;
  const record = matching(records, token);
  if (!record) return undefined;
  const state = tokenState(record);
  if (state === 'revoked')
    return `token ${record.id} (${record.name}) was ${record.rotatedTo ? `rotated (replaced by ${record.rotatedTo})` : 'revoked'} at ${record.revokedAt}`;
  if (state === 'expired')
    return `token ${record.id} (${record.name}) expired at ${record.expiresAt}${record.rotatedTo ? ` (rotated: replaced by ${record.rotatedTo})` : ''}`;
  return undefined;
}

/** The record with this id; not-found (with where to look) otherwise. */
export function findRecord(records: readonly TokenRecord[], id: string): TokenRecord {
  const found = records.find((r) => r.id === id);
  if (!found)
    throw new PeriscopeError('not-found', `no token with id "${id}"; \`periscope token list\` shows the ids`);
  return found;
}

/**
 * The new token replacing `found` (same role, name and programs) and what `found` becomes:
 * revoked at once, or, with `graceMs`, expiring after that long (never later than it would have).
 */
export function rotatedRecords(
  found: TokenRecord,
  opts: { expiresAt?: string; graceMs?: number },
): { token: string; record: TokenRecord; old: TokenRecord } {
  const expiresAt = opts.expiresAt === undefined ? undefined : futureTime(opts.expiresAt);
  if (tokenState(found) !== 'active')
    throw new PeriscopeError(
      'bad-usage',
      `token ${found.id} is ${tokenState(found)}; rotate an active token, or create a new one with \`periscope token create\``,
    );
  const { token, record } = newRecord(found.role, found.name, expiresAt, found.programs);
  const now = Date.now();
  const graceEnd = opts.graceMs && opts.graceMs > 0 ? new Date(now + opts.graceMs).toISOString() : undefined;
  const keepUntil = graceEnd && found.expiresAt && found.expiresAt < graceEnd ? found.expiresAt : graceEnd;
  const old: TokenRecord = keepUntil
    ? { ...found, expiresAt: keepUntil, rotatedTo: record.id }
    : { ...found, revokedAt: new Date(now).toISOString(), rotatedTo: record.id };
  return { token, record, old };
}

/** `found` with its programs set (selectors the caller has checked) or the limit lifted. */
export function withPrograms(found: TokenRecord, programs: readonly string[] | undefined): TokenRecord {
  const { programs: _old, ...rest } = found;
  return programs ? { ...rest, programs: [...programs] } : rest;
}

/** A record as listed: never its hash. */
export function publicInfo(r: TokenRecord): TokenInfo {
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
