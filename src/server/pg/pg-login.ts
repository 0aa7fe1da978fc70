/**
 * A connection's login: what its first packet asks (TLS, a cancel, the startup with user and
 * database) and the check of its password, a Periscope user token; a refused token is
 * recorded in the audit log. The connection (pg-connection.ts) acts on the outcome.
 */
import type { QueryScope } from '../../store/store.js';
import { roleAllows, type TokenInfo } from '../../store/token-types.js';
import { actorOf } from '../audit.js';
import type { ServerContext } from '../context.js';
import { BodyReader, type ClientMessage } from './pg-messages.js';
import { loginOf, readStartup } from './pg-startup.js';
import type { PgTimeZone } from './pg-timezone.js';

/** What the connection does with a packet before login. */
export type StartupStep =
  | { readonly kind: 'no' }
  | { readonly kind: 'tls' }
  | { readonly kind: 'cancel'; readonly pid: number; readonly secret: number }
  | { readonly kind: 'fatal'; readonly code: string; readonly message: string }
  | {
      readonly kind: 'password';
      readonly user: string;
      readonly database: string;
      readonly scope: QueryScope;
      readonly timeZone: PgTimeZone;
    };

/** The connection's state that the first packet's answer depends on. */
export interface StartupEnv {
  /** The socket is TLS already. */
  readonly tls: boolean;
  /** The server can switch a socket to TLS. */
  readonly canTls: boolean;
  readonly insecurePlain: boolean;
  readonly remote: string | undefined;
}

/** The step a packet before login asks for: answer 'N', switch to TLS, cancel, refuse, or ask for the password. */
export function startupStep(m: ClientMessage, env: StartupEnv): StartupStep {
  const packet = readStartup(m.body);
  switch (packet.kind) {
    case 'ssl':
      return env.canTls && !env.tls ? { kind: 'tls' } : { kind: 'no' };
    case 'gssenc':
      return { kind: 'no' };
    case 'cancel':
      return { kind: 'cancel', pid: packet.pid, secret: packet.secret };
    case 'refused':
      return { kind: 'fatal', code: packet.error.code, message: packet.error.message };
  }
  const login = loginOf(packet.params, {
    tls: env.tls,
    insecurePlain: env.insecurePlain,
    remote: env.remote,
  });
  if ('code' in login) return { kind: 'fatal', code: login.code, message: login.message };
  const user = packet.params.get('user') ?? '';
  return {
    kind: 'password',
    user,
    database: packet.params.get('database') ?? user,
    scope: login.scope,
    timeZone: login.timeZone,
  };
}

/** Who is logging in, for the audit log. */
export interface LoginWho {
  readonly user: string;
  readonly database: string;
  readonly source: string;
}

/** The token a password message gives, or why it is refused (08P01, 28P01; a refusal is audited). */
export function passwordStep(
  m: ClientMessage,
  ctx: ServerContext,
  who: LoginWho,
): { readonly token: TokenInfo } | { readonly code: string; readonly message: string } {
  if (m.type !== 0x70 /* p */) return { code: '08P01', message: 'expected a password message' };
  const token = ctx.tokens.verify(new BodyReader(m.body).cstring());
  if (token && roleAllows(token.role, 'user')) return { token };
  const why = token
    ? `this is ${token.role === 'agent' ? 'an agent' : 'a'} token; PostgreSQL connections need a user or admin token`
    : 'password authentication failed: the password must be a Periscope user token (periscope token create --role user)';
  ctx.audit.append({
    action: 'denied',
    actor: actorOf(token),
    source: who.source,
    outcome: 'refused',
    details: { protocol: 'postgresql', user: who.user, database: who.database, message: why },
  });
  return { code: '28P01', message: why };
}
