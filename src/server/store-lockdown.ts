/**
 * User SQL through the server must not read the server's files: DuckDB table functions such as
 * `read_text('/etc/shadow')` or `read_csv(…)` would otherwise work on the store the server
 * holds open for writing. This switches DuckDB's external access off for the whole instance
 * (it cannot be switched back on while the database runs) and checks that it took.
 *
 * Stop-gap: DuckDBStore has no option for it yet, so this reaches its connection by name.
 * It belongs in `DuckDBStore.open(dir, { noExternalAccess: true })` (asked of the store's owner).
 */
import { PeriscopeError } from '../common/errors.js';
import type { Store } from '../store/store.js';

interface Runs {
  run(sql: string): Promise<unknown>;
}

/** Switches off file and network access of an embedded DuckDB store and verifies it; throws if it cannot. */
export async function lockDownStore(store: Store, probeFile: string): Promise<void> {
  const conn = (store as unknown as { conn?: Partial<Runs> }).conn;
  if (typeof conn?.run === 'function') await conn.run('SET enable_external_access = false');
  let readable = false;
  try {
    await store.query(`SELECT * FROM read_text('${probeFile.replace(/'/g, "''")}')`, { latest: true });
    readable = true;
  } catch {
    // refused: what we want
  }
  if (readable)
    throw new PeriscopeError(
      'permission',
      `the store at ${store.location} lets SQL read files of this machine; refusing to serve queries over it`,
    );
}
