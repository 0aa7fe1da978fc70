/**
 * Agent ids, with the real binaries: two agents on one machine with the same --hostname take
 * the same default id; the first keeps its place, the second is refused with a message that
 * says what to do (--id) in its log, the server's log and `periscope agents`, and retries
 * slowly; `processes` never flips between their lists. Once the first is gone the second
 * takes the id. And an agent whose connection drops on its side only (the server's side
 * stays open, through a TCP proxy) takes its own place back at once: it is the same agent
 * (same instance), not a duplicate.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  agentIdOf,
  cli,
  cliJson,
  createToken,
  fleetTag,
  type ListedAgent,
  type ListedProcess,
  type Proc,
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
import { TcpProxy } from './tcp-proxy.js';

const tag = fleetTag();
const HOST = 'host-dup';
let dataDir = '';
let server: ServerProc | undefined;
let userToken = '';
let agentToken = '';
let exprsPath = '';
let first: Proc | undefined;
let second: Proc | undefined;
let firstTarget: Target;
let secondTarget: Target;
const others: Proc[] = [];
const targets: Target[] = [];

const env = () => ({ PERISCOPE_TOKEN: userToken });
const INSTANCE = /^\S+ agent id (\S+) \(.*\), instance ([0-9a-f]+)$/;

async function listedAgents(): Promise<ListedAgent[]> {
  return cliJson<ListedAgent[]>(['agents', '--server', server!.url, '--json'], env());
}

/** The id and instance an agent logged when it started. */
async function identity(agent: Proc): Promise<{ id: string; instance: string }> {
  const m = INSTANCE.exec((await agent.waitFor(INSTANCE)).text)!;
  return { id: m[1]!, instance: m[2]! };
}

before(async () => {
  dataDir = tempDir('periscope-fleet-dup-');
  exprsPath = (await buildFixture('exprs')).path;
  userToken = await createToken(dataDir, 'user', 'dup-user');
  agentToken = await createToken(dataDir, 'agent', 'dup-agents');
  server = await startServerProc(dataDir);
});

after(async () => {
  for (const p of [first, second, ...others]) await p?.stop();
  for (const t of targets.reverse()) await t.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('two agents with one id: the first keeps its place, the second is refused, says why in both logs and in `periscope agents`, and backs off', async () => {
  firstTarget = await startTagged(exprsPath, [], tag, 'dup-a');
  secondTarget = await startTagged(exprsPath, [], tag, 'dup-b');
  targets.push(firstTarget, secondTarget);
  first = startAgentProc(server!.url, agentToken, HOST, tag, [], 'dup-a');
  await waitForFleet(server!.url, userToken, { [HOST]: [firstTarget.pid] });

  const since = performance.now();
  second = startAgentProc(server!.url, agentToken, HOST, tag, [], 'dup-b');
  const [a, b] = [await identity(first), await identity(second)];
  assert.equal(a.id, agentIdOf(HOST), 'the default id: the hostname and a hash of the machine');
  assert.equal(b.id, a.id, 'same machine, same --hostname: same default id');
  assert.notEqual(b.instance, a.instance);

  const refusedLine = /refused this agent: (.*); retrying in (\d+\.\d) s$/;
  const line = await second.waitFor(refusedLine, 20_000);
  const [, message, delay] = refusedLine.exec(line.text)!;
  assert.ok(message!.startsWith(`agent id "${a.id}" is in use by another agent (hostname ${HOST}`), message);
  assert.match(message!, /start this one with --id NAME/);
  assert.ok(Number(delay) >= 15, `backs off instead of retrying at once: ${line.text}`);
  const serverLine = await server!.proc.waitFor(
    new RegExp(`refused agent ${a.id} from \\S+ \\(hostname ${HOST}\\)`),
  );
  assert.match(serverLine.text, /--id NAME/);

  const listed = await listedAgents();
  const mine = listed.filter((x) => x.id === a.id);
  assert.deepEqual(
    mine.map((x) => [x.state, x.connected, x.instance, x.processes]),
    [
      ['connected', true, a.instance, 1],
      ['refused', false, b.instance, 0],
    ],
    JSON.stringify(listed),
  );
  assert.match(mine[1]!.refusal ?? '', /--id NAME/);
  assert.ok((mine[1]!.attempts ?? 0) >= 1);
  const text = await cli(['agents', '--server', server!.url], env());
  assert.match(text.stdout, new RegExp(`${a.id} .* refused`));
  assert.match(text.stdout, new RegExp(`refused ${a.id} \\(\\S+\\): agent id .* --id NAME`));

  // The list of processes stays the first agent's: no flipping between the two.
  for (let i = 0; i < 10; i++) {
    const procs = await cliJson<ListedProcess[]>(['processes', '--server', server!.url, '--json'], env());
    assert.deepEqual(
      procs.map((p) => [p.agentId, p.pid]),
      [[a.id, firstTarget.pid]],
    );
    await sleep(300);
  }
  assert.deepEqual(first.matching(/disconnected from/, since), [], 'the first agent was never replaced');
  const refusals = second.matching(refusedLine, since).map((l) => l.t);
  for (let i = 1; i < refusals.length; i++)
    assert.ok(refusals[i]! - refusals[i - 1]! > 14_000, `retries 15-30 s apart: ${second.tail()}`);
  assert.equal(second.exited(), false, 'the refused agent keeps running');
});

test('once the first agent is gone, the refused one takes the id on its next try', async (t) => {
  if (!first || !second) return t.skip('the first test did not start the agents');
  const b = await identity(second);
  const stoppedAt = performance.now();
  await first.stop();
  await second.waitFor(/connected to ws:/, 45_000, stoppedAt);
  await waitForFleet(server!.url, userToken, { [HOST]: [secondTarget.pid] });
  const mine = (await listedAgents()).filter((x) => x.id === b.id);
  assert.deepEqual(
    mine.map((x) => [x.state, x.instance, x.processes]),
    [['connected', b.instance, 1]],
    'connected, and no longer listed as refused',
  );
});

test('an agent whose connection drops on its side only takes its own place back at once (same instance)', async () => {
  const proxy = await TcpProxy.start(server!.port);
  try {
    const host = 'host-net';
    const target = await startTagged(exprsPath, [], tag, host);
    targets.push(target);
    const agent = startAgentProc(proxy.url, agentToken, host, tag);
    others.push(agent);
    const me = await identity(agent);
    await waitForFleet(server!.url, userToken, { [HOST]: [secondTarget.pid], [host]: [target.pid] });

    const cutAt = performance.now();
    assert.equal(proxy.cutAgentSide(), 1);
    await agent.waitFor(/disconnected from/, 10_000, cutAt);
    await agent.waitFor(/connected to ws:/, 10_000, cutAt);
    const mine = (await listedAgents()).filter((x) => x.id === me.id);
    assert.deepEqual(
      mine.map((x) => [x.state, x.instance]),
      [['connected', me.instance]],
    );
    assert.deepEqual(agent.matching(/refused/), [], 'never taken for a duplicate of itself');
    assert.deepEqual(server!.proc.matching(new RegExp(`refused agent ${me.id}`)), []);
    await waitForFleet(server!.url, userToken, { [HOST]: [secondTarget.pid], [host]: [target.pid] });
  } finally {
    await proxy.close();
  }
});
