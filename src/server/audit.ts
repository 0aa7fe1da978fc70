/**
 * Writing the audit log from the server: who (the request's token), from where (the peer
 * address of the connection; a proxy's X-Forwarded-For is not trusted), what, and how it ended.
 */
import type { IncomingMessage } from 'node:http';
import type { AuditAction, AuditActor, AuditOutcome } from '../store/audit-types.js';
import type { TokenInfo } from '../store/token-types.js';
import type { ServerContext } from './context.js';

/** The actor of a request: its token's id, name and role (or "anonymous"). */
export function actorOf(token: TokenInfo | undefined): AuditActor {
  return token ? { tokenId: token.id, name: token.name, role: token.role } : { name: 'anonymous' };
}

/** The peer address of a request's connection. */
export function sourceOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Appends one entry for a request. */
export function audit(
  ctx: ServerContext,
  from: { readonly req: IncomingMessage; readonly token: TokenInfo | undefined },
  action: AuditAction,
  outcome: AuditOutcome,
  details: Readonly<Record<string, unknown>>,
): void {
  ctx.audit.append({ action, actor: actorOf(from.token), source: sourceOf(from.req), outcome, details });
}

/** The message of a failure, for an entry whose outcome is an error. */
export function failure(e: unknown): { error: string } {
  return { error: e instanceof Error ? e.message.slice(0, 2000) : String(e).slice(0, 2000) };
}
