/** Discovery through a real agent and server: new and exiting processes, program rules, binaries read once. */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { test } from 'node:test';
import { Discovery } from '../../src/agent/discovery.js';
import { ExeCache } from '../../src/agent/exe-cache.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';

test('a process started after the agent is reported within seconds, and dropped when it exits', async () => {
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN);
  let t: Target | undefined;
  try {
    await server.waitFor('processes');
    assert.equal(server.messages('processes')[0]?.processes.length, 0);
    const started = performance.now();
    t = await startTarget(bin.path, [], a.env);
    const pid = t.pid;
    const seen = await server.waitFor('processes', (m) => m.processes.some((p) => p.pid === pid), 5000);
    const took = performance.now() - started;
    assert.ok(took < 3000, `reported after ${took} ms`);
    const p = seen.processes.find((x) => x.pid === pid)!;
    assert.equal(p.executable, realpathSync(bin.path)); // /proc/PID/exe names the file, not a symlink to it
    assert.equal(p.labels.exe_name, 'exprs');
    assert.equal(p.goVersion, bin.goVersion);
    assert.deepEqual(p.programs, []);
    await a.waitLog(/monitoring 1 Go processes/);

    const killedAt = performance.now();
    await t.kill();
    await server.waitFor('processes', (m) => !m.processes.some((x) => x.pid === pid), 5000, killedAt);
    assert.ok(performance.now() - killedAt < 3000);
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});

test("the spec's program rules pick the processes reported and name their programs", async () => {
  const [exprs, hello] = await Promise.all([buildFixture('exprs'), buildFixture('signalnotify')]);
  const server = await FakeServer.start(TOKEN);
  server.spec = {
    version: 7,
    text: 'version: 1\nprograms:\n  - name: expressions\n    match:\n      exe_name: "^exprs$"\n',
  };
  const a = startAgent(server.url, TOKEN);
  const targets: Target[] = [];
  try {
    targets.push(await startTarget(exprs.path, [], a.env), await startTarget(hello.path, [], a.env));
    const [e, s] = targets;
    const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === e!.pid), 30_000);
    assert.deepEqual(
      m.processes.map((p) => [p.pid, p.programs]),
      [[e!.pid, ['expressions']]],
    );
    // A new spec without rules: every Go process is reported.
    server.send({ type: 'spec', specVersion: 8, spec: 'version: 1\n' });
    const all = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === s!.pid), 30_000);
    assert.equal(all.processes.length, 2);
    await a.waitLog(/spec version 8: 0 program rules/);
  } finally {
    for (const t of targets) await t.kill();
    a.stop();
    await server.close();
  }
});

test('each binary is read once however many processes run it; non-Go processes are skipped', async () => {
  const bin = await buildFixture('exprs');
  const id = `once-${process.pid}`;
  const targets: Target[] = [];
  try {
    for (let i = 0; i < 3; i++) targets.push(await startTarget(bin.path, [], { PERISCOPE_TEST_ID: id }));
    const d = new Discovery({
      node: 'n',
      envAllow: ['PERISCOPE_TEST_ID'],
      localMatch: { 'env.PERISCOPE_TEST_ID': id },
    });
    d.scan(true);
    assert.deepEqual(
      d.processes().map((p) => p.pid),
      targets.map((t) => t.pid).sort((a, b) => a - b),
    );
    // The `sh` parents of the fixtures (and everything else on the machine) are not Go.
    assert.ok(!d.processes().some((p) => targets.some((t) => t.child.pid === p.pid)));
    const cache = new ExeCache();
    for (const t of targets) assert.equal(cache.factsFor(t.pid)?.isGo, true);
    assert.equal(cache.reads, 1, 'three processes of one binary: read once');
    assert.equal(cache.factsFor(targets[0]!.child.pid!)?.isGo, false, 'sh is not Go');
    assert.equal(cache.reads, 1, 'a non-Go binary is never read');
  } finally {
    for (const t of targets) await t.kill();
  }
});
