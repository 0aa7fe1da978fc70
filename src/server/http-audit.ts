/**
 * Admin routes of the audit log: list entries (filtered) and export the file as stored. Reading
 * the log is itself logged. There is no route that changes it. Also the admin's retention pass.
 */
import { parseAuditParams } from '../api/requests.js';
import type { AuditResponse } from '../api/responses.js';
import { audit, sourceOf } from './audit.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { sendJson, sendText } from './http-io.js';
import type { Route } from './http-router.js';
import type { Retention } from './retention-run.js';

/** POST /v1/retention: one retention pass now (admin), recorded in the audit log. */
export function retentionRoute(retention: Retention): Route {
  return {
    method: 'POST',
    path: '/v1/retention',
    need: 'admin',
    handle: async ({ req, res, token }) => {
      if (retention.rules.length === 0)
        throw new HttpError(
          409,
          'no-retention',
          'this server has no retention rules; start it with --retain PROGRAM=AGE (e.g. --retain "*=30d")',
        );
      const pass = await retention.run(token?.name ?? 'anonymous', sourceOf(req));
      sendJson(res, 200, pass);
    },
  };
}

/** GET /v1/audit, GET /v1/audit/export. */
export function auditRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/audit',
      need: 'admin',
      handle: ({ req, res, url, token }) => {
        const filter = parseAuditParams(url.searchParams);
        audit(ctx, { req, token }, 'audit.read', 'ok', { filter });
        const { entries, total } = ctx.audit.list(filter);
        sendJson(res, 200, { entries, total, integrity: ctx.audit.verify() } satisfies AuditResponse);
      },
    },
    {
      method: 'GET',
      path: '/v1/audit/export',
      need: 'admin',
      handle: ({ req, res, token }) => {
        audit(ctx, { req, token }, 'audit.read', 'ok', { export: true });
        res.setHeader('content-disposition', 'attachment; filename="periscope-audit.jsonl"');
        sendText(res, 200, 'application/x-ndjson', ctx.audit.raw());
      },
    },
  ];
}
