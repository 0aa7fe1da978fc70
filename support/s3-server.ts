/**
 * A real S3-compatible server for tests and benches: SeaweedFS (`weed server -s3`: master,
 * volume server, filer and S3 gateway in one process), built from the Go module proxy into
 * .cache/tools once (`SEAWEEDFS`, see go-tools.ts), started on free ports of 127.0.0.1 with
 * its own data directory, one identity whose access key and secret it checks (SigV4), and a
 * bucket. Stopped with SIGTERM (SIGKILL if it lingers) and its directory removed; started
 * under `setpriv --pdeathsig KILL`, so it dies with the test process even when that is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseS3Url } from '../src/store/s3-config.js';
import { S3Client } from '../src/store/s3-http.js';
import { S3Objects } from '../src/store/s3-objects.js';
import { freePorts } from './free-ports.js';
import { ensureGoTool, type GoTool } from './go-tools.js';

/** SeaweedFS at the version the Go module proxy serves (its go.mod has replaces: built in its own module). */
export const SEAWEEDFS: GoTool = {
  pkg: 'github.com/seaweedfs/seaweedfs/weed',
  version: 'v0.0.0-20261109003541-7506e5f91cd6',
  binary: 'weed',
  module: 'github.com/seaweedfs/seaweedfs',
};

const DOMAIN = 's3.periscope.test';

/** A running server with its bucket and the credentials it accepts. */
export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /**
   * The domain the server also answers virtual-hosted requests on (`BUCKET.DOMAIN:PORT`);
   * not in DNS: a client resolves it to 127.0.0.1 itself.
   */
  readonly domain: string;
  readonly bucket: string;
  readonly region: string;
  /** AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_REGION) that the server accepts. */
  readonly env: Readonly<Record<string, string>>;
  readonly pid: number;
  /** `s3://BUCKET/PREFIX?endpoint=…&region=…` for this server. */
  url(prefix?: string): URL;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops the server and removes its data; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts SeaweedFS with a bucket (`bucket`, default "periscope"); builds it first when not yet in .cache/tools. */
export async function startS3Server(
  options: { bucket?: string; log?: (line: string) => void } = {},
): Promise<S3Server> {
  const weed = await ensureGoTool(SEAWEEDFS, options.log);
  const bucket = options.bucket ?? 'periscope';
  const region = 'us-east-1';
  const dir = mkdtempSync(join(tmpdir(), 'periscope-s3-'));
  mkdirSync(join(dir, 'data'));
  const env = {
    AWS_ACCESS_KEY_ID: 'PERISCOPETESTKEY',
    AWS_SECRET_ACCESS_KEY: `secret-${process.pid}-${Date.now()}`,
    AWS_REGION: region,
  };
  writeFileSync(
    join(dir, 's3.json'),
    JSON.stringify({
      identities: [
        {
          name: 'periscope',
          credentials: [{ accessKey: env.AWS_ACCESS_KEY_ID, secretKey: env.AWS_SECRET_ACCESS_KEY }],
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
      ],
    }),
  );
  // Every listener gets a port of its own: gRPC ports otherwise default to HTTP port + 10000.
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await freePorts(8);
  const args = [
    '--pdeathsig',
    'KILL',
    '--',
    weed.path,
    'server',
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-dir=${join(dir, 'data')}`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.telemetry=false',
    '-master.volumeSizeLimitMB=64',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-volume.max=32',
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-filer.localSocket=${join(dir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.config=${join(dir, 's3.json')}`,
    `-s3.domainName=${DOMAIN}`,
    // As AWS: a put into a missing bucket is refused (NoSuchBucket), not a new bucket.
    '-s3.autoCreateBucket=false',
  ];
  const logPath = join(dir, 'weed.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn('setpriv', args, { stdio: ['ignore', logFd, logFd], cwd: dir });
  const log = () => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited (${signal ?? `code ${code}`})`;
  });
  const endpoint = `http://127.0.0.1:${s3}`;
  const url = (prefix = '') => {
    const u = new URL(`s3://${bucket}/${prefix}`);
    u.searchParams.set('endpoint', endpoint);
    u.searchParams.set('region', region);
    return u;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready(url(), env, bucket, () => exited);
  } catch (e) {
    const tail = log().split('\n').slice(-30).join('\n');
    await stop();
    throw new Error(`SeaweedFS did not become ready: ${(e as Error).message}\n${tail}`);
  }
  return { endpoint, domain: DOMAIN, bucket, region, env, pid: child.pid ?? 0, url, log, stop };
}

/** Creates the bucket, then writes, reads and deletes an object, retrying until all of it works. */
async function ready(
  url: URL,
  env: Record<string, string>,
  bucket: string,
  exited: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  const client = new S3Client(parseS3Url(url, env), { attempts: 1, timeoutMs: 5000 });
  const store = S3Objects.fromUrl(url, { env, attempts: 1, timeoutMs: 5000 });
  let last = '';
  while (Date.now() < deadline) {
    const gone = exited();
    if (gone) throw new Error(`weed ${gone}`);
    try {
      const res = await client.send({ method: 'PUT', what: `creation of bucket ${bucket}` });
      if (res.status !== 200 && !res.body.toString().includes('BucketAlreadyOwnedByYou'))
        throw client.refusal({ method: 'PUT', what: 'bucket creation' }, res);
      await store.put('.ready', new Uint8Array([1]));
      if ((await store.get('.ready'))?.[0] === 1) {
        await store.delete(['.ready']);
        return;
      }
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(300);
  }
  throw new Error(`not ready in 120 s (last: ${last})`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killed = await Promise.race([done.then(() => true), sleep(10_000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await done;
  }
}
