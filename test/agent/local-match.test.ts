/**
 * The agent limits itself, whatever the server asks (docs/security.md, "The agent's
 * capabilities"): with `--match`, a process outside its rules is never reported, and a
 * request naming it — a server that guessed or forged its key — is refused without touching it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTime } from '../../src/proc/process-info.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';

test('an agent with --match refuses to prepare or capture a process outside its rules, whatever the server asks', async () => {
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  server.spec = { version: 1, text: 'version: 1\n' };
  const targets: Target[] = [];
  let agent: ReturnType<typeof startAgent> | undefined;
  try {
    targets.push(await startTarget(bin.path, []), await startTarget(bin.path, []));
    const [allowed, other] = targets as [Target, Target];
    agent = startAgent(server.url, TOKEN, { localMatch: { pid: `^${allowed.pid}$` } });
    const listed = await server.waitFor(
      'processes',
      (m) => m.processes.some((p) => p.pid === allowed.pid),
      10_000,
    );
    assert.ok(!listed.processes.some((p) => p.pid === other.pid), 'the other process is not reported');
    const allowedKey = listed.processes.find((p) => p.pid === allowed.pid)!.key;
    // The key the agent would give the other process, were it in its rules.
    const forged = allowedKey
      .replace(`:${allowed.pid}:`, `:${other.pid}:`)
      .replace(/:\d+$/, `:${startTime(other.pid)}`);
    const keys = [allowedKey, forged];
    server.send({ type: 'prepare', requestId: 'm1', keys, specVersion: 1 });
    const prepared = await server.waitFor('prepared', (m) => m.requestId === 'm1', 20_000);
    const byKey = new Map(prepared.results.map((r) => [r.key, r.error]));
    assert.equal(byKey.get(allowedKey), undefined);
    assert.equal(byKey.get(forged)?.kind, 'PROCESS_MISSING');
    assert.match(byKey.get(forged)!.message, /not monitored by this agent/);
    server.send({ type: 'capture', requestId: 'm1', keys });
    const ok = await server.waitFor('captured', (m) => m.requestId === 'm1' && m.key === allowedKey, 20_000);
    assert.equal(ok.error, undefined, ok.error?.message);
    const refused = await server.waitFor('captured', (m) => m.requestId === 'm1' && m.key === forged, 20_000);
    assert.equal(refused.error?.kind, 'PROCESS_MISSING');
    assert.equal(refused.snapshot, undefined);
  } finally {
    agent?.stop();
    for (const t of targets) await t.kill();
    await server.close();
  }
});
