/**
 * The pause spends its budget for values on the user's captures first: a server with many
 * built-in frames (net/http connections, gRPC streams, all created before the goroutine
 * the user's spec captures) and a budget of 0 ms, in which one expression is evaluated:
 * it is the user's, and the built-in frames are read after the resume.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pauseAndCopy } from '../../src/snapshot/paused-capture.js';
import { finishSnapshot, prepareProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import type { Target } from '../../support/target.js';
import { buildConnPair, startConnPair } from '../links/variants.js';

const USER = `functions:
  - function: main.afterward
    capture: { in_flight: inFlight }
`;

test("the user's captures are read first in the pause, the built-in ones after them", async () => {
  const { path } = await buildConnPair();
  const targets: Target[] = [];
  try {
    const calls = 8;
    const { server } = await startConnPair(path, { net: 'tcp', wrap: 'none' }, targets, { calls });
    const plan = prepareProcess(server.pid, effectiveSpec(parseSpec(USER, 'user.yaml')));
    // A cap that a busy machine cannot reach: what is tested is the order, not the cap.
    const copied = pauseAndCopy(server.pid, plan, { valuesBudgetMs: 0, pauseCapMs: 60_000 });
    const inPause = [...copied.captures.values()].flat().filter((c) => c.values.length > 0);
    assert.deepEqual(
      inPause.map((c) => c.function),
      ['main.afterward'],
      'the one expression the pause had time for is the user’s',
    );
    const done = finishSnapshot(copied);
    const frames = done.goroutines.flatMap((g) => g.captures);
    const user = frames.find((c) => c.function === 'main.afterward')!;
    assert.deepEqual(
      user.values.map((v) => [v.column, v.value]),
      [['in_flight', 2 * calls]],
    );
    assert.equal(user.afterPause, undefined);
    const builtIn = frames.filter((c) => c.function !== 'main.afterward');
    assert.equal(builtIn.length, 2 * calls, 'every connection and stream has its frame');
    assert.ok(
      builtIn.every((c) => c.afterPause === true),
      'read after the resume',
    );
    assert.equal(done.valuesAfterPause, 2 * calls);
  } finally {
    for (const t of targets.reverse()) await t.kill();
  }
});
