/**
 * Admin routes of the audit log: list entries (filtered) and export the file as stored. Reading
 * the log is itself logged. There is no route that changes it.
 */
import { parseAuditParams } from '../api/requests.js';
import type { AuditResponse } from '../api/responses.js';
import { audit } from './audit.js';
import type { ServerContext } from './context.js';
import { sendJson, sendText } from './http-io.js';
import type { Route } from './http-router.js';

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
