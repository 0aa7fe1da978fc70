/**
 * `investigation show` on servers that share PostgreSQL lists the probe triggers that do not
 * resolve on any server's agents, not only its own (in-process servers, a real PostgreSQL,
 * file:// objects, a protocol-speaking agent on each reporting its probe status): B's agent's
 * binary lacks the probe's function, and A's `show` says so; then A's agent's new binary too,
 * and B's `show` lists both. The status goes through `agent_probe_status`, as `GET /v1/probes`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { InvestigationView } from '../../src/api/investigation-views.js';
import type { ProbeStatusMessage } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, CACHE_GET_SPEC, describeProcess, eventually, SharedServers } from './server-support.js';

const servers = new SharedServers();
before(() => servers.start({ real: true }));
after(() => servers.close());

/** A probe-status message: the probe attached on `ok` binaries, not resolving on `broken` ones. */
function status(ok: string[], broken: string[]): ProbeStatusMessage {
  return {
    type: 'probe-status',
    specVersion: 1,
    backend: 'bpf',
    binaries: [
      ...ok.map((buildId) => ({
        probe: 'cache_get',
        executable: '/usr/bin/orders',
        buildId,
        attached: ['x:1'],
      })),
      ...broken.map((buildId) => ({
        probe: 'cache_get',
        executable: '/usr/bin/orders',
        buildId,
        attached: [],
        error: `no function main.get in build ${buildId}`,
      })),
    ],
  };
}

test('investigation show lists the probes that do not resolve on every server’s agents', async () => {
  const a = await servers.server();
  const b = await servers.server();
  const admin = a.firstTokens?.admin ?? '';
  const agentToken = a.firstTokens?.agent ?? '';
  const put = await api(a.url, admin, 'PUT', '/v1/spec?force=true', { yaml: CACHE_GET_SPEC });
  assert.ok(put.status === 200 || put.status === 201, put.text);
  const added = await api<InvestigationView>(a.url, admin, 'POST', '/v1/investigations', {
    name: 'cache-miss',
    triggers: [{ probe: { name: 'cache_get' } }],
    snapshot: 'none',
  });
  assert.equal(added.status, 201, added.text);
  const onA = servers.agent('agent-a', 'host-a', [describeProcess('host-a', 1, ['orders'])]);
  const onB = servers.agent('agent-b', 'host-b', [describeProcess('host-b', 2, ['orders'])]);
  await onA.connect(a.url, agentToken);
  await onB.connect(b.url, agentToken);
  const unresolved = async (s: RunningServer) => {
    const r = await api<InvestigationView>(s.url, admin, 'GET', '/v1/investigations/cache-miss');
    assert.equal(r.status, 200, r.text);
    return (r.body.unresolved ?? []).map((u) => `${u.agentId} ${u.buildId} ${u.error}`).sort();
  };
  onA.send(status(['a1'], []));
  onB.send(status([], ['b1']));
  const onlyB = ['agent-b b1 no function main.get in build b1'];
  // B's agent's status reaches A through PostgreSQL within a beat or two.
  await eventually(async () => (await unresolved(a)).length > 0, 15_000, "B's agent's status on A");
  assert.deepEqual(await unresolved(a), onlyB, 'on A: B’s agent’s binary');
  assert.deepEqual(await unresolved(b), onlyB, 'on B: its own agent’s');
  // A's agent meets a new binary without the function: B lists it too.
  onA.send(status(['a1'], ['a2']));
  const both = ['agent-a a2 no function main.get in build a2', ...onlyB];
  await eventually(async () => (await unresolved(b)).length === 2, 15_000, "A's agent's new status on B");
  assert.deepEqual(await unresolved(b), both, 'on B');
  assert.deepEqual(await unresolved(a), both, 'on A');
});
