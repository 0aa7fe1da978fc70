/**
 * Closing a store while a statement runs on its connection (a server stopping while its cache
 * loads probe batches): the close waits for it (a bounded close says what it gave up on), and
 * the process can exit. Closing the DuckDB
 * connection under the statement deadlocked the statement's thread for good (seen in
 * store/shared/probe-compaction, whose process never exited after its tests passed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freshDataDir } from './store-support.js';

const STORE = fileURLToPath(new URL('../../src/store/duckdb-store.js', import.meta.url));

const CHILD = `
const { DuckDBStore } = await import(process.env.STORE);
const store = await DuckDBStore.open(process.env.DIR);
let started = false;
const long = store.writeRaw('a long statement', async (conn) => {
  started = true;
  return (await conn.runAndReadAll('SELECT sum(i) AS s FROM range(600000000) t(i)')).getRows();
});
while (!started) await new Promise((r) => setTimeout(r, 1));
await new Promise((r) => setTimeout(r, 50));
const gaveUp = await store.close(50);
let after = 'ran';
await store.query('SELECT 1', { latest: true }).catch((e) => { after = e.message; });
const rows = await long;
const closed = await store.close(5000);
console.log(JSON.stringify({ rows: rows.map((r) => r.map(String)), after, gaveUp, closed }));
`;

test('a store closed while a statement runs on its connection closes when it ends; the process exits', async () => {
  const dir = freshDataDir();
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, STORE, DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 60 s');
    }, 60_000);
    child.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? String(sig));
    });
  });
  assert.equal(code, 0, `the process exits (stdout ${out}, stderr ${err})`);
  const got = JSON.parse(out) as { rows: string[][]; after: string; gaveUp: string[]; closed: string[] };
  assert.deepEqual(got.rows, [[String((600_000_000n * 599_999_999n) / 2n)]], 'the statement finished');
  assert.match(got.after, /closed/, 'an operation after the close is refused');
  // A bounded close names what it gave up on; asked again once that ended, it has closed.
  assert.equal(got.gaveUp.length, 1);
  assert.match(got.gaveUp[0] ?? '', /^1 operation\(s\) on the DuckDB store at /);
  assert.deepEqual(got.closed, []);
});
