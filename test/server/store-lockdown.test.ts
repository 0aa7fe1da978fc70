/**
 * The server refuses to serve SQL over a store that can read this machine's files: checked on
 * real DuckDB stores, one opened with file access and one without, in a data directory that
 * holds no tokens.json (as a scaled-out server's often does not).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockDownStore } from '../../src/server/store-lockdown.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';

test('a store whose SQL can read files is refused; one opened without file access is served', async () => {
  const open = mkdtempSync(join(tmpdir(), 'periscope-lockdown-open-'));
  const closed = mkdtempSync(join(tmpdir(), 'periscope-lockdown-closed-'));
  const readable = await DuckDBStore.open(open);
  const locked = await DuckDBStore.open(closed, { noExternalAccess: true });
  try {
    await assert.rejects(lockDownStore(readable), /lets SQL read files of this machine; refusing to serve/);
    await lockDownStore(locked);
  } finally {
    readable.close();
    locked.close();
    rmSync(open, { recursive: true, force: true });
    rmSync(closed, { recursive: true, force: true });
  }
});
