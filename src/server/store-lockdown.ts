/**
 * User SQL through the server must not read the server's files: DuckDB table functions such as
 * `read_text('/etc/shadow')` or `read_csv(…)` would otherwise work on the store the server
 * holds open for writing. The server opens its store with `noExternalAccess`; this checks
 * that it took (and refuses to serve otherwise, e.g. for a store handed in by a caller).
 */
import { fileURLToPath } from 'node:url';
import { PeriscopeError } from '../common/errors.js';
import type { Store } from '../store/store.js';

/**
 * Verifies that SQL over the store cannot read files of this machine; throws if it can. The
 * file tried is this module's own, which exists wherever the server runs (a data file such as
 * tokens.json may not, and a refusal to read a missing file would prove nothing).
 */
export async function lockDownStore(store: Store, probeFile = fileURLToPath(import.meta.url)): Promise<void> {
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
