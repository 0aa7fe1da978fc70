/**
 * An embedded store of synthetic snapshots for benchmarks: `snapshots` snapshots of one
 * synthetic process of `goroutines` goroutines of `frames` frames each (support/synthetic-snapshot.ts),
 * closed before it returns, so that a server can open the directory next.
 */
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { syntheticSnapshot } from './synthetic-snapshot.js';

export async function writeSyntheticStore(
  dataDir: string,
  snapshots: number,
  goroutines: number,
  frames = 1,
): Promise<void> {
  const store = await DuckDBStore.open(dataDir);
  try {
    for (let i = 0; i < snapshots; i++)
      await store.addSnapshot({
        processes: [{ hostname: 'bench', snapshot: syntheticSnapshot(goroutines, frames) }],
        specText: '',
      });
  } finally {
    await store.close();
  }
}
