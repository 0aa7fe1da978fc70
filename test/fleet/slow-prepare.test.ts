/**
 * The first prepare of a binary on a CPU-starved agent, with the real agent and server: the
 * agent is put under a tight CPU quota (cgroup v1 cpu controller, support/cpu-quota.ts), so
 * loading the binary takes far longer than the server's --prepare-timeout although the agent
 * works all along. The agent reports the CPU its capture thread gets (`prepare-progress`), and
 * the server counts the timeout from the last progress: the snapshot succeeds. Under a hard
 * bound (--prepare-max-wait) shorter than the prepare, the snapshot fails with an error naming
 * the flag, the agent finishes the prepare anyway, and the next snapshot, under the same
 * quota, uses the binary it loaded instead of loading it again (which would fail again).
 *
 * A capture thread that gets no CPU at all (frozen in a cgroup-v1 freezer, as if stuck in a
 * read that never ends) while the agent's main thread runs on is given up after
 * --prepare-timeout, with an error that says it made no progress.
 *
 * The quota is lifted as soon as the agent has answered `prepared`, so the pause is not
 * starved too (a starved pause is not this test's subject).
 *
 * A spec check is waited for the same way: the first check of a binary on the starved agent
 * outlasts --prepare-timeout, and the binary is reported checked, not "did not answer".
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { after, test } from 'node:test';
import type { SpecCheckResponse } from '../../src/api/responses.js';
import { CpuQuota, cpuQuotaUnavailable } from '../../support/cpu-quota.js';
import {
  createToken,
  type FleetSnapshot,
  fleetTag,
  type Proc,
  type ServerProc,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import type { Target } from '../../support/target.js';
import { FREEZER, Freezer } from '../../support/thread-freezer.js';

/** The server's --prepare-timeout here: far shorter than a first prepare under the quota. */
const PREPARE_TIMEOUT_MS = 3000;
const cleanups: (() => Promise<void> | void)[] = [];

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Setup {
  readonly server: ServerProc;
  readonly agent: Proc;
  readonly target: Target;
  readonly userToken: string;
}

async function setUp(host: string, serverArgs: readonly string[]): Promise<Setup> {
  const tag = fleetTag();
  const dataDir = tempDir('periscope-slow-prepare-');
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const userToken = await createToken(dataDir, 'user', `${host}-user`);
  const agentToken = await createToken(dataDir, 'agent', `${host}-agent`);
  const server = await startServerProc(dataDir, '127.0.0.1:0', [
    '--prepare-timeout',
    String(PREPARE_TIMEOUT_MS),
    ...serverArgs,
  ]);
  cleanups.push(() => server.proc.stop().then(() => undefined));
  const agent = startAgentProc(server.url, agentToken, host, tag);
  cleanups.push(() => agent.stop().then(() => undefined));
  const exprs = await buildFixture('exprs');
  const target = await startTagged(exprs.path, [], tag, host);
  cleanups.push(() => target.kill());
  await waitForFleet(server.url, userToken, { [host]: [target.pid] });
  return { server, agent, target, userToken };
}

/** Puts the agent under `percent` of one CPU until it has answered `prepared` (from now). */
function starve(agent: Proc, percent: number): { quota: CpuQuota; lifted: Promise<void> } {
  const quota = new CpuQuota(agent.pid, percent);
  cleanups.push(() => quota.release());
  const lifted = agent.waitFor(/request \S+: prepared \d+ of \d+ processes/, 300_000, performance.now()).then(
    () => quota.release(),
    () => quota.release(),
  );
  return { quota, lifted };
}

async function snapshot(s: Setup): Promise<FleetSnapshot> {
  const r = await fetch(`${s.server.url}/v1/snapshots`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ select: `pid=${s.target.pid}` }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()) as FleetSnapshot;
}

/** The ms of the agent's last "prepared … in N ms" line since `since`. */
function preparedMs(agent: Proc, since: number): number {
  const lines = agent.matching(/request \S+: prepared \d+ of \d+ processes in \d+ ms/, since);
  assert.ok(lines.length > 0, agent.tail());
  return Number(/in (\d+) ms/.exec(lines.at(-1)!.text)![1]);
}

test('a first prepare slower than --prepare-timeout on a CPU-starved agent still makes the snapshot', async (t) => {
  const why = cpuQuotaUnavailable();
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const s = await setUp('host-slow-prepare', []);
  const since = performance.now();
  const { quota, lifted } = starve(s.agent, 3);
  const snap = await snapshot(s);
  await lifted;
  const tookMs = preparedMs(s.agent, since);
  t.diagnostic(
    `prepare under a 3% CPU quota: ${tookMs} ms; throttled in ${quota.throttledPeriods()} periods`,
  );
  assert.ok(quota.throttledPeriods() > 0, 'the quota slowed the agent');
  assert.ok(
    tookMs > PREPARE_TIMEOUT_MS,
    `the prepare outlasted --prepare-timeout (${tookMs} ms), else this tests nothing`,
  );
  assert.deepEqual(
    snap.processes.map((p) => [p.pid, p.ok, p.error?.message]),
    [[s.target.pid, true, undefined]],
    s.agent.tail(),
  );
});

