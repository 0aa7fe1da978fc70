/**
 * Test support: a TCP load balancer in front of several servers. Each connection goes to the
 * first backend, in the given order, that accepts it: a dead backend is skipped, so an agent
 * that reconnects through it lands on the next server.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP balancer on 127.0.0.1 over backend ports (first that accepts wins). */
export class Balancer {
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly server: Server;

  private constructor(private readonly backends: readonly number[]) {
    this.server = createServer((client) => {
      client.pause();
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      this.route(client, 0);
    });
  }

  private route(client: Socket, i: number): void {
    const port = this.backends[i];
    if (port === undefined) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.sockets.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    upstream.once('error', () => {
      if (!connected) this.route(client, i + 1);
      else client.destroy();
    });
  }

  /** Starts a balancer on a free port. */
  static async start(backends: readonly number[]): Promise<Balancer> {
    const b = new Balancer(backends);
    await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
    b.port = (b.server.address() as { port: number }).port;
    return b;
  }

  /** The balancer's URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Closes the balancer and every connection through it. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
