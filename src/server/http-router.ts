/**
 * The route table of the JSON API and its dispatcher: match method and path (`{name}`
 * segments become params), authenticate the bearer token, check the role, run the handler,
 * and turn every error into a JSON error response. The table is also what the OpenAPI
 * document is checked against.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenBook } from '../store/token-book.js';
import { type Role, roleAllows, type TokenInfo } from '../store/token-types.js';
import { HttpError, toHttpError } from './http-errors.js';
import { sendError } from './http-io.js';
import { CLIENT_HEADER, sessionCookie, type WebSessions } from './web-sessions.js';

/** HTTP methods the API uses. */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a route needs: no token, or a token whose role allows this role's actions. */
export type Need = 'public' | Role;

/** What a handler gets. */
export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  /** The caller's token (undefined on public routes). */
  readonly token: TokenInfo | undefined;
}

/** One API route. */
export interface Route {
  readonly method: Method;
  /** OpenAPI-style path, e.g. `/v1/snapshots/{id}`. */
  readonly path: string;
  readonly need: Need;
  handle(ctx: RouteContext): Promise<void> | void;
}

interface Compiled {
  readonly route: Route;
  readonly re: RegExp;
  readonly names: string[];
}

/** The bearer token of a request (from `Authorization: Bearer …`). */
export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * Checks a request's token against a need; throws 401/403 with what to do. The token is the
 * bearer token, else (when `sessions` is given) the web app's session cookie; a request other
 * than GET authenticated by the cookie must carry the client header (CSRF guard).
 */
export function authorize(
  tokens: TokenBook,
  req: IncomingMessage,
  need: Need,
  sessions?: WebSessions,
): TokenInfo | undefined {
  if (need === 'public') return undefined;
  const given = bearer(req);
  const cookie = given === undefined && sessions ? sessionCookie(req) : undefined;
  const token = cookie !== undefined ? sessions?.tokenOf(cookie) : tokens.verify(given);
  if (!token)
    throw new HttpError(
      401,
      'unauthorized',
      cookie !== undefined
        ? 'the session has ended (signed out, unused for 12 hours, its token revoked, or the server restarted); sign in again'
        : given
          ? tokens.refusal(given)
            ? `${tokens.refusal(given)}; use its replacement, or create one with \`periscope token create\``
            : 'the token is not valid (unknown, mistyped or revoked); create one with `periscope token create`'
          : 'no token; send `Authorization: Bearer TOKEN` (the CLI takes --token or $PERISCOPE_TOKEN)',
    );
  if (cookie !== undefined && req.method !== 'GET' && req.method !== 'HEAD' && !req.headers[CLIENT_HEADER])
    throw new HttpError(
      403,
      'forbidden',
      `a request signed in by the session cookie must carry the ${CLIENT_HEADER} header (the web app sends it)`,
    );
  if (!roleAllows(token.role, need)) {
    const wanted =
      need === 'admin' ? 'an admin token' : need === 'user' ? 'a user or admin token' : 'an agent token';
    throw new HttpError(
      403,
      'forbidden',
      `this is ${article(token.role)} ${token.role} token; this needs ${wanted}`,
    );
  }
  return token;
}

function article(role: Role): string {
  return role === 'agent' || role === 'admin' ? 'an' : 'a';
}

/** Dispatches requests to routes. */
export class Router {
  private readonly compiled: Compiled[];

  constructor(
    readonly routes: readonly Route[],
    private readonly tokens: TokenBook,
    private readonly sessions?: WebSessions,
    /** Told of each request refused for its token's role (403), for the audit log. */
    private readonly onDenied?: (
      req: IncomingMessage,
      token: TokenInfo | undefined,
      path: string,
      message: string,
    ) => void,
  ) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const pattern = route.path
        .split('/')
        .map((seg) => {
          const m = /^\{(\w+)\}$/.exec(seg);
          if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(m[1] ?? '');
          return '([^/]+)';
        })
        .join('/');
      return { route, re: new RegExp(`^${pattern}$`), names };
    });
  }

  /** The path template of the route a path goes to (for metrics); undefined for none. */
  routeOf(pathname: string): string | undefined {
    return this.compiled.find((c) => c.re.test(pathname))?.route.path;
  }

  /** Handles a request under /v1; false when no route has this path (the caller serves static files). */
  async dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const byPath = this.compiled.filter((c) => c.re.test(url.pathname));
    if (byPath.length === 0) return false;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const hit = byPath.find((c) => c.route.method === method);
    try {
      if (!hit) {
        res.setHeader('allow', byPath.map((c) => c.route.method).join(', '));
        throw new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`);
      }
      const m = hit.re.exec(url.pathname);
      const params: Record<string, string> = {};
      hit.names.forEach((n, i) => {
        params[n] = safeDecode(m?.[i + 1] ?? '');
      });
      const token = authorize(this.tokens, req, hit.route.need, this.sessions);
      await hit.route.handle({ req, res, url, params, token });
    } catch (e) {
      const err = toHttpError(e);
      if (err.status === 403 && this.onDenied)
        this.onDenied(
          req,
          this.tokens.verify(bearer(req)) ?? this.sessions?.tokenOf(sessionCookie(req)),
          url.pathname,
          err.message,
        );
      if (err.status === 500) console.error(`periscope server: ${req.method} ${url.pathname}:`, e);
      if (err.status === 401) res.setHeader('www-authenticate', 'Bearer');
      sendError(res, err);
    }
    return true;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'bad-request', `malformed percent-encoding in "${s}"`);
  }
}
