/** The web app's sign-in: a user token given once opens a session kept in an HttpOnly cookie. */
import type { SessionResponse, SignedOutResponse } from '../api/responses.js';
import type { TokenInfo } from '../store/token-types.js';
import { HttpError } from './http-errors.js';
import { sendJson } from './http-io.js';
import { bearer, type Route } from './http-router.js';
import { SESSION_IDLE_MS, sessionCookie, setSessionCookie, type WebSessions } from './web-sessions.js';

function who(token: TokenInfo | undefined, via: SessionResponse['via']): SessionResponse {
  if (!token) throw new HttpError(401, 'unauthorized', 'sign in with a user token');
  return {
    name: token.name,
    role: token.role,
    tokenId: token.id,
    via,
    idleMinutes: SESSION_IDLE_MS / 60_000,
  };
}

/** POST/GET/DELETE /v1/session. */
export function sessionRoutes(sessions: WebSessions): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/session',
      need: 'user',
      handle: ({ req, res, token }) => {
        const given = bearer(req);
        if (!given)
          throw new HttpError(
            400,
            'bad-request',
            'send the user token as `Authorization: Bearer TOKEN` to sign in',
          );
        sessions.close(sessionCookie(req));
        res.setHeader('set-cookie', setSessionCookie(req, sessions.open(given)));
        sendJson(res, 200, who(token, 'cookie'));
      },
    },
    {
      method: 'GET',
      path: '/v1/session',
      need: 'user',
      handle: ({ req, res, token }) => sendJson(res, 200, who(token, bearer(req) ? 'bearer' : 'cookie')),
    },
    {
      method: 'DELETE',
      path: '/v1/session',
      need: 'public',
      handle: ({ req, res }) => {
        sessions.close(sessionCookie(req));
        res.setHeader('set-cookie', setSessionCookie(req, ''));
        sendJson(res, 200, { signedOut: true } satisfies SignedOutResponse);
      },
    },
  ];
}
