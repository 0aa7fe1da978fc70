/**
 * A real PostgreSQL server of our own for benchmarks: Debian's binaries
 * (/usr/lib/postgresql/N/bin), a fresh cluster in a temp directory, trust authentication,
 * listening on 127.0.0.1 on a port of our choosing, run as the `postgres` user when we are
 * root (the server refuses root). Stopped with an immediate shutdown.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** A running server: its port, psql's arguments to reach it, and how to stop it. */
export interface PostgresServer {
  readonly port: number;
  readonly version: string;
  /** Runs SQL through psql (as the superuser `postgres`, database `postgres`). */
  readonly psql: (sql: string) => string;
  readonly stop: () => void;
}

/** Starts a server in `dir` on `port`; resolves to why not when the machine has no PostgreSQL. */
export function startPostgres(dir: string, port: number): PostgresServer | { missing: string } {
  const bins = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .sort()
        .reverse()
        .map((v) => join('/usr/lib/postgresql', v, 'bin'))
    : [];
  const bin = bins.find((b) => existsSync(join(b, 'initdb')) && existsSync(join(b, 'pg_ctl')));
  if (!bin) return { missing: 'no PostgreSQL server binaries (apt-get install postgresql)' };
  const as = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const run = (cmd: string, args: string[]): string => {
    const all = [...as, cmd, ...args];
    return execFileSync(all[0]!, all.slice(1), {
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 << 20,
    }).toString();
  };
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  run(join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-o',
    `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off`,
    '-w',
    'start',
  ]);
  const psql = (sql: string): string =>
    execFileSync(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-X',
        '-q',
        '-At',
        '-d',
        'postgres',
        '-c',
        sql,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 << 20,
      },
    ).toString();
  // Stopped by the caller, else when this process exits (a test file that crashed left its
  // server running for hours); its data directory (40-90 MB) goes with it, the log stays.
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopAtExit);
    try {
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  };
  const stopAtExit = (): void => {
    try {
      stop();
    } catch {
      // Already gone: nothing to stop.
    }
  };
  process.on('exit', stopAtExit);
  return {
    port,
    version: psql('SHOW server_version').trim(),
    psql,
    stop,
  };
}
