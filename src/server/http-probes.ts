/**
 * The probe routes: `GET /v1/probes` (the current spec's probes, their lives, where each is
 * attached or why not, what they counted), `POST /v1/probes` and `DELETE /v1/probes/{name}`
 * (a new spec version with the probe added or removed: shortcuts over PUT /v1/spec, checked
 * the same way), and `GET /v1/events` (events after a cursor, waiting for new ones when asked:
 * long polling, which `periscope events --follow` loops on).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseEventsParams, parseProbeRequest, probeName } from '../api/requests.js';
import type {
  AgentProbeView,
  EventsResponse,
  ProbeBinaryView,
  ProbeChangeResponse,
  ProbesResponse,
  ProbeView,
  SpecRefusedResponse,
} from '../api/responses.js';
import { addProbeToSpec, removeProbeFromSpec } from '../spec/probe-edit.js';
import { probeSiteText } from '../spec/probe-parse.js';
import type { TokenInfo } from '../store/token-types.js';
import { audit } from './audit.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { readJson, sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import type { ProbeLife } from './probe-orders.js';
import { programAllowed, tokenFilter } from './program-scope.js';
import { updateSpec } from './spec-update.js';

type Totals = ProbeView['totals'];

async function totalsOf(ctx: ServerContext, lives: readonly ProbeLife[]): Promise<Map<string, Totals>> {
  const out = new Map<string, Totals>();
  if (lives.length === 0) return out;
  const since = lives.map((l) => `(${sqlText(l.probe.name)}, ${Math.floor(l.sinceAt * 1000)})`).join(', ');
  const r = await ctx.store.query(
    `SELECT c.probe, sum(hits), sum(events), sum(rejected), sum(rate_limited), sum(ring_full + agent_dropped)
     FROM probe_counts c JOIN (VALUES ${since}) s(probe, since_us) ON c.probe = s.probe
     WHERE epoch_us(c.end_time) > s.since_us GROUP BY c.probe`,
    { latest: true },
  );
  for (const [probe, hits, events, rejected, rateLimited, dropped] of r.rows)
    out.set(String(probe), {
      hits: Number(hits),
      events: Number(events),
      rejected: Number(rejected),
      rateLimited: Number(rateLimited),
      dropped: Number(dropped),
    });
  return out;
}

function sqlText(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** The probe routes. */
export function probeRoutes(ctx: ServerContext): Route[] {
  // One spec change at a time: two probe adds must not both build on the same version.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = chain.then(f);
    chain = run.catch(() => undefined);
    return run;
  };
  return [
    {
      method: 'GET',
      path: '/v1/probes',
      need: 'user',
      handle: async ({ res, token }) => {
        const only = tokenFilter(token);
        const all = await ctx.probeOrders.state();
        const state = { ...all, probes: all.probes.filter((l) => programAllowed(only, l.probe.program)) };
        const totals = await totalsOf(ctx, state.probes);
        // Scaled-out: every server's agents (the others' as their servers last wrote them to PostgreSQL).
        const statuses = ctx.fleet?.probeStatuses() ?? ctx.probes.statusList();
        const now = Date.now();
        const probes = state.probes.map((l): ProbeView => {
          const p = l.probe;
          const binaries: ProbeBinaryView[] = statuses.flatMap((s) =>
            s.status.binaries
              .filter((b) => b.probe === p.name)
              .map(({ probe: _p, ...b }) => ({ agentId: s.agentId, ...b })),
          );
          return {
            name: p.name,
            ...(p.program !== undefined ? { program: p.program } : {}),
            ...(p.match ? { match: p.match } : {}),
            site: probeSiteText(p.site),
            captures: Object.fromEntries(p.capture.map((c) => [c.column, c.expr])),
            ...(p.condition ? { condition: p.condition.expr } : {}),
            ...(p.rateLimit ? { rateLimit: p.rateLimit } : {}),
            stack: p.stack,
            duration: p.duration,
            labels: p.labels,
            ttlMs: p.ttlMs,
            maxCpu: p.maxCpu,
            since: l.since,
            expiresAt: new Date(l.expiresAt).toISOString(),
            expired: l.expiresAt <= now,
            totals: totals.get(p.name) ?? { hits: 0, events: 0, rejected: 0, rateLimited: 0, dropped: 0 },
            binaries,
          };
        });
        const agents: AgentProbeView[] = statuses.map((s) => ({
          agentId: s.agentId,
          backend: s.status.backend,
          ...(s.status.backendNote ? { backendNote: s.status.backendNote } : {}),
          ...(s.status.backoffUntil && Date.parse(s.status.backoffUntil) > now
            ? { backoffUntil: s.status.backoffUntil }
            : {}),
        }));
        sendJson(res, 200, { specVersion: state.specVersion, probes, agents } satisfies ProbesResponse);
      },
    },
    {
      method: 'POST',
      path: '/v1/probes',
      need: 'user',
      handle: async ({ req, res, token }) => {
        const { probe, force } = parseProbeRequest(await readJson(req));
        const name = String(probe.name);
        const only = tokenFilter(token);
        if (!programAllowed(only, typeof probe.program === 'string' ? probe.program : undefined))
          throw new HttpError(
            403,
            'forbidden',
            `this token is limited to ${token?.programs?.join('; ')}: a probe it adds must name one of those programs in "program"`,
          );
        const out = await serial(async () => {
          const current = await ctx.store.currentSpec();
          const yaml = addProbeToSpec(current?.yaml ?? '', probe);
          return updateSpec(ctx, {
            yaml,
            source: 'spec',
            author: token?.name ?? 'api',
            admin: token?.role === 'admin',
            force: force === true,
          });
        });
        answer(ctx, req, res, token, { probe: name, change: 'add', force: force === true }, out);
      },
    },
    {
      method: 'DELETE',
      path: '/v1/probes/{name}',
      need: 'user',
      handle: async ({ req, res, params, token }) => {
        const name = probeName(params.name);
        const only = tokenFilter(token);
        if (only) {
          const found = (await ctx.probeOrders.state()).probes.find((l) => l.probe.name === name);
          if (found && !programAllowed(only, found.probe.program))
            throw new HttpError(403, 'forbidden', `probe ${name} is not on a program this token may use`);
        }
        const out = await serial(async () => {
          const current = await ctx.store.currentSpec();
          const yaml = removeProbeFromSpec(current?.yaml ?? '', name);
          // Removing a probe never waits on whether the rest of the spec fits every binary.
          return updateSpec(ctx, {
            yaml,
            source: 'spec',
            author: token?.name ?? 'api',
            admin: token?.role === 'admin',
            force: true,
          });
        });
        answer(ctx, req, res, token, { probe: name, change: 'remove', force: true }, out);
      },
    },
    {
      method: 'GET',
      path: '/v1/events',
      need: 'user',
      handle: async ({ res, url, token }) => {
        const q = parseEventsParams(url.searchParams);
        const only = tokenFilter(token);
        const deadline = Date.now() + q.waitMs;
        const closed = new AbortController();
        res.on('close', () => closed.abort());
        let after = q.after;
        for (;;) {
          const fetched = await ctx.store.probeEvents({ ...q, after });
          // The store's rule, as its probe tables apply it (SQL, the pg port): the same events everywhere.
          const mine = only ? await ctx.store.visibleProbeProcesses(only) : undefined;
          const events = mine ? fetched.filter((e) => mine.has(e.process)) : fetched;
          // The cursor passes the other teams' events too, so that a poll does not stall on them.
          const next = fetched.at(-1)?.seq ?? after;
          const left = deadline - Date.now();
          if (events.length > 0 || left <= 0 || closed.signal.aborted || q.last !== undefined) {
            sendJson(res, 200, { events, next } satisfies EventsResponse);
            return;
          }
          after = next;
          if (fetched.length === 0) await ctx.probes.waitForEvents(left, closed.signal);
        }
      },
    },
  ];
}

/** Audits a probe's spec change (as `spec.set`) and answers: the new version, or the refusal. */
function answer(
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  token: TokenInfo | undefined,
  asked: { readonly probe: string; readonly change: 'add' | 'remove'; readonly force: boolean },
  out: Awaited<ReturnType<typeof updateSpec>>,
): void {
  if (out.stored) {
    audit(ctx, { req, token }, 'spec.set', 'ok', {
      ...asked,
      version: out.result.version,
      changed: out.result.changed,
    });
    sendJson(res, 200, { ...out.result, probe: asked.probe } satisfies ProbeChangeResponse);
    return;
  }
  audit(ctx, { req, token }, 'spec.set', 'refused', { ...asked, message: out.message.slice(0, 2000) });
  sendJson(res, 422, {
    error: { code: 'spec-does-not-fit', message: out.message },
    check: out.check,
  } satisfies SpecRefusedResponse);
}
