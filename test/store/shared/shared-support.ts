/**
 * Test support for the scaled-out store: a real PostgreSQL (Debian's, started fresh in a temp
 * directory on a free port by support/postgres-server.ts) and an object directory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../../support/free-ports.js';
import { startPostgres } from '../../../support/postgres-server.js';

/** A running PostgreSQL for one test file. */
export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly psql: (sql: string) => string;
  /** Creates a database of that name and returns its URL (one per test, so tests share no rows). */
  readonly database: (name: string) => string;
  readonly stop: () => void;
}

export { freePort };

/** Starts PostgreSQL; throws (the test fails) when the machine has none. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-pg-'));
  const port = await freePort();
  const pg = startPostgres(dir, port);
  if ('missing' in pg) throw new Error(`these tests need PostgreSQL: ${pg.missing}`);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const database = (name: string): string => {
    pg.psql(`CREATE DATABASE ${name}`);
    return url.replace(/\/postgres$/, `/${name}`);
  };
  return { url, port, psql: pg.psql, database, stop: pg.stop };
}

/** A new, empty directory for a server's local cache. */
export function freshCacheDir(): string {
  return mkdtempSync(join(tmpdir(), 'periscope-cache-'));
}

/** A new, empty object directory as a file:// URL. */
export function freshObjectsUrl(): string {
  return pathToFileURL(mkdtempSync(join(tmpdir(), 'periscope-objects-'))).href;
}
