/**
 * Test support for the PostgreSQL protocol: a server on free ports (HTTP and PostgreSQL)
 * whose store holds one real snapshot of the `goroutines` fixture, a user token, and the
 * real `psql` (Debian postgresql-client; .ci/run installs it, a missing one fails the test).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RunningServer, ServerOptions } from '../../src/server/server.js';
import { ensureDebianTool } from '../../support/debian-package.js';
import { freshDataDir, inputOf, openStore, startFixture, takeSnapshot } from '../store/store-support.js';
import { testServer } from './server-support.js';

const run = promisify(execFile);

/** A data directory with snapshots (one by default) of the goroutines fixture. */
export async function dataDirWithSnapshot(count = 1): Promise<string> {
  const dir = freshDataDir();
  const store = await openStore(dir);
  try {
    const t = await startFixture('goroutines');
    try {
      for (let i = 0; i < count; i++)
        await store.addSnapshot(inputOf(takeSnapshot(t.pid), '', { run: 'pg' }));
    } finally {
      await t.kill();
    }
  } finally {
    store.close();
  }
  return dir;
}

/** A running server with the PostgreSQL protocol, and a user and an agent token. */
export interface PgTestServer {
  readonly server: RunningServer;
  readonly port: number;
  readonly user: string;
  readonly agent: string;
}

/** Starts a server with --pg-port 0 on a data directory. */
export async function pgServer(dataDir: string, opts: Partial<ServerOptions> = {}): Promise<PgTestServer> {
  const server = await testServer(dataDir, { pg: { port: 0 }, ...opts });
  const port = server.pgPort;
  assert.ok(port !== undefined, 'the server did not start its PostgreSQL listener');
  return {
    server,
    port,
    user: (await server.context.tokens.create('user', 'pg-user')).token,
    agent: server.firstTokens?.agent ?? (await server.context.tokens.create('agent', 'pg-agent')).token,
  };
}

/** What psql printed and how it ended. */
export interface PsqlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real psql with a connection string and arguments; never throws. */
export async function psql(conninfo: string, password: string, ...args: string[]): Promise<PsqlRun> {
  return psqlWithEnv({}, conninfo, password, ...args);
}

/** As psql, with more environment variables (PGTZ). */
export async function psqlWithEnv(
  env: Record<string, string>,
  conninfo: string,
  password: string,
  ...args: string[]
): Promise<PsqlRun> {
  ensureDebianTool('/usr/bin/psql', 'postgresql-client');
  try {
    const { stdout, stderr } = await run(
      '/usr/bin/psql',
      ['-X', '-v', 'VERBOSITY=verbose', conninfo, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          PGPASSWORD: password,
          PGCONNECT_TIMEOUT: '10',
          ...env,
        },
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}
