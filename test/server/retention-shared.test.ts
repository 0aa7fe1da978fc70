/**
 * Retention on servers sharing a scaled-out store (a real PostgreSQL, a file:// object store,
 * two real servers in this process): both start with --retain; an admin's pass on one deletes
 * the expired processes for both, and the fleet metadata of a trimmed snapshot loses them too;
 * the expired probe events go on both servers, counted in the answer and the audit entry.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AuditResponse, QueryResponse, SnapshotDetail } from '../../src/api/responses.js';
import { parseRetentionRule } from '../../src/store/retention.js';
import { api, SharedServers } from './server-support.js';

const DAY = 86_400_000;
const servers = new SharedServers();
before(() => servers.start({ real: true }));
after(() => servers.close());

function input(daysAgo: number) {
  const { real } = servers;
  return {
    processes: [
      { hostname: 'host-a', program: 'orders', snapshot: real.snapshot },
      { hostname: 'host-b', program: 'billing', snapshot: real.snapshot },
    ],
    specText: '',
    createdAt: new Date(Date.now() - daysAgo * DAY),
  };
}

test('servers sharing a store all take --retain; a pass on one deletes for both, fleet metadata included', async () => {
  const retention = {
    rules: [parseRetentionRule('orders=7d'), parseRetentionRule('*=30d')],
    intervalMs: 3_600_000,
  };
  const a = await servers.server({ retention });
  const b = await servers.server({ retention });
  const { real } = servers;
  const admin = a.firstTokens!.admin;
  const old = await a.context.store.addSnapshot(input(40));
  const trimmed = await a.context.store.addSnapshot(input(10));
  const pid = real.snapshot.pid;
  const result = (hostname: string) => ({
    key: hostname,
    agentId: '',
    hostname,
    pid,
    executable: 'goroutines',
    ok: true,
  });
  await a.context.meta.add({
    snapshotId: trimmed,
    requestId: 'r1',
    selector: 'all',
    requestedBy: 'admin',
    captureSkewMs: 0,
    durationMs: 1,
    processes: [result('host-a'), result('host-b')],
  });
  // Probe events of both programs, 10 days and 1 day old: orders' of 10 days go (7d), billing's stay (30d).
  const facts = ['orders', 'billing'].map((program, k) => ({
    processId: `host-${k}:${pid}`,
    hostname: `host-${k}`,
    pid,
    program,
    executable: program,
  }));
  const event = (process: string, daysAgo: number) => ({
    probe: 'calls',
    process,
    timeUs: (Date.now() - daysAgo * DAY) * 1000,
    goroutine: 1,
    thread: 1,
    site: { kind: 'entry' as const, function: 'main.handle', file: 'main.go', line: 1 },
    values: { n: daysAgo },
  });
  await a.context.store.addProbeBatch({
    agentId: 'agent-a',
    processes: facts,
    events: [event(facts[0]!.processId, 10), event(facts[1]!.processId, 10), event(facts[0]!.processId, 1)],
    counts: [],
    histograms: [],
    notices: [],
  });
  const events = async (s: typeof a) =>
    (
      await api<{ events: { process: string; values: { n: number } }[] }>(
        s.url,
        admin,
        'GET',
        '/v1/events?after=0',
      )
    ).body.events.map((e) => `${e.process}/${e.values.n}`);
  assert.deepEqual(await events(a), [`host-0:${pid}/10`, `host-1:${pid}/10`, `host-0:${pid}/1`]);
  assert.deepEqual(await events(b), await events(a));
  const before = await api<SnapshotDetail>(b.url, admin, 'GET', `/v1/snapshots/${trimmed}`);
  assert.equal(before.status, 200, before.text);
  assert.deepEqual(
    before.body.processes.map((p) => p.hostname),
    ['host-a', 'host-b'],
  );

  const pass = await api(b.url, admin, 'POST', '/v1/retention', {});
  assert.equal(pass.status, 200, pass.text);
  assert.deepEqual(pass.body.snapshotIds, [old]);
  assert.deepEqual(pass.body.trimmedSnapshotIds, [trimmed]);
  assert.equal(pass.body.processes, 3);
  assert.equal(pass.body.elsewhere, undefined);
  assert.equal(pass.body.probeRows, 1, 'the orders event of 10 days ago');
  const audit = await api<AuditResponse>(b.url, admin, 'GET', '/v1/audit?action=retention.delete');
  assert.equal((audit.body.entries.at(-1)!.details as { probeRows?: number }).probeRows, 1);
  assert.deepEqual(await events(b), [`host-1:${pid}/10`, `host-0:${pid}/1`]);
  // A learns of the pass within its look for new batches (every 500 ms).
  const end = Date.now() + 10_000;
  while ((await events(a)).length !== 2) {
    assert.ok(Date.now() < end, `A still reads ${(await events(a)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await events(a), await events(b));

  // A, which stored the snapshots and their metadata, answers without what B's pass deleted.
  const after = await api<SnapshotDetail>(a.url, admin, 'GET', `/v1/snapshots/${trimmed}`);
  assert.deepEqual(
    after.body.processes.map((p) => p.hostname),
    ['host-b'],
  );
  assert.equal((await api(a.url, admin, 'GET', `/v1/snapshots/${old}`)).status, 404);
  const q = await api<QueryResponse>(a.url, admin, 'POST', '/v1/query', {
    sql: 'SELECT snapshot_id, process_id FROM processes ORDER BY 1, 2',
    all: true,
  });
  assert.equal(q.status, 200, q.text);
  assert.deepEqual(q.body.rows, [[trimmed, `host-b:${pid}`]]);
});
