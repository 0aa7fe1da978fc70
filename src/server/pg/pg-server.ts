/**
 * The PostgreSQL protocol listener of `periscope server` (--pg-port): psql, BI tools and
 * Grafana's PostgreSQL data source read the stored tables with a user token as password.
 * With the server's TLS material, a client's SSLRequest is answered 'S' and the connection
 * continues over TLS (certificate reloads apply to new connections).
 */
import { randomInt } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ServerContext } from '../context.js';
import type { TlsMaterial } from '../tls-material.js';
import { PgConnection } from './pg-connection.js';

/** How to serve the PostgreSQL protocol. */
export interface PgServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Accept cleartext tokens from other machines without TLS. */
  readonly insecurePlain?: boolean;
}

/** A listening PostgreSQL protocol server. */
export interface PgListener {
  readonly port: number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/** Starts listening; resolves when it does. */
export async function startPgServer(
  ctx: ServerContext,
  opts: PgServerOptions,
  tls: TlsMaterial | undefined,
): Promise<PgListener> {
  const open = new Set<PgConnection>();
  const keys = new Map<PgConnection, { pid: number; secret: number }>();
  let nextPid = 1;
  const server: Server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    const c = new PgConnection(socket, {
      ctx,
      insecurePlain: opts.insecurePlain === true,
      ...(tls
        ? {
            startTls: (s: Socket) =>
              new TLSSocket(s, {
                isServer: true,
                ...tls.current.options,
                requestCert: false,
                rejectUnauthorized: false,
              }),
          }
        : {}),
      register: (conn) => {
        const key = { pid: nextPid++, secret: randomInt(1, 2 ** 31 - 1) };
        keys.set(conn, key);
        return key;
      },
      unregister: (conn) => {
        keys.delete(conn);
        open.delete(conn);
      },
      // The key must match as PostgreSQL's does: a guessed pid alone cancels nothing.
      cancel: (pid, secret) => {
        for (const [conn, key] of keys) if (key.pid === pid && key.secret === secret) conn.cancel();
      },
    });
    open.add(c);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    close: async () => {
      for (const c of [...open]) c.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
