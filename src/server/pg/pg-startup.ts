/**
 * A client's first packet and what its login is told: the untyped startup packets
 * (SSLRequest, GSSENCRequest, CancelRequest, the protocol 3.0 startup with its parameters),
 * the database name as a scope, the no-token-in-clear rule, and the ParameterStatus
 * messages a session starts with.
 */
import type { QueryScope } from '../../store/store.js';
import type { PgError } from './pg-errors.js';
import {
  BodyReader,
  CANCEL_REQUEST,
  GSSENC_REQUEST,
  PROTOCOL_3,
  parameterStatus,
  SSL_REQUEST,
} from './pg-messages.js';
import { SERVER_VERSION } from './pg-settings.js';
import { badTimeZone, type PgTimeZone, serverTimeZone, timeZoneOf } from './pg-timezone.js';

/** What a first packet asks. */
export type StartupPacket =
  | { readonly kind: 'ssl' | 'gssenc' }
  | { readonly kind: 'cancel'; readonly pid: number; readonly secret: number }
  | { readonly kind: 'startup'; readonly params: ReadonlyMap<string, string> }
  | { readonly kind: 'refused'; readonly error: PgError };

/** Reads an untyped first packet. */
export function readStartup(body: Buffer): StartupPacket {
  const r = new BodyReader(body);
  const code = r.int32();
  if (code === SSL_REQUEST) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST) return { kind: 'cancel', pid: r.int32(), secret: r.int32() };
  if (code !== PROTOCOL_3)
    return {
      kind: 'refused',
      error: {
        code: '0A000',
        message: `protocol version ${code >> 16}.${code & 0xffff} is not supported; this server speaks 3.0`,
      },
    };
  const params = new Map<string, string>();
  for (;;) {
    const k = r.cstring();
    if (k === '') break;
    params.set(k, r.cstring());
  }
  return { kind: 'startup', params };
}

/** The scope a database name chooses: `latest`, `snapshot_N` or `all`. */
export function scopeOfDatabase(name: string): QueryScope | undefined {
  if (name === 'latest') return { latest: true };
  if (name === 'all') return { all: true };
  const m = /^snapshot_(\d{1,15})$/.exec(name);
  return m ? { snapshot: Number(m[1]) } : undefined;
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address);
}

/** Who logs in to what: the user and database named, the database's scope, and the session's time zone. */
export interface Login {
  readonly user: string;
  readonly database: string;
  readonly scope: QueryScope;
  /** The `TimeZone` the startup packet named (libpq sends PGTZ so), else the server's. */
  readonly timeZone: PgTimeZone;
}

/** The value of a startup parameter, its name in any case (PostgreSQL's setting names are). */
function param(params: ReadonlyMap<string, string>, name: string): string | undefined {
  for (const [k, v] of params) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** The login a startup asks for, or why it is refused before any password (3D000, 28000). */
export function loginOf(
  params: ReadonlyMap<string, string>,
  via: { readonly tls: boolean; readonly insecurePlain: boolean; readonly remote: string | undefined },
): Login | PgError {
  const user = params.get('user') ?? '';
  const database = params.get('database') ?? user;
  const scope = scopeOfDatabase(database);
  if (!scope)
    return {
      code: '3D000',
      message: `database "${database}" does not exist: name a scope, "latest" (the newest snapshot), "snapshot_N" (one snapshot) or "all" (every snapshot)`,
    };
  const zoneName = param(params, 'timezone');
  const timeZone = zoneName === undefined ? serverTimeZone() : timeZoneOf(zoneName);
  if (!timeZone) return { code: '22023', message: badTimeZone(zoneName ?? '') };
  if (!via.tls && !via.insecurePlain && !isLoopback(via.remote))
    return {
      code: '28000',
      message:
        'the token would cross the network in clear: connect with TLS (sslmode=require; the server needs --tls-cert and --tls-key), or start the server with --insecure-plain',
    };
  return { user, database, scope, timeZone };
}

/** The ParameterStatus messages a logged-in session starts with. */
export function sessionParameters(user: string, timeZone: PgTimeZone): Buffer[] {
  return [
    parameterStatus('server_version', SERVER_VERSION),
    parameterStatus('server_encoding', 'UTF8'),
    parameterStatus('client_encoding', 'UTF8'),
    parameterStatus('DateStyle', 'ISO, MDY'),
    parameterStatus('IntervalStyle', 'postgres'),
    parameterStatus('TimeZone', timeZone.name),
    parameterStatus('integer_datetimes', 'on'),
    parameterStatus('standard_conforming_strings', 'on'),
    parameterStatus('is_superuser', 'off'),
    parameterStatus('session_authorization', user),
    parameterStatus('application_name', ''),
  ];
}
