/**
 * The versions of each server's lists in a real PostgreSQL (pg-fleet.ts), by which the other
 * servers read an agent list or the probe statuses only when they changed: a version moves
 * when the content changed, not on a periodic rewrite; a server whose agent moved to another
 * loses its status row and its status version moves; rows of the schema before (no versions)
 * get one when the columns are added, and so do rows a server of that version inserts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openObjectStore } from '../../../src/store/open-objects.js';
import { PgFleet } from '../../../src/store/shared/pg-fleet.js';
import { connectPg } from '../../../src/store/shared/pg-schema.js';
import { freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

let pg: TestPostgres | undefined;
const pools: { end(): Promise<void> }[] = [];

before(async () => {
  pg = await startTestPostgres();
});

after(async () => {
  for (const p of pools) await p.end();
  pg?.stop();
});

test('a list’s version moves when its content changes, and only then', async () => {
  const url = pg!.database('versions');
  const pool = await connectPg(url);
  pools.push(pool);
  // The table as the version before created it, with a server's row.
  await pool.query(
    'CREATE TABLE periscope.servers (server_id text PRIMARY KEY, url text NOT NULL, started_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL)',
  );
  await pool.query("INSERT INTO periscope.servers VALUES ('old', 'http://old', now(), now())");
  const fleet = new PgFleet(pool, openObjectStore(freshObjectsUrl()), url);
  await fleet.ensureSchema();
  const versions = async () =>
    new Map((await fleet.liveServerVersions(5)).map((s) => [s.serverId, [s.agentsVersion, s.statusVersion]]));
  assert.equal((await versions()).get('old')?.length, 2, 'the row of before has versions');

  const agent = (id: string, procs: number[]) => ({
    id,
    view: { id },
    processes: procs.map((pid) => ({ pid })),
  });
  const status = (agentId: string, n: number) => ({ agentId, at: new Date().toISOString(), status: { n } });
  await fleet.heartbeat('x', 'http://x', [agent('a1', [1])], 60, [status('a1', 1)]);
  const [av1, sv1] = (await versions()).get('x')!;
  // A periodic rewrite, the same content: no version moves.
  await fleet.heartbeat('x', 'http://x', [agent('a1', [1])], 60, [status('a1', 1)], {
    agents: false,
    statuses: false,
  });
  await fleet.heartbeat('x', 'http://x', undefined, 60);
  assert.deepEqual((await versions()).get('x'), [av1, sv1]);
  // The agents changed; the statuses did not.
  await fleet.heartbeat('x', 'http://x', [agent('a1', [1, 2])], 60, undefined, {
    agents: true,
    statuses: false,
  });
  const [av2, sv2] = (await versions()).get('x')!;
  assert.notEqual(av2, av1);
  assert.equal(sv2, sv1);
  // Read only what is asked: one server's list, or none.
  assert.deepEqual(
    (await fleet.liveServers(5, ['x'])).map((s) => [s.serverId, s.agents.length]),
    [['x', 1]],
  );
  assert.deepEqual(await fleet.liveServers(5, []), []);
  assert.deepEqual(
    (await fleet.liveServers(5)).map((s) => s.serverId),
    ['old', 'x'],
    'without a list of servers: every live one',
  );

  // Agent a1 moves to server y: y takes its status row, and x's status version moves.
  await fleet.heartbeat('y', 'http://y', [agent('a1', [1, 2])], 60, [status('a1', 2)]);
  const [, sv3] = (await versions()).get('x')!;
  assert.notEqual(sv3, sv2, "x's statuses changed: it lost a1's");
  assert.deepEqual(await fleet.liveProbeStatuses(5, ['x']), []);
  assert.deepEqual(
    (await fleet.liveProbeStatuses(5, ['y'])).map((r) => [r.agentId, r.serverId, r.status]),
    [['a1', 'y', { n: 2 }]],
  );

  // A server of the version before inserts its row without the columns: it gets versions too.
  await pool.query("INSERT INTO periscope.servers VALUES ('older', 'http://older', now(), now())");
  const v = (await versions()).get('older');
  assert.ok(
    v?.every((x) => /^\d+$/.test(x)),
    JSON.stringify(v),
  );
});
