/**
 * Snapshot requests through a real agent and server: prepare + capture of real fixtures, and
 * every per-process error kind (process missing, stripped binary, spec mismatch, not prepared).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capturedSnapshot } from '../../src/protocol/messages.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';
const SPEC = `version: 1
functions:
  - function: main.park
    table: parked
    capture:
      n: n
      port: srv.Addr.Port
`;

async function setup(spec = SPEC) {
  const server = await FakeServer.start(TOKEN);
  server.spec = { version: 3, text: spec };
  const a = startAgent(server.url, TOKEN, { executor: { deflateOver: 64 << 10 } });
  return { server, a };
}

async function keyOf(server: FakeServer, t: Target): Promise<string> {
  const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === t.pid), 30_000);
  return m.processes.find((p) => p.pid === t.pid)!.key;
}

test('prepare then capture: a snapshot of each process with its values; deflated when large', async () => {
  const bin = await buildFixture('exprs');
  const { server, a } = await setup();
  const targets: Target[] = [];
  try {
    targets.push(await startTarget(bin.path, [], a.env), await startTarget(bin.path, [], a.env));
    const keys = [await keyOf(server, targets[0]!), await keyOf(server, targets[1]!)];
    server.send({ type: 'prepare', requestId: 'r1', keys, specVersion: 3 });
    const prepared = await server.waitFor('prepared', (m) => m.requestId === 'r1', 20_000);
    assert.deepEqual(prepared.results, [{ key: keys[0] }, { key: keys[1] }]);

    const before = Date.now();
    server.send({ type: 'capture', requestId: 'r1', keys });
    for (const key of keys) {
      const c = await server.waitFor('captured', (m) => m.key === key, 20_000);
      assert.equal(c.error, undefined, c.error?.message);
      assert.ok(c.startedAt >= before && c.startedAt <= Date.now());
      const snap = capturedSnapshot(c)!;
      assert.equal(snap.mode, 'paused');
      assert.ok(snap.pauseNs > 0);
      const parked = snap.goroutines.find((g) => g.captures.some((f) => f.function === 'main.park'));
      assert.ok(parked, 'the spec captured main.park');
      const values = Object.fromEntries(parked.captures[0]!.values.map((v) => [v.column, v.value]));
      assert.deepEqual(values.n, 4);
    }
    // Both were paused and copied first, back to back, then decoded and sent.
    await a.waitLog(/request r1: paused and copied 2 processes back to back/);
    await a.waitLog(/request r1: captured 2 processes, 0 errors/);
    // A capture after the request finished: the state is gone, the answer says so.
    server.send({ type: 'capture', requestId: 'r1', keys: [keys[0]] });
    const late = await server.waitFor('captured', (m) => m.key === keys[0] && m.error !== undefined, 30_000);
    assert.equal(late.error?.kind, 'INTERNAL');
    assert.match(late.error!.message, /not prepared/);

    // A big snapshot is deflated: force it with a tiny threshold.
    const small = await setupAgentOnly(server, { deflateOver: 100 }, a.env);
    try {
      server.send({ type: 'prepare', requestId: 'r2', keys: [keys[0]], specVersion: 3 });
      await server.waitFor('prepared', (m) => m.requestId === 'r2', 20_000);
      server.send({ type: 'capture', requestId: 'r2', keys: [keys[0]] });
      const c = await server.waitFor('captured', (m) => m.requestId === 'r2', 20_000);
      assert.equal(c.snapshot, undefined);
      assert.ok(c.snapshotDeflated);
      assert.equal(capturedSnapshot(c)?.pid, targets[0]!.pid);
    } finally {
      small.stop();
    }
  } finally {
    for (const t of targets) await t.kill();
    a.stop();
    await server.close();
  }
});

/** Replaces the server's agent with one using other executor options (same processes). */
async function setupAgentOnly(
  server: FakeServer,
  executor: { deflateOver: number },
  env: Record<string, string>,
) {
  const id = env.PERISCOPE_TEST_ID!;
  const b = startAgent(server.url, TOKEN, { executor, localMatch: { 'env.PERISCOPE_TEST_ID': `^${id}$` } });
  await b.waitLog(/connected/);
  return b;
}

