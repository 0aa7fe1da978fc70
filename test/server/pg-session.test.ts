/**
 * A PostgreSQL connection keeps its store session (one DuckDB connection, its views and
 * prepared statements) from statement to statement, and opens it again once the store
 * changed: a new snapshot is then `latest`, a new spec's tables are there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { syntheticSnapshot } from '../../support/synthetic-snapshot.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

async function one(c: pg.Client, sql: string): Promise<string> {
  const r = await c.query<string[]>({
    text: sql,
    rowMode: 'array',
    types: { getTypeParser: () => (v: string) => v },
  });
  return r.rows[0]![0]!;
}

test('statements on one connection share a session until the store changes', async () => {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'latest',
    password: srv.user,
  });
  await c.connect();
  try {
    const store = srv.server.context.store;
    const id = 'SELECT current_connection_id()';
    const first = await one(c, id);
    assert.equal((await one(c, 'SELECT count(*) FROM goroutines WHERE goroutine_id > 0')) !== '', true);
    assert.equal(await one(c, id), first, 'a second statement ran on another DuckDB connection');
    // The extended protocol (a parameter) uses the same session.
    const r = await c.query('SELECT current_connection_id()::VARCHAR AS id, $1::INT AS n', [1]);
    assert.equal(r.rows[0].id, first);

    const before = Number(await one(c, 'SELECT max(snapshot_id) FROM snapshots'));
    const generation = store.generation;
    const added = await store.addSnapshot({
      processes: [{ hostname: 'h', snapshot: syntheticSnapshot(3, 1) }],
      specText: '',
    });
    assert.ok(store.generation > generation, 'storing a snapshot did not move the store generation');
    assert.equal(Number(await one(c, 'SELECT max(snapshot_id) FROM snapshots')), added);
    assert.ok(added > before);
    const reopened = await one(c, id);
    assert.notEqual(reopened, first);
    assert.equal(await one(c, id), reopened);
  } finally {
    await c.end();
  }
});
