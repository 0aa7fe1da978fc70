/** Routes over stored data: SQL queries (JSON or CSV) and the versioned spec. */
import type { IncomingMessage } from 'node:http';
import { PeriscopeError } from '../common/errors.js';
import { parseGoroutineRef } from '../store/links-query.js';
import type { QueryResult, QueryScope } from '../store/store.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { optBool, optString, readBody, readJson, sendJson, sendText } from './http-io.js';
import type { Route } from './http-router.js';
import { updateSpec } from './spec-update.js';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A query result as CSV (RFC 4180; structured cells as JSON). */
export function toCsv(r: QueryResult): string {
  const lines = [r.columns.map((c) => csvCell(c.name)).join(',')];
  for (const row of r.rows) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function scopeOf(body: Record<string, unknown>): QueryScope {
  const all = optBool(body, 'all');
  const snap = body.snapshot;
  if (snap !== undefined && snap !== null) {
    if (all) throw new HttpError(400, 'bad-request', 'give "snapshot" or "all", not both');
    if (typeof snap !== 'number' || !Number.isInteger(snap) || snap < 1)
      throw new HttpError(400, 'bad-request', '"snapshot" must be a positive integer snapshot id');
    return { snapshot: snap };
  }
  return all ? { all: true } : { latest: true };
}

/** A PUT /v1/spec request: the YAML (JSON `yaml`, or the body), the file name and force (JSON or query). */
async function specRequest(
  req: IncomingMessage,
  url: URL,
): Promise<{ yaml: string; source: string; force: boolean }> {
  const type = String(req.headers['content-type'] ?? '');
  const body = type.includes('json') ? await readJson(req) : undefined;
  const yaml = body ? optString(body, 'yaml') : await readBody(req);
  if (yaml === undefined) throw new HttpError(400, 'bad-request', 'a JSON body needs "yaml": the spec text');
  const source = (body && optString(body, 'source')) ?? url.searchParams.get('source') ?? 'spec';
  if (source === '' || source.length > 300 || /[\r\n]/.test(source))
    throw new HttpError(
      400,
      'bad-request',
      '"source" must be a file name of 1 to 300 characters on one line',
    );
  const flag = url.searchParams.get('force');
  if (flag !== null && flag !== 'true' && flag !== 'false')
    throw new HttpError(400, 'bad-request', `?force takes true or false, not "${flag}"`);
  return { yaml, source, force: (body !== undefined && optBool(body, 'force')) || flag === 'true' };
}

/** POST /v1/query and the /v1/spec routes. */
export function dataRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/query',
      need: 'user',
      handle: async ({ req, res, url }) => {
        const body = await readJson(req);
        const sql = optString(body, 'sql');
        if (!sql?.trim()) throw new HttpError(400, 'bad-request', 'give the SQL in "sql"');
        const format = optString(body, 'format') ?? url.searchParams.get('format') ?? 'json';
        if (format !== 'json' && format !== 'csv')
          throw new HttpError(400, 'bad-request', `"format" must be json or csv, not "${format}"`);
        let result: QueryResult;
        try {
          result = await ctx.store.query(sql, scopeOf(body));
        } catch (e) {
          if (e instanceof PeriscopeError || e instanceof HttpError) throw e;
          throw new HttpError(400, 'bad-query', (e as Error).message ?? String(e));
        }
        if (format === 'csv') sendText(res, 200, 'text/csv', toCsv(result));
        else sendJson(res, 200, result);
      },
    },
    {
      method: 'GET',
      path: '/v1/links',
      need: 'user',
      handle: async ({ res, url }) => {
        const ref = url.searchParams.get('goroutine');
        if (!ref) throw new HttpError(400, 'bad-request', 'give the goroutine as ?goroutine=PROCESS:GOID');
        let goroutine: { processId: string; goroutineId: number };
        try {
          goroutine = parseGoroutineRef(ref);
        } catch (e) {
          throw new HttpError(400, 'bad-request', (e as Error).message.replace('--goroutine', 'goroutine'));
        }
        const snap = url.searchParams.get('snapshot');
        let id: number | undefined;
        if (snap !== null) {
          id = Number(snap);
          if (!Number.isInteger(id) || id < 1)
            throw new HttpError(400, 'bad-request', `snapshot "${snap}" is not a positive integer`);
        } else {
          const list = await ctx.store.listSnapshots();
          id = list[list.length - 1]?.snapshotId;
          if (id === undefined) throw new HttpError(404, 'not-found', 'no snapshot has been stored yet');
        }
        sendJson(res, 200, await ctx.store.links(id, goroutine.processId, goroutine.goroutineId));
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
        const spec = await specRequest(req, url);
        const out = await updateSpec(ctx, { ...spec, author: token?.name ?? 'api' });
        if (out.stored) sendJson(res, 200, out.result);
        else
          sendJson(res, 422, {
            error: { code: 'spec-does-not-fit', message: out.message },
            check: out.check,
          });
      },
    },
    {
      method: 'GET',
      path: '/v1/spec/versions',
      need: 'user',
      handle: async ({ res }) => {
        const log = await ctx.store.specLog();
        sendJson(res, 200, {
          versions: log.map(({ version, createdAt, author }) => ({ version, createdAt, author })),
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/spec/versions/{version}',
      need: 'user',
      handle: async ({ res, params }) => {
        const v = Number(params.version);
        if (!Number.isInteger(v) || v < 1)
          throw new HttpError(
            400,
            'bad-request',
            `spec version "${params.version}" is not a positive integer`,
          );
        const spec = await ctx.store.specVersion(v);
        if (!spec)
          throw new HttpError(404, 'not-found', `no spec version ${v}; GET /v1/spec/versions lists them`);
        sendJson(res, 200, spec);
      },
    },
  ];
}
