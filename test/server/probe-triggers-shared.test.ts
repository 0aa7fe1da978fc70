/**
 * Probe triggers of investigations on two servers sharing PostgreSQL and an object store
 * (in-process servers, a real PostgreSQL, file:// objects, an agent on each): every server's
 * probe table holds both agents' events, and each event is looked at by the server its agent
 * sent it to only — a matching event fires the investigation once, not once per server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { InvestigationView } from '../../src/api/investigation-views.js';
import type { QueryResponse } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, CACHE_GET_SPEC, describeProcess, eventually, SharedServers } from './server-support.js';

const servers = new SharedServers();
before(() => servers.start({ real: true }));
after(() => servers.close());

test('a probe trigger fires once for a matching event on servers that share a store: on the server its agent sent it to', async () => {
  const a = await servers.server();
  const admin = a.firstTokens?.admin ?? '';
  const agentToken = a.firstTokens?.agent ?? '';
  const put = await api(a.url, admin, 'PUT', '/v1/spec?force=true', { yaml: CACHE_GET_SPEC });
  assert.ok(put.status === 200 || put.status === 201, put.text);
  const added = await api<InvestigationView>(a.url, admin, 'POST', '/v1/investigations', {
    name: 'cache-b',
    triggers: [{ probe: { name: 'cache_get', where: "key = 'b'" } }],
    snapshot: 'none',
    limits: { minInterval: '0s', maxFires: 10 },
  });
  assert.equal(added.status, 201, added.text);
  // B starts after the add: it arms the stored investigation as it starts.
  const b = await servers.server();
  const onA = servers.agent('agent-a', 'host-a', [describeProcess('host-a', 1, ['orders'])]);
  const onB = servers.agent('agent-b', 'host-b', [describeProcess('host-b', 2, ['orders'])]);
  await onA.connect(a.url, agentToken);
  await onB.connect(b.url, agentToken);
  const event = (host: string, pid: number, key: string, goroutine: number) => ({
    probe: 'cache_get',
    process: `${host}:${pid}`,
    timeUs: Date.now() * 1000,
    goroutine,
    thread: 1,
    site: { kind: 'entry', function: 'main.get' },
    values: { key },
  });
  const none = { counts: [], histograms: [], notices: [] };
  onB.send({ type: 'probe-batch', events: [event('host-b', 2, 'b', 31)], ...none });
  const seen = async (s: RunningServer, n: number) =>
    Number(
      (await api<QueryResponse>(s.url, admin, 'POST', '/v1/query', { sql: 'SELECT count(*) FROM cache_get' }))
        .body.rows[0]?.[0],
    ) === n;
  await eventually(() => seen(a, 1), 15_000, "B's agent's event in A's probe table");
  // A's own agent sends an event that does not match: A looks at the table, which holds B's event too.
  onA.send({ type: 'probe-batch', events: [event('host-a', 1, 'a', 41)], ...none });
  await eventually(() => seen(b, 2), 15_000, "A's agent's event in B's probe table");
  // The firings as PostgreSQL holds them (every server's), through SQL on either server.
  const firings = async (s: RunningServer) =>
    (
      await api<QueryResponse>(s.url, admin, 'POST', '/v1/query', {
        sql: 'SELECT process_id, goroutine_id FROM investigation_firings ORDER BY firing_id',
      })
    ).body.rows;
  await eventually(async () => (await firings(a)).length >= 1, 15_000, 'the firing');
  // Both servers have looked at what their agents sent; nothing more fires.
  onA.send({ type: 'probe-batch', events: [event('host-a', 1, 'a', 42)], ...none });
  onB.send({ type: 'probe-batch', events: [event('host-b', 2, 'a', 32)], ...none });
  await eventually(() => seen(a, 4), 15_000, 'every event in the table');
  await a.investigations.idle();
  await b.investigations.idle();
  assert.deepEqual(await firings(a), [['host-b:2', 31]]);
  assert.deepEqual(await firings(b), [['host-b:2', 31]]);
});
