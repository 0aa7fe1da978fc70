/**
 * The session advisory lock of the scaled-out store (pg-schema.ts sessionLock: the retention,
 * probe rewrite and orphan collection locks), on a real PostgreSQL: tried, it is not taken
 * while another session holds it; its session ended by PostgreSQL while it is held (a restart,
 * pg_terminate_backend) does not crash the process, its release still resolves, and the lock is
 * free again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type pg from 'pg';
import { connectPg, sessionLock } from '../../../src/store/shared/pg-schema.js';
import { startTestPostgres, type TestPostgres } from './shared-support.js';

const KEY = 0x54455354; // "TEST": no lock of Periscope's
let server: TestPostgres;
let pool: pg.Pool;

before(async () => {
  server = await startTestPostgres();
  pool = await connectPg(server.url);
});

after(async () => {
  await pool?.end();
  server?.stop();
});

/** The backend pids holding advisory lock KEY (its low 32 bits are pg_locks' objid). */
function holders(): string[] {
  return server
    .psql(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ${KEY} AND granted`)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l));
}

test('a tried lock is not taken while another session holds it, and is once it is released', async () => {
  const first = await sessionLock(pool, KEY, false);
  assert.ok(first, 'the lock is free at first');
  assert.equal(holders().length, 1);
  assert.equal(await sessionLock(pool, KEY, false), undefined, 'held by the first');
  await first.release();
  assert.deepEqual(holders(), []);
  const again = await sessionLock(pool, KEY, false);
  assert.ok(again, 'free once released');
  await again.release();
});

test('a lock whose session PostgreSQL ends while it is held: no crash, release resolves, the lock is free', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => {
    uncaught.push(e);
  };
  process.on('uncaughtException', onUncaught);
  try {
    const lock = await sessionLock(pool, KEY, true);
    assert.ok(lock);
    const [pid] = holders();
    assert.ok(pid, 'a session holds the lock');
    server.psql(`SELECT pg_terminate_backend(${pid})`);
    // The client hears of it (PostgreSQL's FATAL message, then the socket's end).
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(uncaught, [], 'the lost connection was not an uncaught error');
    await lock.release();
    assert.deepEqual(holders(), []);
    const next = await sessionLock(pool, KEY, false);
    assert.ok(next, 'the lock is free: it went with its session');
    await next.release();
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, []);
});
