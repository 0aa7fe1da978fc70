/** Admin routes: list, create and revoke tokens (the CLI can do the same on the data directory). */
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { optString, readJson, sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import { isRole, ROLES } from './tokens.js';

/** GET/POST /v1/tokens, DELETE /v1/tokens/{id}. */
export function tokenRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/tokens',
      need: 'admin',
      handle: ({ res }) => sendJson(res, 200, { tokens: ctx.tokens.list() }),
    },
    {
      method: 'POST',
      path: '/v1/tokens',
      need: 'admin',
      handle: async ({ req, res }) => {
        const body = await readJson(req);
        const role = optString(body, 'role');
        if (!isRole(role))
          throw new HttpError(400, 'bad-request', `"role" must be one of ${ROLES.join(', ')}`);
        const name = optString(body, 'name');
        if (name !== undefined && name.length > 200)
          throw new HttpError(400, 'bad-request', '"name" is longer than 200 characters');
        const { token, info } = ctx.tokens.create(role, name);
        sendJson(res, 201, { ...info, token });
      },
    },
    {
      method: 'DELETE',
      path: '/v1/tokens/{id}',
      need: 'admin',
      handle: ({ res, params }) => sendJson(res, 200, ctx.tokens.revoke(params.id ?? '')),
    },
  ];
}
