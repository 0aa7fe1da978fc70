/**
 * Routes of standing investigations: add (checked, owned by the token's name), list, show
 * (with firings and what no longer resolves), close (its owner or an admin). Every change is
 * audited. Investigations act fleet-wide, so a token limited to programs may not use them.
 */
import type { InvestigationsResponse } from '../api/investigation-views.js';
import { investigationRef } from '../api/investigations.js';
import type { TokenInfo } from '../store/token-types.js';
import { audit, failure } from './audit.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { readJson, sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import type { Investigations } from './investigations/investigations.js';

function fleetWide(token: TokenInfo | undefined): void {
  if (token?.programs)
    throw new HttpError(
      403,
      'forbidden',
      `investigations act on the whole fleet; this token may use only ${token.programs.join('; ')}: use a token without a program limit`,
    );
}

/** POST/GET /v1/investigations, GET /v1/investigations/{ref}, POST /v1/investigations/{ref}/close. */
export function investigationRoutes(ctx: ServerContext, investigations: Investigations): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/investigations',
      need: 'user',
      handle: async ({ req, res, token }) => {
        fleetWide(token);
        const body = await readJson(req);
        try {
          const view = await investigations.add(
            body as unknown as Parameters<Investigations['add']>[0],
            token?.name ?? '',
          );
          audit(ctx, { req, token }, 'investigation.add', 'ok', {
            id: view.id,
            name: view.name,
            definition: view.definition,
          });
          sendJson(res, 201, view);
        } catch (e) {
          audit(ctx, { req, token }, 'investigation.add', 'refused', {
            name: typeof body.name === 'string' ? body.name.slice(0, 200) : '',
            ...failure(e),
          });
          throw e;
        }
      },
    },
    {
      method: 'GET',
      path: '/v1/investigations',
      need: 'user',
      handle: ({ res, url, token }) => {
        fleetWide(token);
        const closed = url.searchParams.get('closed') === 'true';
        const body: InvestigationsResponse = { investigations: investigations.list(closed) };
        sendJson(res, 200, body);
      },
    },
    {
      method: 'GET',
      path: '/v1/investigations/{ref}',
      need: 'user',
      handle: async ({ res, params, token }) => {
        fleetWide(token);
        sendJson(res, 200, await investigations.show(investigationRef(params.ref)));
      },
    },
    {
      method: 'POST',
      path: '/v1/investigations/{ref}/close',
      need: 'user',
      handle: async ({ req, res, params, token }) => {
        fleetWide(token);
        const ref = investigationRef(params.ref);
        try {
          const view = await investigations.close(ref, token?.name ?? '', token?.role === 'admin');
          audit(ctx, { req, token }, 'investigation.close', 'ok', { id: view.id, name: view.name });
          sendJson(res, 200, view);
        } catch (e) {
          audit(ctx, { req, token }, 'investigation.close', 'refused', { ref: params.ref, ...failure(e) });
          throw e;
        }
      },
    },
  ];
}
