/** Routes of snapshots: take one across the fleet, list them (searchable by label), get one. */
import type { SnapshotInfo } from '../store/store.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { optBool, optLabels, optString, readJson, sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import { labelsMatch, parseSelector, type Selector } from './selector.js';
import type { ProcessResult } from './snapshot-meta.js';

function snapshotId(text: string | undefined): number {
  if (!text || !/^[1-9]\d{0,15}$/.test(text))
    throw new HttpError(400, 'bad-request', `snapshot id "${text}" is not a positive integer`);
  return Number(text);
}

async function findSnapshot(ctx: ServerContext, id: number): Promise<SnapshotInfo> {
  const info = (await ctx.store.listSnapshots()).find((s) => s.snapshotId === id);
  if (!info) throw new HttpError(404, 'not-found', `no snapshot ${id}; GET /v1/snapshots lists them`);
  return info;
}

/** Per-process results of a snapshot not taken by this server (e.g. `periscope snapshot --pid`), from the store. */
async function storedProcesses(ctx: ServerContext, id: number): Promise<ProcessResult[]> {
  const r = await ctx.store.query(
    'select process_id, hostname, pid, program, executable, error, pause_ns, goroutine_count from processes order by process_id',
    { snapshot: id },
  );
  return r.rows.map((row) => {
    const [key, hostname, pid, program, executable, error, pauseNs, goroutines] = row;
    const err = typeof error === 'string' && error !== '' ? error : undefined;
    const m = err ? /^([A-Z_]+): (.*)$/s.exec(err) : null;
    return {
      key: String(key),
      agentId: '',
      hostname: String(hostname ?? ''),
      pid: Number(pid),
      ...(typeof program === 'string' ? { program } : {}),
      executable: String(executable ?? ''),
      ok: err === undefined,
      ...(err
        ? {
            error: {
              kind: (m?.[1] ?? 'INTERNAL') as NonNullable<ProcessResult['error']>['kind'],
              message: m?.[2] ?? err,
            },
          }
        : { pauseNs: Number(pauseNs), goroutines: Number(goroutines) }),
    };
  });
}

/** POST/GET /v1/snapshots, GET /v1/snapshots/{id}. */
export function snapshotRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/snapshots',
      need: 'user',
      handle: async ({ req, res, token }) => {
        const body = await readJson(req);
        const select = optString(body, 'select');
        const program = optString(body, 'program');
        const all = optBool(body, 'all');
        if (!select && !program && !all)
          throw new HttpError(
            400,
            'bad-request',
            'say which processes: "select" (e.g. "program=orders,hostname~web-.*"), "program", or "all": true',
          );
        const text = [program ? `program=${program}` : '', all ? '' : (select ?? '')]
          .filter(Boolean)
          .join(',');
        const result = await ctx.orchestrator.snapshot({
          selector: parseSelector(text),
          labels: optLabels(body, 'labels'),
          noPause: optBool(body, 'noPause'),
          requestedBy: token?.name ?? '',
        });
        sendJson(res, 201, result);
      },
    },
    {
      method: 'GET',
      path: '/v1/snapshots',
      need: 'user',
      handle: async ({ res, url }) => {
        const filters: Selector[] = url.searchParams.getAll('label').map((l) => parseSelector(l));
        const limitText = url.searchParams.get('limit');
        const limit = limitText === null ? 100 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1)
          throw new HttpError(400, 'bad-request', `"limit" must be a positive integer, not "${limitText}"`);
        const all = await ctx.store.listSnapshots();
        const hits = all.filter((s) => filters.every((f) => labelsMatch(f, s.labels))).reverse();
        sendJson(res, 200, { snapshots: hits.slice(0, limit), total: hits.length });
      },
    },
    {
      method: 'GET',
      path: '/v1/snapshots/{id}',
      need: 'user',
      handle: async ({ res, params }) => {
        const id = snapshotId(params.id);
        const info = await findSnapshot(ctx, id);
        const meta = ctx.meta.get(id);
        const processes = meta?.processes ?? (await storedProcesses(ctx, id));
        sendJson(res, 200, {
          ...info,
          ...(meta
            ? {
                requestId: meta.requestId,
                selector: meta.selector,
                requestedBy: meta.requestedBy,
                captureSkewMs: meta.captureSkewMs,
                durationMs: meta.durationMs,
              }
            : {}),
          processes,
        });
      },
    },
  ];
}
