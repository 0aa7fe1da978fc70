/**
 * Discovery through the kernel's process events, with a real agent and real processes: the
 * passes over /proc are set ten minutes apart, so only an event can make these tests pass
 * (each also checks that no pass ran meanwhile). A process started after the agent, its
 * exit, a shell that exec's a Go program, a Go program that exec's `sleep` or another Go
 * program; events the kernel dropped (an overrun of a tiny receive buffer), which bring a full
 * pass at once. Then the fallbacks: events switched off, and a discovery in a user namespace
 * (where the kernel ignores the subscription) that polls and still finds its process.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Discovery } from '../../src/agent/discovery.js';
import type { ProcessDescription } from '../../src/protocol/messages.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent, type TestAgent } from './harness.js';

const TOKEN = 'agent-token';
const LONG = 600_000;

/** An agent on events whose passes over /proc (listings and full ones) are ten minutes apart, with its server. */
async function eventAgent(): Promise<{ server: FakeServer; a: TestAgent; passes: () => number }> {
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN, { rescanMs: LONG, checkMs: LONG });
  await a.waitLog(
    /discovery: kernel process events \(proc connector\); a listing of \/proc every 600 s and a full pass every 600 s, at once when the kernel reports lost events/,
  );
  await server.waitFor('processes');
  const stats = a.agent.discoveryStats();
  assert.equal(stats.mode, 'events');
  const count = (): number => {
    const s = a.agent.discoveryStats();
    return s.fullPasses + s.quickPasses;
  };
  const at = count();
  return { server, a, passes: () => count() - at };
}

/** Spawns a process of this test (tagged for the agent) with stdin kept open. */
function spawnTagged(a: TestAgent, cmd: string, args: string[]): ChildProcess {
  return spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...a.env } });
}

const has = (pid: number) => (m: { processes: readonly ProcessDescription[] }) =>
  m.processes.some((p) => p.pid === pid);

test('a Go process started after the agent is reported from its exec event, and dropped at its exit', async () => {
  const bin = await buildFixture('exprs');
  const { server, a, passes } = await eventAgent();
  let t: Target | undefined;
  try {
    t = await startTarget(bin.path, [], a.env);
    const pid = t.pid;
    const seen = await server.waitFor('processes', has(pid), 10_000);
    assert.equal(seen.processes.find((p) => p.pid === pid)?.executable, realpathSync(bin.path));
    assert.equal(passes(), 0, 'found without a pass over /proc');
    const killedAt = performance.now();
    await t.kill();
    await server.waitFor('processes', (m) => !has(pid)(m), 10_000, killedAt);
    assert.equal(passes(), 0, 'dropped without a pass over /proc');
    const stats = a.agent.discoveryStats();
    assert.equal(stats.overruns, 0);
    assert.ok(stats.execEvents > 0 && stats.exitEvents > 0);
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});

test('a shell that execs a Go program is reported under the same pid', async () => {
  const bin = await buildFixture('exprs');
  const { server, a, passes } = await eventAgent();
  const sh = spawnTagged(a, 'sh', ['-c', 'read line; exec "$0"', bin.path]);
  try {
    const pid = sh.pid!;
    await new Promise((r) => setTimeout(r, 500)); // the shell is known, as a non-Go process
    assert.ok(!server.messages('processes').some(has(pid)));
    sh.stdin!.write('go\n');
    const seen = await server.waitFor('processes', has(pid), 10_000);
    assert.equal(seen.processes.find((p) => p.pid === pid)?.executable, realpathSync(bin.path));
    assert.equal(passes(), 0, 'found from the exec event');
  } finally {
    sh.kill('SIGKILL');
    a.stop();
    await server.close();
  }
});

test('a Go process that execs sleep is dropped; one that execs another Go program is reported anew', async () => {
  const [execer, exprs] = await Promise.all([buildFixture('execer'), buildFixture('exprs')]);
  const { server, a, passes } = await eventAgent();
  const toSleep = spawnTagged(a, execer.path, []);
  const toGo = spawnTagged(a, execer.path, []);
  try {
    const [p1, p2] = [toSleep.pid!, toGo.pid!];
    await server.waitFor('processes', (m) => has(p1)(m) && has(p2)(m), 10_000);
    const before = performance.now();
    toSleep.stdin!.write('/bin/sleep 60\n');
    await server.waitFor('processes', (m) => !has(p1)(m) && has(p2)(m), 10_000, before);
    // Alone, so that nothing else changes the list: same pid, same key, another executable.
    const again = performance.now();
    toGo.stdin!.write(`${exprs.path}\n`);
    const after = await server.waitFor(
      'processes',
      (m) => m.processes.find((p) => p.pid === p2)?.executable === realpathSync(exprs.path),
      10_000,
      again,
    );
    const p = after.processes.find((x) => x.pid === p2)!;
    assert.equal(p.labels.exe_name, 'exprs');
    assert.equal(toSleep.exitCode, null, 'the sleep runs on under the same pid');
    assert.equal(passes(), 0, 'both seen from exec events');
  } finally {
    toSleep.kill('SIGKILL');
    toGo.kill('SIGKILL');
    a.stop();
    await server.close();
  }
});

test('with events switched off, discovery polls /proc and says so once', async () => {
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN, { procEvents: false, rescanMs: LONG });
  let t: Target | undefined;
  try {
    await a.waitLog(/discovery: kernel process events switched off; polling \/proc every 250 ms/);
    t = await startTarget(bin.path, [], a.env);
    await server.waitFor('processes', has(t.pid), 10_000);
    const stats = a.agent.discoveryStats();
    assert.equal(stats.mode, 'polling');
    assert.equal(stats.execEvents, 0);
    assert.ok(stats.quickPasses > 0);
    assert.equal(a.logs.filter((l) => /^discovery:/.test(l.line)).length, 1);
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});

test('where the kernel ignores or refuses the subscription (a user namespace), discovery polls and finds its process', async () => {
  const bin = await buildFixture('exprs');
  const child = join(ROOT, 'dist', 'test', 'agent', 'discovery-child.js');
  const { stdout } = await promisify(execFile)('unshare', ['-U', '-r', process.execPath, child, bin.path], {
    timeout: 60_000,
  });
  const lines = stdout.trim().split('\n');
  assert.ok(
    lines.some((l) =>
      // Kernels differ: some take the bind and never answer, others refuse it (EPERM).
      /^log discovery: kernel process events unavailable: (no answer to the subscription within 2000 ms \(the agent must run in the initial PID and user namespaces\)|bind\(CN_IDX_PROC\) failed with errno 1 \(EPERM[^)]*\)); polling \/proc every 250 ms/.test(
        l,
      ),
    ),
    stdout,
  );
  assert.ok(
    lines.some((l) => /^found \d+ polling$/.test(l)),
    stdout,
  );
  assert.equal(lines.filter((l) => l.startsWith('log discovery:')).length, 1, `said once: ${stdout}`);
});

