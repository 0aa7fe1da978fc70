/**
 * Compaction of probe data on servers sharing a scaled-out store (a real PostgreSQL, a file://
 * object store, two real servers in this process): the servers' own timers merge the flushes
 * (one server at a time), and `GET /v1/events` answers the same on both before and after,
 * with nothing logged as failed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../../src/server/server.js';
import { api, SharedServers } from './server-support.js';

const servers = new SharedServers();
before(() => servers.start());
after(() => servers.close());

test('the servers’ timers compact the flushes; GET /v1/events answers the same on both before and after', async () => {
  const lines: string[] = [];
  const probeCompaction = { intervalMs: 300, ageMs: 1500, garbageAgeMs: 0 };
  const a = await servers.server({ log: (l) => lines.push(l) }, { probeCompaction });
  const b = await servers.server({ log: (l) => lines.push(l) }, { probeCompaction });
  const pg = servers.pg;
  const admin = a.firstTokens!.admin;
  for (let i = 0; i < 6; i++)
    await (i % 2 === 0 ? a : b).context.store.addProbeBatch({
      agentId: `agent-${i % 2}`,
      processes: [{ processId: 'h:1', hostname: 'h', pid: 1, program: 'orders', executable: 'orders' }],
      events: [0, 1].map((k) => ({
        probe: 'calls',
        process: 'h:1',
        timeUs: Date.now() * 1000 + k,
        goroutine: 1,
        thread: 1,
        site: { kind: 'entry' as const, function: 'main.handle', file: 'main.go', line: 1 },
        values: { n: i * 10 + k },
      })),
      counts: [],
      histograms: [],
      notices: [],
    });
  const events = async (s: RunningServer) =>
    (await api<{ events: unknown[] }>(s.url, admin, 'GET', '/v1/events?after=0&limit=100')).body.events;
  const want = await events(a);
  assert.equal(want.length, 12);
  assert.deepEqual(await events(b), want);
  const batches = () => Number(pg.psql('SELECT count(*) FROM periscope.probe_batches').trim());
  assert.ok(batches() >= 2, `${batches()} flushes`);
  // Merged as they age: no flush left (merged batches of the hour still open stay as they are).
  const flushes = () =>
    Number(pg.psql('SELECT count(*) FROM periscope.probe_batches WHERE batch_first IS NULL').trim());
  const end = Date.now() + 20_000;
  while (flushes() > 0 || Number(pg.psql('SELECT count(*) FROM periscope.probe_garbage').trim()) > 0) {
    assert.ok(Date.now() < end, `still ${flushes()} flushes: ${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(batches() < 6, `${batches()} batches`);
  assert.deepEqual(await events(a), want);
  assert.deepEqual(await events(b), want);
  assert.deepEqual(
    lines.filter((l) => /compaction failed/.test(l)),
    [],
  );
});
