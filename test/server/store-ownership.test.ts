/** A store passed to the server stays its caller's: closing the server leaves it open. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import { tempDataDir, testServer } from './server-support.js';

test('closing a server leaves open the store its caller passed in', async () => {
  const dir = tempDataDir();
  const store = await DuckDBStore.open(dir, { noExternalAccess: true });
  try {
    const server = await testServer(dir, { store });
    assert.equal(server.context.store, store);
    await server.close();
    const id = await store.addSnapshot({ processes: [], specText: '', labels: {} });
    assert.deepEqual(
      (await store.listSnapshots()).map((s) => s.snapshotId),
      [id],
      'still usable',
    );
  } finally {
    store.close();
  }
});
