/**
 * Test support: a TCP proxy between agents and the server, to cut a connection the way a
 * network does: the agent's side is destroyed while the server's side stays open and silent
 * (the server learns nothing until its heartbeats or the agent tell it).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/** A TCP proxy on 127.0.0.1 to one target port. */
export class TcpProxy {
  private readonly pairs: Pair[] = [];
  /** Server-side sockets left open by cutAgentSide. */
  private readonly orphans: Socket[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      this.pairs.push({ client, upstream });
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => undefined);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  /** Starts a proxy to 127.0.0.1:targetPort on a free port. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  /** The proxy's URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Drops every connection on the agent's side only: the agent sees its connection reset, the
   * server's side stays open with nothing more arriving on it. Returns how many were cut.
   */
  cutAgentSide(): number {
    const cut = this.pairs.splice(0);
    for (const p of cut) {
      p.client.unpipe(p.upstream);
      p.upstream.unpipe(p.client);
      p.upstream.removeAllListeners('close');
      p.upstream.on('data', () => undefined); // keep reading (and dropping) what the server sends
      p.client.destroy();
      this.orphans.push(p.upstream);
    }
    return cut.length;
  }

  /** Closes the proxy and every connection. */
  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    for (const s of this.orphans) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
