import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import { freshDataDir } from './store-support.js';

test('a writable store opened without file access stores and queries, but user SQL cannot read files', async () => {
  const dir = freshDataDir();
  const secret = join(dir, 'secret.txt');
  writeFileSync(secret, 'top secret');
  const store = await DuckDBStore.open(dir, { noExternalAccess: true });
  try {
    await store.setSpec('derived:\n  - name: one\n    sql: SELECT 1 AS x\n', 'tester', 'spec.yaml');
    const id = await store.addSnapshot({ processes: [], specText: '', labels: { k: 'v' } });
    assert.deepEqual(
      (await store.query('SELECT snapshot_id, labels FROM snapshots', { latest: true })).rows,
      [[id, { k: 'v' }]],
    );
    assert.deepEqual((await store.query('SELECT x FROM one', { latest: true })).rows, [[1]]);
    await assert.rejects(
      store.query(`SELECT * FROM read_text('${secret}')`, { latest: true }),
      /Permission Error: .*file system operations are disabled/,
    );
    await assert.rejects(store.exportSnapshot(id, 'parquet', join(dir, 'out')), /needs file access/);
    await assert.rejects(store.importSnapshot(join(dir, 'out')), /needs file access/);
  } finally {
    store.close();
  }
  // The same directory opened normally still exports.
  const again = await DuckDBStore.open(dir);
  try {
    await again.exportSnapshot(1, 'parquet', join(dir, 'out'));
  } finally {
    again.close();
  }
});

test('writing to a store opened read-only is a usage error that says so, not an internal one', async () => {
  const dir = freshDataDir();
  (await DuckDBStore.open(dir)).close(); // create it
  const store = await DuckDBStore.open(dir, { readOnly: true });
  try {
    const usage = (what: string) => (e: unknown) =>
      e instanceof PeriscopeError &&
      e.kind === 'bad-usage' &&
      e.message.startsWith(what) &&
      /opened for writing/.test(e.message);
    await assert.rejects(store.setSpec('functions: []\n', 'tester', 'spec.yaml'), usage('setting the spec'));
    await assert.rejects(
      store.addSnapshot({ processes: [], specText: '', labels: {} }),
      usage('storing a snapshot'),
    );
    await assert.rejects(store.exportSnapshot(1, 'parquet', join(dir, 'out')), usage('exporting a snapshot'));
  } finally {
    store.close();
  }
});
