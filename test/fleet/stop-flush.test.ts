/**
 * A `periscope server` on the scaled-out store (a real PostgreSQL and SeaweedFS) stopped by
 * SIGTERM while an agent's probe data streams in: every batch it had read before the signal is
 * in the shared store once it has exited (read through a server started afresh on the same
 * store); the last second's flush, and one under way at the signal, are not lost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { QueryResponse } from '../../src/api/responses.js';
import { sleep } from '../../support/fleet.js';
import { api, describeProcess, FakeAgent } from '../server/server-support.js';
import { ScaledOutServers } from './scaled-out-servers.js';

const fleet = new ScaledOutServers('stop-flush');
const agents: FakeAgent[] = [];
before(() => fleet.start({ s3: true }));
after(async () => {
  for (const a of agents) await a.close();
  await fleet.close();
});

/** Probe event `n` (its goroutine id is `n`). */
const event = (n: number) => ({
  probe: 'calls',
  process: 'host-sf:7',
  timeUs: Date.now() * 1000,
  goroutine: n,
  thread: 1,
  site: { kind: 'entry', function: 'main.handle' },
  values: { n },
});

test('probe rows a server had read just before SIGTERM are in the shared store after it exits', async () => {
  const agentToken = await fleet.token('agent', 'agent-sf');
  const admin = await fleet.token('admin', 'admin-sf');
  const [a] = await fleet.startServers(['a']);
  const agent = new FakeAgent('agent-sf', 'host-sf', [describeProcess('host-sf', 7, ['orders'])], () => {
    throw new Error('this test takes no snapshot');
  });
  agents.push(agent);
  await agent.connect(a.url, agentToken);
  // Batches for 2.5 s: the server flushes every second, so a flush is likely under way at the
  // signal, with batches buffered behind it.
  let sent = 0;
  const until = Date.now() + 2500;
  while (Date.now() < until) {
    const events = Array.from({ length: 50 }, () => event(sent++));
    agent.send({ type: 'probe-batch', events, counts: [], histograms: [], notices: [] });
    await sleep(10);
  }
  await agent.roundTrip(); // the server has read every batch
  a.proc.signal('SIGTERM');
  assert.equal(await a.proc.exitStatus(), 0, a.proc.tail());
  assert.equal(a.proc.matching(/gave up/).length, 0, a.proc.tail());
  const [b] = await fleet.startServers(['b']);
  const got = await api<QueryResponse>(b.url, admin, 'POST', '/v1/query', {
    sql: 'SELECT count(*), count(DISTINCT goroutine_id), min(goroutine_id), max(goroutine_id) FROM probe_events',
  });
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.rows[0]?.map(Number), [sent, sent, 0, sent - 1]);
});
