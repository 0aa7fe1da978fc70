/** The agent's connection: wrong token, server restart, malformed messages, the CLI's logs and signals. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { buildFixture } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';
const ROOT = resolve(import.meta.dirname, '..', '..', '..');

test('a wrong token: one clear line per attempt and slow retries, no crash', async () => {
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, 'wrong', { minBackoffMs: 50, maxBackoffMs: 600 });
  try {
    await a.waitLog(/rejected the agent token \(HTTP 401\); check --token/);
    const t0 = performance.now();
    while (server.attempts.length < 3 && performance.now() - t0 < 5000) await sleep(50);
    const times = server.attempts.map((x) => x.t);
    assert.ok(times.length >= 3, `${times.length} attempts`);
    for (let i = 1; i < times.length; i++)
      assert.ok(
        times[i]! - times[i - 1]! >= 250,
        'retries after a rejected token are slow (half the cap at least)',
      );
    assert.equal(server.received.length, 0);
    assert.ok(
      a.logs.every((l) => !/\n|at .*\.js/.test(l.line)),
      'no stack traces',
    );
    assert.equal(a.agent.connected, false);
  } finally {
    a.stop();
    await server.close();
  }
});

test('server restart: the agent reconnects, says hello and re-sends its processes', async () => {
  const bin = await buildFixture('exprs');
  let server = await FakeServer.start(TOKEN);
  const port = server.port;
  const a = startAgent(server.url, TOKEN);
  let t: Target | undefined;
  try {
    t = await startTarget(bin.path, [], a.env);
    const pid = t.pid;
    await server.waitFor('processes', (m) => m.processes.some((p) => p.pid === pid), 30_000);
    await server.close();
    await a.waitLog(/disconnected from/);
    await sleep(300); // a few failed attempts while the server is down
    server = await FakeServer.start(TOKEN, port);
    const hello = await server.waitFor('hello', () => true, 30_000);
    assert.equal(hello.hostname, 'test-node');
    const again = await server.waitFor('processes', (m) => m.processes.some((p) => p.pid === pid), 30_000);
    assert.equal(again.processes.length, 1);
    assert.ok(a.logs.some((l) => /cannot reach server .*ECONNREFUSED.*retrying in/.test(l.line)));
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});

test('several --server URLs: a lost server is replaced by the next in order', async () => {
  const first = await FakeServer.start(TOKEN);
  const second = await FakeServer.start(TOKEN);
  let a: ReturnType<typeof startAgent> | undefined;
  try {
    a = startAgent(`${first.url},${second.url}`, TOKEN, { minBackoffMs: 50, maxBackoffMs: 400 });
    await first.waitFor('hello', () => true, 30_000);
    assert.equal(second.attempts.length, 0, 'the first URL is tried first');
    await first.close();
    const hello = await second.waitFor('hello', () => true, 30_000);
    assert.equal(hello.hostname, 'test-node');
    assert.ok(
      a.logs.some((l) => l.line.includes(`retrying with ${second.url.replace(/^http/, 'ws')}`)),
      a.logs.map((l) => l.line).join('\n'),
    );
  } finally {
    a?.stop();
    await first.close().catch(() => undefined);
    await second.close();
  }
});

test('malformed messages from the server are logged and ignored', async () => {
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN);
  let t: Target | undefined;
  try {
    t = await startTarget(bin.path, [], a.env);
    const pid = t.pid;
    const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === pid), 30_000);
    const key = m.processes[0]!.key;
    const garbage: (string | Buffer)[] = [
      'not json',
      '[]',
      'null',
      '{"type":42}',
      '{"type":"explode"}',
      '{"type":"prepare"}',
      '{"type":"prepare","requestId":5,"keys":"x","specVersion":1}',
      '{"type":"prepare","requestId":"g","keys":[1,null,{}],"specVersion":1}',
      '{"type":"capture","requestId":"nope","keys":[1,2]}',
      '{"type":"capture"}',
      '{"type":"abort","requestId":{}}',
      '{"type":"spec","specVersion":"x","spec":3}',
      '{"type":"spec","specVersion":2,"spec":"programs: [oops"}',
      '{"type":"welcome","protocol":1,"specVersion":1,"spec":""}',
      Buffer.from([0, 1, 2, 3]),
    ];
    for (const g of garbage) server.sendRaw(g);
    await a.waitLog(/spec version 2 does not parse/);
    assert.ok(
      a.logs.some((l) =>
        /ignored a message from the server: malformed message from server: not JSON/.test(l.line),
      ),
    );
    assert.ok(a.logs.some((l) => /unknown message type "explode"/.test(l.line)));
    assert.ok(a.logs.some((l) => /ignored a malformed prepare message/.test(l.line)));
    assert.ok(a.logs.some((l) => /ignored a binary message/.test(l.line)));
    // Still connected and serving: a good request after all that works (spec 2 is current now).
    server.send({ type: 'prepare', requestId: 'ok', keys: [key], specVersion: 2 });
    const p = await server.waitFor('prepared', (x) => x.requestId === 'ok', 20_000);
    assert.equal(p.results[0]?.error?.kind, 'SPEC_MISMATCH', 'spec 2 does not parse: reported per process');
    server.send({ type: 'spec', specVersion: 3, spec: 'version: 1\n' });
    server.send({ type: 'prepare', requestId: 'ok2', keys: [key], specVersion: 3 });
    const p2 = await server.waitFor('prepared', (x) => x.requestId === 'ok2', 20_000);
    assert.deepEqual(p2.results, [{ key }]);
    assert.ok(a.agent.connected);
  } finally {
    await t?.kill();
    a.stop();
    await server.close();
  }
});

test('the CLI: --help, a clear usage error, a wrong token logged in one line, clean exit on SIGTERM', async () => {
  const server = await FakeServer.start(TOKEN);
  const bin = resolve(ROOT, 'bin', 'periscope.js');
  const child = spawn(process.execPath, [bin, 'agent', '--server', server.url, '--interval', '0.5'], {
    env: { ...process.env, PERISCOPE_TOKEN: 'wrong' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const t0 = performance.now();
    while (!/rejected the agent token/.test(out) && performance.now() - t0 < 10_000) await sleep(50);
    assert.match(
      out,
      /rejected the agent token \(HTTP 401\); check --token \/ PERISCOPE_TOKEN .*; retrying in \d/,
    );
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(out, /SIGTERM: agent stopping/);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  } finally {
    child.kill('SIGKILL');
    await server.close();
  }
  const usage = spawn(process.execPath, [bin, 'agent', '--server', 'ftp://x'], {
    env: { ...process.env, PERISCOPE_TOKEN: 't' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  usage.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((r) => usage.once('exit', (c) => r(c)));
  assert.equal(code, 2);
  assert.match(err, /--server "ftp:\/\/x" is not an http\(s\):\/\/ or ws\(s\):\/\/ URL/);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
