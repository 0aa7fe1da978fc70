/**
 * The scaled-out back end of the fleet tests: a real PostgreSQL, an object store (a bucket of
 * a real SeaweedFS, or a file:// directory), tokens made in PostgreSQL before any server runs
 * (`periscope token create --store`: every server accepts each one), and `periscope server`
 * processes on them. Made at the top of a test file, started in its `before`; `close` in its
 * `after` (once the file's agents and fixtures are stopped) stops whatever was started, so a
 * start that failed half-way leaks nothing.
 */
import { rmSync } from 'node:fs';
import { createStoreToken, type ServerProc, startServerProc, tempDir } from '../../support/fleet.js';
import { type S3Server, startS3Server } from '../../support/s3-server.js';
import { freshObjectsUrl, startTestPostgres, type TestPostgres } from '../store/shared/shared-support.js';

/** A server process of the shared store, and its data directory. */
export interface SharedServerProc extends ServerProc {
  readonly dataDir: string;
}

export class ScaledOutServers {
  private started: { pg?: TestPostgres; s3?: S3Server; objects?: string } = {};
  private readonly servers: SharedServerProc[] = [];
  private readonly dirs: string[] = [];

  /** `name` names the bucket and the servers' data directories. */
  constructor(private readonly name: string) {}

  /** Starts PostgreSQL and the object store: SeaweedFS when `s3`, else a file:// directory. */
  async start(opts: { readonly s3?: boolean } = {}): Promise<void> {
    const [pg, s3] = await Promise.allSettled([
      startTestPostgres().then((p) => (this.started.pg = p)),
      opts.s3 ? startS3Server().then((s) => (this.started.s3 = s)) : undefined,
    ]);
    for (const r of [pg, s3]) if (r.status === 'rejected') throw r.reason;
    this.started.objects = this.started.s3 ? this.started.s3.url(this.name).href : freshObjectsUrl();
  }

  /** The PostgreSQL. */
  get pg(): TestPostgres {
    if (!this.started.pg) throw new Error('ScaledOutServers: PostgreSQL is not started');
    return this.started.pg;
  }

  /** The SeaweedFS (started with `s3`). */
  get s3(): S3Server {
    if (!this.started.s3) throw new Error('ScaledOutServers: started without SeaweedFS');
    return this.started.s3;
  }

  /** The servers' --objects URL. */
  get objects(): string {
    if (!this.started.objects) throw new Error('ScaledOutServers: not started');
    return this.started.objects;
  }

  /** `periscope token create --store`: a token of the shared store, made without a server. */
  token(role: 'agent' | 'user' | 'admin', name: string): Promise<string> {
    return createStoreToken(this.pg.url, role, name);
  }

  /**
   * Starts a server per name at once on the shared store (`--store`, `--objects`, then `args`;
   * SeaweedFS's credentials in their environment), each with a data directory of its own.
   */
  async startServers<const T extends readonly string[]>(
    names: T,
    args: readonly string[] = [],
  ): Promise<{ [K in keyof T]: SharedServerProc }> {
    const shared = ['--store', this.pg.url, '--objects', this.objects, ...args];
    const env = this.started.s3 ? { ...this.started.s3.env } : {};
    const got = await Promise.allSettled(
      names.map(async (n) => {
        const dataDir = tempDir(`periscope-${this.name}-${n}-`);
        this.dirs.push(dataDir);
        const s = { ...(await startServerProc(dataDir, '127.0.0.1:0', shared, env)), dataDir };
        this.servers.push(s);
        return s;
      }),
    );
    for (const r of got) if (r.status === 'rejected') throw r.reason;
    return got.map((r) => (r as PromiseFulfilledResult<SharedServerProc>).value) as {
      [K in keyof T]: SharedServerProc;
    };
  }

  /** Stops the servers, PostgreSQL and SeaweedFS, and removes the servers' data directories. */
  async close(): Promise<void> {
    for (const s of this.servers) await s.proc.stop();
    this.started.pg?.stop();
    await this.started.s3?.stop();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