test('events the kernel dropped are noticed: a full pass runs at once and finds what they told', async () => {
  const bin = await buildFixture('exprs');
  const tag = `overrun-${process.pid}`;
  // The latest list reported (onChange is called on changes only, and may report the target
  // before startTarget returns: a quiet machine's discovery thread is that quick).
  let latest: readonly number[] = [];
  let target: Target | undefined;
  // The smallest receive buffer: a burst of processes overruns it; the passes over /proc
  // are ten minutes apart, so only the overrun can bring a full pass.
  const d = new Discovery({
    node: 'overrun',
    envAllow: ['PERISCOPE_TEST_ID'],
    localMatch: { 'env.PERISCOPE_TEST_ID': `^${tag}$` },
    rescanMs: LONG,
    checkMs: LONG,
    rcvbuf: 1,
    onChange: (list) => {
      latest = list.map((p) => p.pid);
    },
  });
  d.start();
  try {
    await waitUntil(() => d.stats().mode !== 'starting');
    assert.equal(d.stats().mode, 'events');
    const before = d.stats();
    target = await startTarget(bin.path, [], { PERISCOPE_TEST_ID: tag });
    // Bursts of processes started at once, until one overruns the buffer: on a quiet machine
    // the discovery thread can keep up with processes started one after another.
    const burst = () => promisify(execFile)('sh', ['-c', 'for i in $(seq 300); do /bin/true & done; wait']);
    for (let end = Date.now() + 20_000; d.stats().overruns === before.overruns && Date.now() < end; )
      await burst();
    const pid = target.pid;
    await waitUntil(
      () => latest.includes(pid) && d.stats().overruns > before.overruns,
      20_000,
      () => JSON.stringify({ target: pid, listed: latest, stats: d.stats(), before }),
    );
    const after = d.stats();
    assert.ok(
      after.fullPasses > before.fullPasses,
      `${after.fullPasses} full passes, ${before.fullPasses} before`,
    );
    assert.equal(after.quickPasses, before.quickPasses);
  } finally {
    d.stop();
    await target?.kill();
  }
});

async function waitUntil(ok: () => boolean, ms = 10_000, state?: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`not within ${ms} ms${state ? `: ${state()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
