/**
 * Sign-in sessions of the web app: a random session id in an HttpOnly cookie stands for the
 * user token it was opened with, so the token itself never sits where page scripts can read
 * it. Sessions live in the server's memory only (a restart signs everyone out), end after
 * 12 hours without use, and end at once when their token is revoked (every use verifies the
 * token again).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TokenBook } from '../store/token-book.js';
import type { TokenInfo } from '../store/token-types.js';

/** The cookie's name. */
export const SESSION_COOKIE = 'periscope_session';

/**
 * The header every cookie-authenticated request other than GET must carry: a page of another
 * site cannot set it without a CORS preflight, which this server never grants (CSRF guard on
 * top of SameSite=Strict).
 */
export const CLIENT_HEADER = 'x-periscope-client';

/** How long an unused session lasts. */
export const SESSION_IDLE_MS = 12 * 3600_000;

/** Sessions kept at most; the least recently used goes first. */
const MAX_SESSIONS = 10_000;

interface Session {
  readonly token: string;
  lastUsed: number;
}

/** The sessions of one server. */
export class WebSessions {
  /** By SHA-256 of the session id (the id itself is not kept). */
  private readonly byHash = new Map<string, Session>();

  constructor(
    private readonly tokens: TokenBook,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session for a verified token; returns the session id for the cookie. */
  open(token: string): string {
    const id = randomBytes(32).toString('base64url');
    this.byHash.set(hash(id), { token, lastUsed: this.now() });
    while (this.byHash.size > MAX_SESSIONS) {
      const oldest = this.byHash.keys().next().value;
      if (oldest === undefined) break;
      this.byHash.delete(oldest);
    }
    return id;
  }

  /** The token of a live session (refreshing its idle time), or undefined. */
  tokenOf(id: string | undefined): TokenInfo | undefined {
    if (!id) return undefined;
    const key = hash(id);
    const s = this.byHash.get(key);
    if (!s) return undefined;
    const info = this.tokens.verify(s.token);
    if (!info || this.now() - s.lastUsed > SESSION_IDLE_MS) {
      this.byHash.delete(key);
      return undefined;
    }
    s.lastUsed = this.now();
    // Map order is the eviction order: most recently used last.
    this.byHash.delete(key);
    this.byHash.set(key, s);
    return info;
  }

  /** Ends a session (sign-out). */
  close(id: string | undefined): void {
    if (id) this.byHash.delete(hash(id));
  }
}

function hash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** The session id a request's cookie carries, if any. */
export function sessionCookie(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The Set-Cookie value that stores a session id (or, with '', removes it). */
export function setSessionCookie(req: IncomingMessage, id: string): string {
  const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
  const life = id === '' ? '; Max-Age=0' : '';
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure}${life}`;
}
