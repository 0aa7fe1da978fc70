/**
 * The agent's budget of probe events per process and second (`--probe-max-events`,
 * agent/probe-process.ts `admit`) is counted by the events' own times, the kernel's at the
 * hit: a burst of hits read late, over more than a second of the agent's clock (a busy
 * machine), is still held to the budget of the second it happened in, and hits a second later
 * are admitted again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessProbes } from '../../src/agent/probe-process.js';
import type { WireProbeEvent } from '../../src/protocol/messages.js';

const NAP = new Int32Array(new SharedArrayBuffer(4));

function event(timeUs: number): WireProbeEvent {
  return {
    probe: 'p',
    process: 'h:1',
    timeUs,
    goroutine: 1,
    thread: 1,
    site: { kind: 'entry', function: 'main.f' },
    values: {},
  };
}

test('a burst of 50 hits within 10 ms, read over 1.5 s: 20 of a budget of 20 a second; hits a second later are admitted', () => {
  const p = new ProcessProbes(1, 'k', 'h:1', 20);
  const t0 = Date.now() * 1000;
  let admitted = 0;
  for (let i = 0; i < 50; i++) {
    if (p.admit(event(t0 + i * 200))) admitted++;
    Atomics.wait(NAP, 0, 0, 30); // the reader, slow: 50 x 30 ms of the agent's clock
  }
  assert.equal(admitted, 20, 'the burst is held to the budget of the second it happened in');
  // Half a second of the target's time later: 10 tokens back.
  let later = 0;
  for (let i = 0; i < 15; i++) if (p.admit(event(t0 + 10_000 + 500_000))) later++;
  assert.equal(later, 10);
  // An event older than the last one counted (a return probe's entry time) refills nothing.
  assert.equal(p.admit(event(t0)), false);
});
