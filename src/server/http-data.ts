/** Routes over stored data: SQL queries (JSON or CSV) and the versioned spec. */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  type ParsedSpecRequest,
  parseLinksParams,
  parseQueryRequest,
  parseSpecRequest,
  parseSpecVersionParam,
} from '../api/requests.js';
import {
  PARTIAL_SNAPSHOT_HEADER,
  partialSnapshotHeader,
  type QueryResponse,
  type SpecCheckResponse,
  type SpecRefusedResponse,
  type SpecSetResponse,
  type SpecVersionsResponse,
} from '../api/responses.js';
import { PeriscopeError } from '../common/errors.js';
import { auditText } from '../store/audit-log.js';
import { resultPieces } from '../store/result-format.js';
import type { QueryResult } from '../store/store.js';
import { audit, failure } from './audit.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { readBody, readJson, sendJson, streamJson, streamText } from './http-io.js';
import type { Route } from './http-router.js';
import { partialSnapshot } from './partial-snapshot.js';
import { tokenFilter } from './program-scope.js';
import { checkMessage, checkSpecText, updateSpec } from './spec-update.js';

/** A PUT /v1/spec request: the YAML (JSON `yaml`, or the body), the file name and force (JSON or query). */
async function specRequest(req: IncomingMessage, url: URL): Promise<ParsedSpecRequest> {
  const type = String(req.headers['content-type'] ?? '');
  const body = type.includes('json') ? { json: await readJson(req) } : { yaml: await readBody(req) };
  return parseSpecRequest(body, url.searchParams);
}

/** A token limited to some programs may not change or check the spec: it applies to every program. */
function refuseLimitedSpecEdit(token: Parameters<typeof tokenFilter>[0]): void {
  if (tokenFilter(token))
    throw new HttpError(
      403,
      'forbidden',
      'this token is limited to some programs and the spec applies to every program; ask someone with an unlimited token to change it',
    );
}

/** POST /v1/query and the /v1/spec routes. */
export function dataRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/query',
      need: 'user',
      handle: async ({ req, res, url, token }) => {
        const ask = parseQueryRequest(await readJson(req), url.searchParams.get('format'));
        const asked = { sql: auditText(ask.sql), scope: ask.scope };
        const only = tokenFilter(token);
        let result: QueryResult;
        try {
          result = await ctx.store.query(ask.sql, ask.scope, only);
        } catch (e) {
          audit(ctx, { req, token }, 'query', 'error', { ...asked, ...failure(e) });
          if (e instanceof PeriscopeError || e instanceof HttpError) throw e;
          throw new HttpError(400, 'bad-query', (e as Error).message ?? String(e));
        }
        audit(ctx, { req, token }, 'query', 'ok', {
          ...asked,
          rowCount: result.rows.length,
          snapshotIds: result.snapshotIds,
        });
        const partial = await partialSnapshot(ctx, ask.scope, result.snapshotIds[0], only);
        if (ask.format === 'csv') {
          if (partial) res.setHeader(PARTIAL_SNAPSHOT_HEADER, partialSnapshotHeader(partial));
          await streamText(res, 200, 'text/csv', resultPieces(result, 'csv'));
        } else
          await streamJson(res, 200, { ...result, ...(partial ? { partial } : {}) } satisfies QueryResponse);
      },
    },
    {
      method: 'GET',
      path: '/v1/links',
      need: 'user',
      handle: async ({ req, res, url, token }) => {
        const { goroutine, snapshot } = parseLinksParams(url.searchParams);
        let id = snapshot;
        const only = tokenFilter(token);
        if (id === undefined) {
          const list = await ctx.store.listSnapshots(only);
          id = list[list.length - 1]?.snapshotId;
          if (id === undefined) throw new HttpError(404, 'not-found', 'no snapshot has been stored yet');
        }
        const asked = { links: `${goroutine.processId}:${goroutine.goroutineId}`, scope: { snapshot: id } };
        let result: QueryResult;
        try {
          result = await ctx.store.links(id, goroutine.processId, goroutine.goroutineId, only);
        } catch (e) {
          audit(ctx, { req, token }, 'query', 'error', { ...asked, ...failure(e) });
          throw e;
        }
        audit(ctx, { req, token }, 'query', 'ok', { ...asked, rowCount: result.rows.length });
        const partial = await partialSnapshot(
          ctx,
          snapshot === undefined ? { latest: true } : { snapshot },
          id,
          only,
        );
        await streamJson(res, 200, { ...result, ...(partial ? { partial } : {}) } satisfies QueryResponse);
      },
    },
    {
      method: 'GET',
      path: '/v1/spec',
      need: 'user',
      handle: async ({ res }) => {
        const spec = await ctx.store.currentSpec();
        if (!spec)
          throw new HttpError(
            404,
            'no-spec',
            'no spec has been set yet; PUT /v1/spec sets the first version',
          );
        sendJson(res, 200, spec);
      },
    },
    {
      method: 'PUT',
      path: '/v1/spec',
      need: 'user',
      handle: async ({ req, res, url, token }) => {
        refuseLimitedSpecEdit(token);
        const spec = await specRequest(req, url);
        const asked = {
          source: spec.source,
          force: spec.force,
          sha256: createHash('sha256').update(spec.yaml).digest('hex'),
          bytes: Buffer.byteLength(spec.yaml),
        };
        let out: Awaited<ReturnType<typeof updateSpec>>;
        try {
          out = await updateSpec(ctx, {
            ...spec,
            author: token?.name ?? 'api',
            admin: token?.role === 'admin',
          });
        } catch (e) {
          audit(ctx, { req, token }, 'spec.set', 'error', { ...asked, ...failure(e) });
          throw e;
        }
        if (out.stored)
          audit(ctx, { req, token }, 'spec.set', 'ok', {
            ...asked,
            version: out.result.version,
            changed: out.result.changed,
            fits: out.result.check.fits,
          });
        else
          audit(ctx, { req, token }, 'spec.set', 'refused', {
            ...asked,
            message: out.message.slice(0, 2000),
          });
        if (out.stored) sendJson(res, 200, out.result satisfies SpecSetResponse);
        else
          sendJson(res, 422, {
            error: { code: 'spec-does-not-fit', message: out.message },
            check: out.check,
          } satisfies SpecRefusedResponse);
      },
    },
    {
      method: 'POST',
      path: '/v1/spec/check',
      need: 'user',
      handle: async ({ req, res, url, token }) => {
        refuseLimitedSpecEdit(token);
        const spec = await specRequest(req, url);
        const check = await checkSpecText(ctx, spec.yaml, spec.source, token?.role === 'admin');
        const message = checkMessage(check);
        sendJson(res, 200, { check, ...(message ? { message } : {}) } satisfies SpecCheckResponse);
      },
    },
    {
      method: 'GET',
      path: '/v1/spec/versions',
      need: 'user',
      handle: async ({ res }) => {
        const log = await ctx.store.specLog();
        const body: SpecVersionsResponse = {
          versions: log.map(({ version, createdAt, author }) => ({ version, createdAt, author })),
        };
        sendJson(res, 200, body);
      },
    },
    {
      method: 'GET',
      path: '/v1/spec/versions/{version}',
      need: 'user',
      handle: async ({ res, params }) => {
        const v = parseSpecVersionParam(params.version);
        const spec = await ctx.store.specVersion(v);
        if (!spec)
          throw new HttpError(404, 'not-found', `no spec version ${v}; GET /v1/spec/versions lists them`);
        sendJson(res, 200, spec);
      },
    },
  ];
}
