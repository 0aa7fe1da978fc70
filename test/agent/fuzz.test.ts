/**
 * Fuzzing the agent from the server's side (seeded, so a failure reproduces): damaged
 * protocol messages of every kind and an oversized one. The agent ignores what does not parse,
 * answers what does with per-process errors, drops an oversized message's connection and makes
 * it again, and afterwards still prepares and captures a real process correctly.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { prng } from '../../support/prng.js';
import { startTarget } from '../../support/target.js';
import { FakeServer } from './fake-server.js';
import { startAgent } from './harness.js';

const TOKEN = 'agent-token';
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);

/** Replaces one node of a message, picked at random, by a damaging value. */
function mutate(value: object, rnd: () => number): unknown {
  const damage = [null, -1, 'x', 1e308, [], {}, true, '\u0000', 'k'.repeat(100_000)] as const;
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const nodes: [Record<string, unknown>, string][] = [];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      nodes.push([v as Record<string, unknown>, k]);
      walk(child);
    }
  };
  walk(copy);
  const n = nodes[Math.floor(rnd() * nodes.length)];
  if (n) n[0][n[1]] = damage[Math.floor(rnd() * damage.length)];
  return copy;
}

test('damaged and oversized server messages: the agent stays up and still captures correctly', async () => {
  const rnd = prng(SEED);
  const bin = await buildFixture('exprs');
  const server = await FakeServer.start(TOKEN);
  const a = startAgent(server.url, TOKEN, { maxServerMessageBytes: 1 << 20 });
  const t = await startTarget(bin.path, [], a.env);
  try {
    const m = await server.waitFor('processes', (x) => x.processes.some((p) => p.pid === t.pid), 10_000);
    const key = m.processes.find((p) => p.pid === t.pid)?.key ?? '';
    const templates: object[] = [
      { type: 'welcome', protocol: PROTOCOL_VERSION, specVersion: 1, spec: '' },
      {
        type: 'spec',
        specVersion: 5,
        spec: 'functions:\n  - function: main.main\n    table: t\n    capture:\n      x: x\n',
      },
      { type: 'prepare', requestId: 'f', keys: ['no-such-key'], specVersion: 1 },
      { type: 'capture', requestId: 'f', keys: ['no-such-key'] },
      { type: 'abort', requestId: 'f' },
      { type: 'check-spec', requestId: 'f', spec: 'functions: []\n' },
    ];
    for (let i = 0; i < 300; i++) {
      const tpl = templates[Math.floor(rnd() * templates.length)] ?? {};
      const text =
        rnd() < 0.3
          ? JSON.stringify(tpl).slice(0, Math.floor(rnd() * 120))
          : JSON.stringify(mutate(tpl, rnd));
      server.sendRaw(text);
    }
    server.sendRaw(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    // Over the agent's limit: the connection ends (1009) and is made again.
    const hellos = server.messages('hello').length;
    server.sendRaw(`{"type":"spec","specVersion":9,"spec":"${'x'.repeat(2 << 20)}"}`);
    await a.waitLog(
      /sent a message over this agent's limit of 1048576 bytes; the connection was dropped; retrying/,
      10_000,
    );
    await server.waitFor('hello', () => server.messages('hello').length > hellos, 10_000);
    // Still correct: a real prepare and capture of the target.
    server.send({ type: 'spec', specVersion: 20, spec: 'version: 1\n' });
    server.send({ type: 'prepare', requestId: 'good', keys: [key], specVersion: 20 });
    const p = await server.waitFor('prepared', (x) => x.requestId === 'good', 30_000);
    assert.deepEqual(p.results, [{ key }]);
    server.send({ type: 'capture', requestId: 'good', keys: [key] });
    const c = await server.waitFor('captured', (x) => x.requestId === 'good', 30_000);
    assert.equal(c.error, undefined, JSON.stringify(c.error));
    assert.ok(c.snapshot !== undefined || c.snapshotDeflated !== undefined);
    assert.ok(a.agent.connected);
  } finally {
    await t.kill();
    a.stop();
    await server.close();
  }
});
