/** Routes about the fleet: health, agents and the processes they monitor. */
import { parseProcessesParams } from '../api/requests.js';
import type { AgentsResponse, HealthResponse, ProcessesResponse } from '../api/responses.js';
import type { ServerContext } from './context.js';
import { SERVER_VERSION } from './context.js';
import { sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import { liveFacts, tokenFilter, visible } from './program-scope.js';
import { parseSelector } from './selector.js';

/** GET /v1/health, GET /v1/agents, GET /v1/processes. */
export function fleetRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/health',
      need: 'public',
      handle: ({ res }) => {
        const agents = ctx.registry.agents();
        sendJson(res, 200, {
          status: 'ok',
          version: SERVER_VERSION,
          startedAt: ctx.startedAt.toISOString(),
          agentsConnected: agents.filter((a) => a.connected).length,
          snapshotsInFlight: ctx.orchestrator.inFlight(),
        } satisfies HealthResponse);
      },
    },
    {
      method: 'GET',
      path: '/v1/agents',
      need: 'user',
      handle: ({ res, token }) => {
        const only = tokenFilter(token);
        let agents = ctx.fleet?.agents() ?? ctx.registry.agents();
        if (only) {
          // A limited token sees the agents that report one of its processes, counting only those.
          const mine = new Map<string, number>();
          const all = parseSelector(undefined);
          for (const p of ctx.fleet?.processes(all) ?? ctx.registry.processes(all))
            if (visible(only, liveFacts(p))) mine.set(p.agentId, (mine.get(p.agentId) ?? 0) + 1);
          agents = agents.flatMap((a) => (mine.has(a.id) ? [{ ...a, processes: mine.get(a.id) ?? 0 }] : []));
        }
        sendJson(res, 200, { agents } satisfies AgentsResponse);
      },
    },
    {
      method: 'GET',
      path: '/v1/processes',
      need: 'user',
      handle: ({ res, url, token }) => {
        const selector = parseSelector(parseProcessesParams(url.searchParams).select);
        const only = tokenFilter(token);
        const body: ProcessesResponse = {
          selector: selector.text,
          processes: (ctx.fleet?.processes(selector) ?? ctx.registry.processes(selector)).filter((p) =>
            visible(only, liveFacts(p)),
          ),
        };
        sendJson(res, 200, body);
      },
    },
  ];
}
