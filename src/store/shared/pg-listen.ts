/**
 * LISTEN on one PostgreSQL channel over a dedicated connection, remade when it drops: the
 * wake-up of servers that share PostgreSQL. A notification is only a hint (the tables are the
 * truth; each user of a channel also polls them), so a connection lost for a while only delays.
 */
import pg from 'pg';

/** A channel being listened to; `close` ends the connection for good. */
export interface PgListening {
  close(): void;
}

/** Calls `fn` with the payload of each notification on `channel`; reconnects a second after a drop. */
export function listenPg(url: string, channel: string, fn: (payload: string) => void): PgListening {
  let closed = false;
  let current: pg.Client | undefined;
  const connect = (): void => {
    if (closed) return;
    const client = new pg.Client({ connectionString: url });
    current = client;
    let retried = false;
    const retry = (): void => {
      if (retried) return;
      retried = true;
      client.end().catch(() => undefined);
      if (!closed) setTimeout(connect, 1000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (n) => fn(n.payload ?? ''));
    client
      .connect()
      .then(() => client.query(`LISTEN ${channel}`))
      .catch(retry);
  };
  connect();
  return {
    close: () => {
      closed = true;
      current?.end().catch(() => undefined);
    },
  };
}