test('a prepare past --prepare-max-wait fails naming the flag, and what it loaded serves the next snapshot', async (t) => {
  const why = cpuQuotaUnavailable();
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const MAX_WAIT_MS = 6000;
  const s = await setUp('host-late-prepare', ['--prepare-max-wait', String(MAX_WAIT_MS)]);
  const quota = new CpuQuota(s.agent.pid, 3);
  cleanups.push(() => quota.release());
  const since = performance.now();
  const first = await snapshot(s);
  assert.equal(first.processes.length, 1);
  const err = first.processes[0]!.error;
  assert.equal(err?.kind, 'TIMEOUT', JSON.stringify(first.processes));
  t.diagnostic(err!.message);
  assert.match(err!.message, /--prepare-max-wait/);
  assert.match(err!.message, /snapshot again/);
  // The agent goes on loading the binary, and keeps it.
  const late = await s.agent.waitFor(/prepare of process \d+ finished after/, 300_000, since);
  t.diagnostic(`${late.text}; throttled in ${quota.throttledPeriods()} periods`);
  // Still starved: a second load of the binary would pass --prepare-max-wait again.
  const since2 = performance.now();
  const lifted = s.agent
    .waitFor(/request \S+: prepared \d+ of \d+ processes/, 300_000, since2)
    .then(() => quota.release());
  const second = await snapshot(s);
  await lifted;
  t.diagnostic(`second prepare under the same quota: ${preparedMs(s.agent, since2)} ms`);
  assert.deepEqual(
    second.processes.map((p) => [p.pid, p.ok, p.error?.message]),
    [[s.target.pid, true, undefined]],
    s.agent.tail(),
  );
});

test('a capture thread that gets no CPU at all is given up after --prepare-timeout, saying it made no progress', async (t) => {
  const why =
    cpuQuotaUnavailable() ?? (existsSync(FREEZER) ? undefined : `no cgroup-v1 freezer at ${FREEZER}`);
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const s = await setUp('host-stuck-prepare', []);
  // Slow enough that the prepare is still under way when its thread is frozen.
  const quota = new CpuQuota(s.agent.pid, 3);
  cleanups.push(() => quota.release());
  const freezer = new Freezer('slow-prepare');
  cleanups.push(() => freezer.remove());
  const since = performance.now();
  const snap = snapshot(s);
  const started = await s.agent.waitFor(/capture thread started \(thread id (\d+)\)/, 120_000, since);
  await freezer.freeze([Number(/thread id (\d+)/.exec(started.text)![1])]);
  const t0 = performance.now();
  const stuck = await snap;
  const waited = performance.now() - t0;
  freezer.remove();
  quota.release();
  const err = stuck.processes[0]?.error;
  t.diagnostic(`given up ${Math.round(waited)} ms after the freeze: ${err?.message}`);
  assert.equal(err?.kind, 'TIMEOUT', JSON.stringify(stuck.processes));
  assert.match(err!.message, /made no progress \(no CPU\)/);
  assert.match(err!.message, /--prepare-timeout/);
  assert.ok(
    s.agent.matching(/request \S+: prepared \d+ of \d+ processes/, since).length === 0,
    `the prepare had not finished when it was given up: ${s.agent.tail()}`,
  );
});

test('a first spec check slower than --prepare-timeout on a CPU-starved agent still checks the binary', async (t) => {
  const why = cpuQuotaUnavailable();
  assert.equal(why, undefined, `this machine cannot run this test: ${why}`);
  const s = await setUp('host-slow-check', []);
  const since = performance.now();
  const quota = new CpuQuota(s.agent.pid, 3);
  cleanups.push(() => quota.release());
  const r = await fetch(`${s.server.url}/v1/spec/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      yaml: 'functions:\n  - function: main.park\n    table: parked\n    capture:\n      n: n\n',
      source: 'slow.yaml',
    }),
  });
  quota.release();
  assert.equal(r.status, 200, await r.clone().text());
  const check = ((await r.json()) as SpecCheckResponse).check;
  const line = await s.agent.waitFor(
    /spec check \S+: \d+ binaries, \d+ with problems, in \d+ ms/,
    10_000,
    since,
  );
  const tookMs = Number(/in (\d+) ms/.exec(line.text)![1]);
  t.diagnostic(
    `spec check under a 3% CPU quota: ${tookMs} ms; throttled in ${quota.throttledPeriods()} periods`,
  );
  assert.deepEqual(
    check.binaries.map((b) => [b.status, b.checkedBy === undefined, b.reason]),
    [['fits', false, undefined]],
    JSON.stringify(check.binaries),
  );
  assert.ok(
    tookMs > PREPARE_TIMEOUT_MS,
    `the check outlasted --prepare-timeout (${tookMs} ms), else this tests nothing`,
  );
});
