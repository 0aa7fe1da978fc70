/**
 * Heartbeats, with the real binaries and the default timeouts (prepare 30 s, agent 5 s, server
 * 20 s): an agent stopped with SIGSTOP (alive, answering nothing) is marked unresponsive, and a
 * snapshot fails its processes with AGENT_UNRESPONSIVE while the other agent's complete,
 * instead of waiting out the prepare timeout; after SIGCONT it answers again on the same
 * connection (busy-agent.test.ts: a busy capture thread is no hang). A server stopped
 * for longer than its own timeout marks no agent unresponsive when it runs again; a server
 * stopped for longer than the agents' timeout is left by the agents, which connect again when
 * it answers.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  agentIdOf,
  cliJson,
  createToken,
  type FleetSnapshot,
  fleetTag,
  type ListedAgent,
  type Proc,
  procState,
  type ServerProc,
  sleep,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import type { Target } from '../../support/target.js';

const tag = fleetTag();
const OK = 'host-ok';
const HUNG = 'host-hung';
const AGENT_TIMEOUT_MS = 5000;
let dataDir = '';
let server: ServerProc | undefined;
let userToken = '';
const agents = new Map<string, Proc>();
const targets: Target[] = [];
let okTarget: Target;
let hungTarget: Target;
let exprsPath = '';

const env = () => ({ PERISCOPE_TOKEN: userToken });

/** A fleet snapshot through the CLI, which exits 0 when every process was captured and 3 when some were. */
function snapshotAll(label: string, exitCode = 0): Promise<FleetSnapshot> {
  return cliJson<FleetSnapshot>(
    ['snapshot', '--server', server!.url, '--all', '--label', label, '--json'],
    env(),
    exitCode,
  );
}

async function agentState(host: string): Promise<ListedAgent | undefined> {
  const listed = await cliJson<ListedAgent[]>(['agents', '--server', server!.url, '--json'], env());
  return listed.find((a) => a.id === agentIdOf(host));
}

function kinds(snap: FleetSnapshot): Record<number, string> {
  return Object.fromEntries(snap.processes.map((p) => [p.pid, p.ok ? 'ok' : (p.error?.kind ?? '?')]));
}

before(async () => {
  dataDir = tempDir('periscope-fleet-hung-');
  exprsPath = (await buildFixture('exprs')).path;
  userToken = await createToken(dataDir, 'user', 'hung-user');
  const agentToken = await createToken(dataDir, 'agent', 'hung-agents');
  server = await startServerProc(dataDir);
  for (const h of [OK, HUNG]) agents.set(h, startAgentProc(server.url, agentToken, h, tag));
  okTarget = await startTagged(exprsPath, [], tag, OK);
  hungTarget = await startTagged(exprsPath, [], tag, HUNG);
  targets.push(okTarget, hungTarget);
  await waitForFleet(server.url, userToken, { [OK]: [okTarget.pid], [HUNG]: [hungTarget.pid] });
});

after(async () => {
  server?.proc.signal('SIGCONT');
  for (const p of agents.values()) await p.stop();
  for (const t of targets.reverse()) await t.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a hung agent (SIGSTOP): AGENT_UNRESPONSIVE for its processes, the others complete; after SIGCONT it answers again', async () => {
  const hung = agents.get(HUNG)!;
  const id = agentIdOf(HUNG);
  const stoppedAt = performance.now();
  hung.signal('SIGSTOP');
  try {
    const during = await snapshotAll('test=hung', 3);
    assert.deepEqual(kinds(during), { [okTarget.pid]: 'ok', [hungTarget.pid]: 'AGENT_UNRESPONSIVE' });
    const failed = during.processes.find((p) => p.pid === hungTarget.pid)!;
    assert.match(failed.error!.message, /has not answered heartbeats since .*hung or stopped/);
    await server!.proc.waitFor(
      new RegExp(`agent ${id} is unresponsive: nothing heard since`),
      10_000, // printed before the snapshot answered; its line comes through another pipe
      stoppedAt,
    );

    const listed = await agentState(HUNG);
    assert.equal(listed?.state, 'unresponsive', JSON.stringify(listed));
    assert.equal(listed?.connected, true, 'its connection is still open');
    assert.ok(listed?.unresponsiveSince, JSON.stringify(listed));
    assert.equal((await agentState(OK))?.state, 'connected');

    // Known unresponsive: the next snapshot does not even ask it.
    const again = await snapshotAll('test=hung-again', 3);
    assert.deepEqual(kinds(again), { [okTarget.pid]: 'ok', [hungTarget.pid]: 'AGENT_UNRESPONSIVE' });
    assert.match(procState(hungTarget.pid), /^[RS]$/, 'its process was never touched');
  } finally {
    hung.signal('SIGCONT');
  }
  await server!.proc.waitFor(new RegExp(`agent ${id} answers again after \\d+\\.\\d s`), 15_000, stoppedAt);
  assert.equal((await agentState(HUNG))?.state, 'connected');
  assert.deepEqual(hung.matching(/disconnected from|no heartbeat from/, stoppedAt), [], 'same connection');
  const after = await snapshotAll('test=hung-after');
  assert.deepEqual(kinds(after), { [okTarget.pid]: 'ok', [hungTarget.pid]: 'ok' });
});

test('a stopped server: no agent taken for hung when it runs again; stopped longer, the agents reconnect', async () => {
  const s = server!;
  await waitForFleet(s.url, userToken, { [OK]: [okTarget.pid], [HUNG]: [hungTarget.pid] });
  // Longer than the server's agent timeout, shorter than the agents' 20 s server timeout.
  let stoppedAt = performance.now();
  s.proc.signal('SIGSTOP');
  await sleep(AGENT_TIMEOUT_MS + 2000);
  s.proc.signal('SIGCONT');
  await sleep(2000);
  assert.deepEqual(
    s.proc.matching(/is unresponsive/, stoppedAt),
    [],
    'the server blamed its own stall on no agent',
  );
  for (const p of agents.values()) assert.deepEqual(p.matching(/disconnected from/, stoppedAt), [], p.tail());

  // Longer than the agents' server timeout.
  stoppedAt = performance.now();
  s.proc.signal('SIGSTOP');
  try {
    for (const p of agents.values())
      await p.waitFor(/no heartbeat from \S+ for \d+\.\d s; reconnecting/, 40_000, stoppedAt);
  } finally {
    s.proc.signal('SIGCONT');
  }
  for (const p of agents.values()) await p.waitFor(/connected to ws:/, 30_000, stoppedAt);
  await waitForFleet(s.url, userToken, { [OK]: [okTarget.pid], [HUNG]: [hungTarget.pid] });
  const snap = await snapshotAll('test=server-back');
  assert.deepEqual(kinds(snap), { [okTarget.pid]: 'ok', [hungTarget.pid]: 'ok' });
});