test('errors per process: exited between prepare and capture, stripped binary, unknown key, spec mismatch', async () => {
  const [bin, stripped] = await Promise.all([
    buildFixture('exprs'),
    buildFixture('exprs', { flags: ['-ldflags=-s -w'] }),
  ]);
  const { server, a } = await setup();
  const targets: Target[] = [];
  try {
    targets.push(await startTarget(bin.path, [], a.env), await startTarget(stripped.path, [], a.env));
    const [doomed, bare] = targets;
    const keys = [await keyOf(server, doomed!), await keyOf(server, bare!)];
    const listed = server.messages('processes').at(-1)!.processes;
    assert.equal(
      listed.find((p) => p.pid === bare!.pid)?.labels.stripped,
      'true',
      'stripped processes are reported, labelled',
    );
    const all = [...keys, 'test-node:1:1'];

    server.send({ type: 'prepare', requestId: 'e1', keys: all, specVersion: 3 });
    const prepared = await server.waitFor('prepared', (m) => m.requestId === 'e1', 20_000);
    const byKey = new Map(prepared.results.map((r) => [r.key, r.error]));
    assert.equal(byKey.get(keys[0]!), undefined);
    assert.equal(byKey.get(keys[1]!)?.kind, 'BINARY_STRIPPED');
    assert.match(byKey.get(keys[1]!)!.message, /rebuild without -ldflags/);
    assert.equal(byKey.get('test-node:1:1')?.kind, 'PROCESS_MISSING');

    await doomed!.kill();
    server.send({ type: 'capture', requestId: 'e1', keys: all });
    const got = new Map<string, string | undefined>();
    for (const key of all) {
      const c = await server.waitFor('captured', (m) => m.requestId === 'e1' && m.key === key, 20_000);
      got.set(key, c.error?.kind);
    }
    assert.deepEqual(Object.fromEntries(got), {
      [keys[0]!]: 'PROCESS_MISSING',
      [keys[1]!]: 'BINARY_STRIPPED',
      'test-node:1:1': 'PROCESS_MISSING',
    });
    // Every failure counts, those of the prepare too.
    await a.waitLog(/request e1: captured 0 processes, 3 errors/, 30_000);

    server.send({ type: 'prepare', requestId: 'e2', keys: [keys[1]], specVersion: 99 });
    const mismatch = await server.waitFor('prepared', (m) => m.requestId === 'e2', 30_000);
    assert.equal(mismatch.results[0]?.error?.kind, 'SPEC_MISMATCH');
  } finally {
    for (const t of targets) await t.kill();
    a.stop();
    await server.close();
  }
});

test('a spec whose expression does not type-check: the process is captured, the expression recorded as a capture error', async () => {
  const bin = await buildFixture('exprs');
  const { server, a } = await setup(
    'version: 1\nfunctions:\n  - function: main.park\n    capture:\n      a: srv.Nmae\n      n: n\n',
  );
  let t: Target | undefined;
  try {
    t = await startTarget(bin.path, [], a.env);
    const key = await keyOf(server, t);
    server.send({ type: 'prepare', requestId: 's1', keys: [key], specVersion: 3 });
    const p = await server.waitFor('prepared', (m) => m.requestId === 's1', 20_000);
    assert.deepEqual(p.results, [{ key }]);
    server.send({ type: 'capture', requestId: 's1', keys: [key] });
    const c = await server.waitFor('captured', (m) => m.requestId === 's1', 20_000);
    assert.equal(c.error, undefined, c.error?.message);
    const snap = capturedSnapshot(c)!;
    assert.deepEqual(
      snap.captureErrors?.map((e) => [e.function, e.column, e.expr, e.at]),
      [['main.park', 'a', 'srv.Nmae', { line: 5, column: 14 }]],
    );
    assert.match(snap.captureErrors![0]!.message, /no field Nmae/);
    const parked = snap.goroutines.flatMap((g) => g.captures).find((f) => f.function === 'main.park');
    assert.deepEqual(
      parked?.values.map((v) => [v.column, v.value]),
      [['n', 4]],
    );
    // The agent's log counts it (it used to say "0 errors" while a process was dropped).
    await a.waitLog(/request s1: captured 1 processes, 0 errors, 1 spec entries not captured/, 30_000);
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});
