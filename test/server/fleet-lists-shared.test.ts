/**
 * The fleet's lists on servers sharing PostgreSQL, now that a server reads another's agent
 * list and probe statuses only when their version moved (fleet-view.ts): in-process servers
 * on a real PostgreSQL, protocol-speaking agents. What B's agent reports (a new process, a
 * probe status) is listed on A within a few beats; the agent moving from B to A is listed once,
 * with A, on both servers, and its probe status is the one it sent A, on both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProbeStatusMessage } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, describeProcess, eventually, SharedServers } from './server-support.js';

const servers = new SharedServers();
before(() => servers.start({ real: true }));
after(() => servers.close());

interface AgentRow {
  readonly id: string;
  readonly connected: boolean;
  readonly server?: string;
  readonly serverUrl?: string;
}

/** A probe status whose backend tells which server the agent sent it to (GET /v1/probes shows it per agent). */
function status(backend: 'tracefs' | 'bpf'): ProbeStatusMessage {
  return { type: 'probe-status', specVersion: 1, backend, binaries: [] };
}

test('what an agent of B reports, and its move to A, are listed alike on both servers', async () => {
  const a = await servers.server();
  const b = await servers.server();
  const admin = a.firstTokens?.admin ?? '';
  const agentToken = a.firstTokens?.agent ?? '';
  const pids = async (s: RunningServer) =>
    (
      await api<{ processes: { agentId: string; pid: number }[] }>(
        s.url,
        admin,
        'GET',
        '/v1/processes?select=hostname=host-m',
      )
    ).body.processes
      .map((p) => `${p.agentId}:${p.pid}`)
      .sort();
  const listed = async (s: RunningServer) =>
    (await api<{ agents: AgentRow[] }>(s.url, admin, 'GET', '/v1/agents')).body.agents
      .filter((x) => x.id === 'mover' && x.connected)
      .map((x) => x.serverUrl);
  const builds = async (s: RunningServer) =>
    (
      await api<{ agents: { agentId: string; backend: string }[] }>(s.url, admin, 'GET', '/v1/probes')
    ).body.agents
      .filter((x) => x.agentId === 'mover')
      .map((x) => x.backend);

  const procs = [describeProcess('host-m', 1, ['orders'])];
  const onB = servers.agent('mover', 'host-m', procs);
  await onB.connect(b.url, agentToken);
  await eventually(async () => (await pids(a)).length === 1, 15_000, "B's agent's process on A");
  assert.deepEqual(await listed(a), [b.url]);
  // A new process of B's agent: its list's version moves, A reads it again.
  onB.send({ type: 'processes', processes: [...procs, describeProcess('host-m', 2, ['orders'])] });
  await eventually(async () => (await pids(a)).length === 2, 15_000, "B's agent's new process on A");
  assert.deepEqual(await pids(a), ['mover:1', 'mover:2']);
  // Its probe status reaches A the same way.
  onB.send(status('tracefs'));
  await eventually(async () => (await builds(a)).some((x) => x === 'tracefs'), 15_000, 'the status on A');
  // The agent moves to A (its connection to B ends; it connects to A and reports anew).
  await onB.close();
  const onA = servers.agent('mover', 'host-m', procs);
  await onA.connect(a.url, agentToken);
  onA.send(status('bpf'));
  for (const s of [a, b])
    await eventually(
      async () => {
        const l = await listed(s);
        const st = await builds(s);
        return (
          l.length === 1 &&
          l[0] === a.url &&
          (await pids(s)).join() === 'mover:1' &&
          st.length === 1 &&
          st[0] === 'bpf'
        );
      },
      15_000,
      `the moved agent listed once, with A, and its status from A, on ${s.url}`,
    );
});
