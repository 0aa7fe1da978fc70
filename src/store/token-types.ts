/**
 * What a token is: its role and the facts listed about it (never its secret). Plain data
 * without Node imports, so the API messages (and the web app) can use it.
 */

/** What a token allows: connecting as an agent, using the API, or also managing tokens. */
export type Role = 'agent' | 'user' | 'admin';

/** The roles, for validation and help texts. */
export const ROLES: readonly Role[] = ['agent', 'user', 'admin'];

/** A token as listed (never its secret). */
export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
  readonly revokedAt?: string;
  /** ISO time after which the token no longer works (absent: it does not expire). */
  readonly expiresAt?: string;
  /** The id of the token that replaced this one (`token rotate`). */
  readonly rotatedTo?: string;
  /**
   * The programs a user or admin token may see, as process selectors (`program=orders`); any
   * may match. Absent: every program. docs/security.md, "Permissions by program".
   */
  readonly programs?: readonly string[];
}

/** Whether a token is usable now: not revoked and not expired. */
export function tokenState(t: TokenInfo, now = Date.now()): 'active' | 'revoked' | 'expired' {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  return 'active';
}

/** Whether a string is a role. */
export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** Whether a token of role `have` may do what needs role `need` (admin ⊇ user; agent is separate). */
export function roleAllows(have: Role, need: Role): boolean {
  if (need === 'agent') return have === 'agent';
  if (need === 'user') return have === 'user' || have === 'admin';
  return have === 'admin';
}
