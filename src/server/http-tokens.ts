/** Admin routes: list, create and revoke tokens (the CLI can do the same on the data directory). */
import { parseProgramsRequest, parseRotateRequest, parseTokenRequest } from '../api/requests.js';
import type { CreatedToken, RotatedToken, TokenInfo, TokensResponse } from '../api/responses.js';
import { audit } from './audit.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { readJson, sendJson } from './http-io.js';
import type { Route } from './http-router.js';

/** GET/POST /v1/tokens, POST /v1/tokens/{id}/rotate, PUT /v1/tokens/{id}/programs, DELETE /v1/tokens/{id}. */
export function tokenRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/tokens',
      need: 'admin',
      handle: ({ res }) => sendJson(res, 200, { tokens: ctx.tokens.list() } satisfies TokensResponse),
    },
    {
      method: 'POST',
      path: '/v1/tokens',
      need: 'admin',
      handle: async ({ req, res, token: caller }) => {
        const { role, name, expiresAt, programs } = parseTokenRequest(await readJson(req));
        const { token, info } = await ctx.tokens.create(role, name, {
          ...(expiresAt ? { expiresAt } : {}),
          ...(programs ? { programs } : {}),
        });
        audit(ctx, { req, token: caller }, 'token.create', 'ok', {
          id: info.id,
          name: info.name,
          role,
          ...(expiresAt ? { expiresAt } : {}),
          ...(programs ? { programs } : {}),
        });
        sendJson(res, 201, { ...info, token } satisfies CreatedToken);
      },
    },
    {
      method: 'POST',
      path: '/v1/tokens/{id}/rotate',
      need: 'admin',
      handle: async ({ req, res, params, token: caller }) => {
        const ask = parseRotateRequest(await readJson(req));
        const { token, info, old } = await ctx.tokens.rotate(params.id ?? '', {
          ...(ask.expiresAt ? { expiresAt: ask.expiresAt } : {}),
          ...(ask.graceSeconds ? { graceMs: ask.graceSeconds * 1000 } : {}),
        });
        audit(ctx, { req, token: caller }, 'token.rotate', 'ok', {
          id: old.id,
          newId: info.id,
          name: info.name,
          role: info.role,
          ...(old.expiresAt && !old.revokedAt ? { oldWorksUntil: old.expiresAt } : {}),
        });
        sendJson(res, 201, { ...info, token, replaced: old } satisfies RotatedToken);
      },
    },
    {
      method: 'PUT',
      path: '/v1/tokens/{id}/programs',
      need: 'admin',
      handle: async ({ req, res, params, token: caller }) => {
        const id = params.id ?? '';
        const found = ctx.tokens.list().find((t) => t.id === id);
        if (!found)
          throw new HttpError(404, 'not-found', `no token with id "${id}"; GET /v1/tokens lists them`);
        const { programs } = parseProgramsRequest(await readJson(req), found.role);
        const info = await ctx.tokens.setPrograms(id, programs ?? undefined);
        audit(ctx, { req, token: caller }, 'token.programs', 'ok', {
          id: info.id,
          name: info.name,
          role: info.role,
          programs: programs ?? 'all',
        });
        sendJson(res, 200, info satisfies TokenInfo);
      },
    },
    {
      method: 'DELETE',
      path: '/v1/tokens/{id}',
      need: 'admin',
      handle: async ({ req, res, params, token }) => {
        const info = await ctx.tokens.revoke(params.id ?? '');
        audit(ctx, { req, token }, 'token.revoke', 'ok', { id: info.id, name: info.name, role: info.role });
        sendJson(res, 200, info satisfies TokenInfo);
      },
    },
  ];
}
