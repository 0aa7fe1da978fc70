/**
 * The PostgreSQL port of a server on the scaled-out store (PostgreSQL + objects; its query
 * sessions lease snapshots of the local cache): TIMESTAMPTZ printed in the connection's zone
 * by DuckDB in bulk, DuckDB's zone-dependent functions in that zone, SHOW TimeZone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startServer } from '../../../src/server/server.js';
import { syntheticSnapshot } from '../../../support/synthetic-snapshot.js';
import { freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

let pgServer: TestPostgres;

before(async () => {
  pgServer = await startTestPostgres();
});

after(() => pgServer.stop());

test('a scaled-out server answers over its PostgreSQL port in the connection zone', async () => {
  const server = await startServer({
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'periscope-shared-pg-port-')),
    agentLog: () => undefined,
    pg: { port: 0 },
    shared: { store: pgServer.database('pgport'), objects: freshObjectsUrl() },
  });
  try {
    await server.context.store.addSnapshot({
      processes: [{ hostname: 'h', snapshot: syntheticSnapshot(3, 1) }],
      specText: '',
    });
    const token = (await server.context.tokens.create('user', 'pg-port')).token;
    const c = new pg.Client({
      host: '127.0.0.1',
      port: server.pgPort,
      user: 't',
      database: 'latest',
      password: token,
    });
    await c.connect();
    try {
      await c.query('SET TIME ZONE -5');
      assert.equal((await c.query('SHOW TimeZone')).rows[0].TimeZone, '<-05>+05');
      const r = await c.query<string[]>({
        text: "SELECT created_at, epoch_ms(created_at), extract(hour FROM created_at), extract(hour FROM timezone('UTC', created_at)) FROM snapshots",
        rowMode: 'array',
        types: { getTypeParser: () => (v: string) => v },
      });
      const [text, ms, hour, utcHour] = r.rows[0]!;
      assert.match(text!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?-05$/);
      assert.equal(new Date(text!.replace(' ', 'T').replace(/-05$/, '-05:00')).getTime(), Number(ms));
      assert.equal(Number(hour), (Number(utcHour) + 24 - 5) % 24, 'extract(hour) is not in the session zone');
    } finally {
      await c.end();
    }
  } finally {
    await server.close();
  }
});
