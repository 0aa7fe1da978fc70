/**
 * The trace route: `GET /v1/traces` (the latest kept request traces with their events,
 * newest first; of one trace, of one outcome). A token limited to programs sees its
 * programs' processes' traces only. docs/traces.md.
 */
import { parseTracesParams } from '../api/requests.js';
import type { TracesResponse } from '../api/responses.js';
import { visibleProcessIdsSql } from '../store/process-filter.js';
import type { ServerContext } from './context.js';
import { sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import { tokenFilter } from './program-scope.js';

/** The trace routes. */
export function traceRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/traces',
      need: 'user',
      handle: async ({ res, url, token }) => {
        const q = parseTracesParams(url.searchParams);
        const only = tokenFilter(token);
        const traces = await ctx.store.traces({
          ...q,
          ...(only ? { processes: visibleProcessIdsSql(only) } : {}),
        });
        sendJson(res, 200, { traces } satisfies TracesResponse);
      },
    },
  ];
}
