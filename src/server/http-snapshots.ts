/** Routes of snapshots: take one across the fleet, list them (searchable by label), get one. */
import { parseSnapshotIdParam, parseSnapshotRequest, parseSnapshotsParams } from '../api/requests.js';
import type {
  FleetLinkNote,
  ProcessResult,
  SnapshotDetail,
  SnapshotsResponse,
  SnapshotTaken,
} from '../api/responses.js';
import type { LinkNote } from '../snapshot/snapshot-types.js';
import type { ProcessFilter } from '../store/process-filter.js';
import type { SnapshotInfo } from '../store/store.js';
import { audit, failure } from './audit.js';
import type { ServerContext } from './context.js';
import { fleetLinkNotes, type ProcessLinkNotes } from './fleet-link-notes.js';
import { HttpError } from './http-errors.js';
import { readJson, sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import { liveFacts, tokenFilter, visible } from './program-scope.js';
import { labelsMatch, parseSelector, type Selector } from './selector.js';

async function findSnapshot(
  ctx: ServerContext,
  id: number,
  only: ProcessFilter | undefined,
): Promise<SnapshotInfo> {
  const info = (await ctx.store.listSnapshots(only)).find((s) => s.snapshotId === id);
  if (!info) throw new HttpError(404, 'not-found', `no snapshot ${id}; GET /v1/snapshots lists them`);
  return info;
}

/** Per-process results of a snapshot not taken by this server (e.g. `periscope snapshot --pid`), from the store. */
async function storedProcesses(
  ctx: ServerContext,
  id: number,
  only: ProcessFilter | undefined,
): Promise<ProcessResult[]> {
  const r = await ctx.store.query(
    'select process_id, hostname, pid, program, executable, error, pause_ns, goroutine_count from processes order by process_id',
    { snapshot: id },
    only,
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

/** The snapshot's link notes as the fleet snapshot's answer gave them, from the stored `link_notes`. */
async function storedLinkNotes(
  ctx: ServerContext,
  id: number,
  only: ProcessFilter | undefined,
): Promise<FleetLinkNote[]> {
  const r = await ctx.store.query(
    'select n.process_id, p.program, n.link, n.table_name, n."column", n.frames, n.of_frames, n.note ' +
      'from link_notes n join processes p using (snapshot_id, process_id) order by n.process_id',
    { snapshot: id },
    only,
  );
  const byProcess = new Map<string, ProcessLinkNotes & { notes: LinkNote[] }>();
  for (const [key, program, link, table, column, frames, of, message] of r.rows) {
    const p = byProcess.get(String(key)) ?? { program: String(program ?? ''), notes: [] };
    p.notes.push({
      link: String(link),
      table: String(table),
      column: String(column),
      ...(frames !== null ? { frames: Number(frames) } : {}),
      ...(of !== null ? { of: Number(of) } : {}),
      message: String(message),
    });
    byProcess.set(String(key), p);
  }
  return fleetLinkNotes([...byProcess.values()]);
}

/** POST/GET /v1/snapshots, GET /v1/snapshots/{id}. */
export function snapshotRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/snapshots',
      need: 'user',
      handle: async ({ req, res, token }) => {
        const ask = parseSnapshotRequest(await readJson(req));
        const asked = { selector: ask.selector, labels: ask.labels, noPause: ask.noPause };
        const only = tokenFilter(token);
        const selector = parseSelector(ask.selector);
        if (only) {
          const matched = ctx.registry.processes(selector);
          if (matched.length > 0 && !matched.some((p) => visible(only, liveFacts(p))))
            throw new HttpError(
              403,
              'forbidden',
              `the selector "${selector.text}" matches only processes of programs this token may not use (it may use ${token?.programs?.join('; ')})`,
            );
        }
        let result: SnapshotTaken;
        try {
          result = await ctx.orchestrator.snapshot({
            selector,
            ...(only ? { within: (p) => visible(only, liveFacts(p)) } : {}),
            labels: ask.labels,
            noPause: ask.noPause,
            requestedBy: token?.name ?? '',
          });
        } catch (e) {
          audit(ctx, { req, token }, 'snapshot', 'error', { ...asked, ...failure(e) });
          throw e;
        }
        audit(ctx, { req, token }, 'snapshot', 'ok', {
          ...asked,
          snapshotId: result.snapshotId,
          requestId: result.requestId,
          specVersion: result.specVersion,
          processes: result.processes.map((p) => ({
            hostname: p.hostname,
            pid: p.pid,
            ...(p.program ? { program: p.program } : {}),
            executable: p.executable,
            ok: p.ok,
          })),
        });
        sendJson(res, 201, result);
      },
    },
    {
      method: 'GET',
      path: '/v1/snapshots',
      need: 'user',
      handle: async ({ res, url, token }) => {
        const params = parseSnapshotsParams(url.searchParams);
        const filters: Selector[] = params.labels.map((l) => parseSelector(l));
        const all = await ctx.store.listSnapshots(tokenFilter(token));
        const hits = all.filter((s) => filters.every((f) => labelsMatch(f, s.labels))).reverse();
        const body: SnapshotsResponse = { snapshots: hits.slice(0, params.limit), total: hits.length };
        sendJson(res, 200, body);
      },
    },
    {
      method: 'GET',
      path: '/v1/snapshots/{id}',
      need: 'user',
      handle: async ({ res, params, token }) => {
        const id = parseSnapshotIdParam(params.id);
        const only = tokenFilter(token);
        const info = await findSnapshot(ctx, id, only);
        const meta = ctx.meta.get(id);
        const processes =
          meta?.processes.filter((p) => visible(only, p)) ?? (await storedProcesses(ctx, id, only));
        const linkNotes = await storedLinkNotes(ctx, id, only);
        const body: SnapshotDetail = {
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
          ...(linkNotes.length > 0 ? { linkNotes } : {}),
        };
        sendJson(res, 200, body);
      },
    },
  ];
}
