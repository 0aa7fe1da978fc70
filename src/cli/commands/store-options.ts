/** Opening the local store of a data directory for a command, without creating one to read it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PeriscopeError } from '../../common/errors.js';
import { DB_FILE } from '../../store/data-dir.js';
import type { DuckDBStore } from '../../store/duckdb-store.js';
import { useSpecCacheDir } from '../spec-cache-dir.js';

/** How a command uses the store: read it, write an existing one, or write one (created if missing). */
export type StoreUse = 'read' | 'update' | 'create';

/**
 * Opens the store of a data directory; 'read' and 'update' never create it. DuckDB is imported
 * here, not at load: commands that end before (usage errors, --help, --server) never load it.
 */
export async function openCliStore(dataDir: string, use: StoreUse): Promise<DuckDBStore> {
  if (use === 'update' && !existsSync(join(dataDir, DB_FILE)))
    throw new PeriscopeError(
      'not-found',
      `no store in ${dataDir} yet; take a snapshot with \`periscope snapshot --pid PID\` (or give --data DIR)`,
    );
  useSpecCacheDir();
  const { DuckDBStore } = await import('../../store/duckdb-store.js');
  return DuckDBStore.open(dataDir, { readOnly: use === 'read' });
}
