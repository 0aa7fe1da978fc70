/**
 * A busy capture thread is no hang, with the real binaries: the agent's capture thread spends
 * seconds on a process with 300,000 goroutines while its main thread keeps answering the
 * server's heartbeats (its `lastSeen` in /v1/agents moves on all along, and it is never
 * marked unresponsive under an agent timeout of 2 s, shorter than the capture: the default
 * 5 s was, until decoding got faster, and a test that holds only while the code is slow
 * tests nothing. The agent's pause cap is raised so all the goroutines are copied
 * and decoded: the cap is not this test's subject, test/snapshot/pause-cap.test.ts is).
 *
 * The server gives up on that capture after 1.5 s (`--capture-timeout`), so that it never takes
 * in the large snapshot (on a loaded machine that costs the server's main thread tens of
 * seconds, which is not this test's business). How long the capture thread was busy is read
 * from the agent's log: from the big process's `prepared` to the `prepared` of a small request
 * made right after, which the capture thread takes up only once the capture is done.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  agentIdOf,
  createToken,
  type FleetSnapshot,
  fleetTag,
  type ListedAgent,
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

const tag = fleetTag();
const HOST = 'host-busy';
/** The server's --agent-timeout here (the default is 5 s). */
const AGENT_TIMEOUT_MS = 2000;
let dataDir = '';
let server: ServerProc | undefined;
let userToken = '';
let agent: Proc | undefined;
const targets: Target[] = [];

before(async () => {
  dataDir = tempDir('periscope-fleet-busy-');
  userToken = await createToken(dataDir, 'user', 'busy-user');
  const agentToken = await createToken(dataDir, 'agent', 'busy-agent');
  server = await startServerProc(dataDir, '127.0.0.1:0', [
    '--capture-timeout',
    '1500',
    '--prepare-timeout',
    '600000',
    '--agent-timeout',
    String(AGENT_TIMEOUT_MS),
  ]);
  agent = startAgentProc(server.url, agentToken, HOST, tag, ['--pause-cap-ms', '10000']);
});

after(async () => {
  await agent?.stop();
  for (const t of targets.reverse()) await t.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** POST /v1/snapshots (no client timeout: the prepare may wait a long time). */
async function snapshot(select: string): Promise<FleetSnapshot> {
  const r = await fetch(`${server!.url}/v1/snapshots`, {
    method: 'POST',
    headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ select }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()) as FleetSnapshot;
}

/** The wall-clock time an agent log line was written (its leading ISO timestamp). */
function logTime(line: { text: string }): number {
  return Date.parse(line.text.slice(0, line.text.indexOf(' ')));
}

test('an agent keeps answering heartbeats while its capture thread is busy', async (t) => {
  const [goroutines, exprs] = await Promise.all([buildFixture('goroutines'), buildFixture('exprs')]);
  // 300,000 goroutines take a while to start on a busy machine.
  const big = await startTagged(goroutines.path, ['-extra', '300000'], tag, HOST, {}, 120_000);
  targets.push(big);
  const small = await startTagged(exprs.path, [], tag, HOST);
  targets.push(small);
  await waitForFleet(server!.url, userToken, { [HOST]: [big.pid, small.pid] });

  const since = performance.now();
  const seen: { at: number; lastSeen: number; state: string }[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      try {
        const r = await fetch(`${server!.url}/v1/agents`, {
          headers: { authorization: `Bearer ${userToken}` },
        });
        const a = ((await r.json()) as { agents: ListedAgent[] }).agents.find(
          (x) => x.id === agentIdOf(HOST),
        );
        if (a) seen.push({ at: Date.now(), lastSeen: Date.parse(a.lastSeen), state: a.state });
      } catch {
        // A kept-alive connection the server closed meanwhile: ask again.
      }
      await sleep(250);
    }
  })();
  let after: FleetSnapshot;
  try {
    const busy = await snapshot(`pid=${big.pid}`);
    assert.deepEqual(
      busy.processes.map((p) => [p.pid, p.error?.kind]),
      [[big.pid, 'TIMEOUT']],
      'the server stopped waiting for the big capture (not for the agent: it answered)',
    );
    after = await snapshot(`pid=${small.pid}`);
  } finally {
    watching = false;
    await watch;
    await big.kill();
  }
  assert.deepEqual(
    after.processes.map((p) => [p.pid, p.ok]),
    [[small.pid, true]],
    `${JSON.stringify(after.processes)} ${agent!.tail(20)}`,
  );
  const prepared = agent!.matching(/request \S+: prepared \d+ of \d+ processes/, since);
  assert.equal(prepared.length, 2, agent!.tail());
  const [from, to] = prepared.map(logTime) as [number, number];
  const during = new Set(seen.map((x) => x.lastSeen).filter((x) => x > from && x < to));
  t.diagnostic(`capture thread busy ${to - from} ms; ${during.size} heartbeats seen meanwhile`);
  assert.ok(
    to - from > AGENT_TIMEOUT_MS,
    `the capture thread was busy longer than the agent timeout: ${to - from} ms`,
  );
  assert.ok(during.size >= 2, `heartbeats answered while the capture thread was busy: ${during.size}`);
  assert.deepEqual(
    seen.filter((x) => x.state !== 'connected'),
    [],
    'never taken for unresponsive',
  );
  assert.deepEqual(server!.proc.matching(/is unresponsive/, since), []);
});
