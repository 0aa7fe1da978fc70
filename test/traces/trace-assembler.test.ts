/**
 * The agent's assembly of requests from trace probe events (src/agent/trace-assembler.ts),
 * for what the fixture cannot provoke on demand: a panic that unwinds past the function ends
 * the request as a panic; a recursive call ends at the outermost return; events over
 * `eventsPerTrace` and traces over `keptPerSecond` are dropped and counted; a request over
 * the memory limit is not recorded and counted; a condition reads a path probe's last value;
 * slow requests are reported once; the shared spawn and panic probes feed every trace on their
 * process. The events are the records the probe thread delivers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceAssembler } from '../../src/agent/trace-assembler.js';
import type { WireProbeEvent } from '../../src/protocol/messages.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import type { TraceEntry } from '../../src/spec/trace-types.js';

const P = 'h:7';

function trace(extra: string): TraceEntry {
  const s = parseSpec(
    `programs:\n  - name: api\n    match: { executable: x }\ntraces:\n  - name: t\n    program: api\n    function: main.f\n    start: { user: u }\n    error: err\n    probes:\n      - { name: db, function: main.db, capture: { rows: n } }\n${extra}`,
  );
  return s.traces![0]!;
}

let clock = 1_000_000;
function ev(role: string, g: number, values: Record<string, unknown> = {}, dt = 10): WireProbeEvent {
  clock += dt;
  return {
    // spawn and panic come from the probes every trace on the program shares.
    probe: role === 'spawn' || role === 'panic' ? `traces.api:${role}` : `t:${role}`,
    process: P,
    timeUs: clock,
    goroutine: g,
    thread: 1,
    site: { kind: 'entry', function: `main.${role}` },
    values,
  };
}

test('a panic past the function ends the request as a panic; recursion ends at the outermost return', () => {
  const a = new TraceAssembler();
  a.setTraces([trace('    keep: [error, panic]\n')]);
  a.event(ev('start', 1, { u: 'ann' }));
  a.event(ev('start', 1, { u: 'ann' })); // recursive call
  a.event(ev('end', 1, { err: null }));
  assert.equal(a.inFlight(), 1);
  a.event(ev('end', 1, { err: { type: '*errors.errorString', message: 'boom' } }));
  assert.equal(a.inFlight(), 0);
  a.event(ev('start', 2, { u: 'bo' }));
  a.event(ev('panic', 2, { e: 'bad thing' }));
  a.event({ ...ev('panic', 2, { e: 'bad thing' }, 0), probe: 'traces.m0123abcd:panic' }); // a second selector's pair
  assert.deepEqual(a.sweep(clock + 100), []);
  assert.equal(a.inFlight(), 1, 'the panic may still be recovered inside the function');
  a.sweep(clock + 2_000_000);
  const { traces, counts } = a.take(clock + 2_000_000);
  assert.deepEqual(
    traces.map((t) => [t.outcome, t.start.user, t.error, t.events.map((e) => e.probe)]),
    [
      ['error', 'ann', 'boom', ['start', 'end']],
      ['panic', 'bo', 'bad thing', ['start', 'panic']],
    ],
  );
  assert.deepEqual(
    counts.map((c) => [c.requests, c.kept, c.dropped, c.unfinished]),
    [[2, 2, 0, 1]],
  );
});

test('one spawn and one panic probe serve every trace on the process, each event once per trace', () => {
  const a = new TraceAssembler();
  const t1 = trace('    keep: [panic]\n');
  const t2 = { ...trace('    keep: [panic]\n'), name: 'u' };
  a.setTraces([t1, t2]);
  a.event(ev('start', 1, { u: 'ann' }));
  a.event({ ...ev('start', 1, { u: 'ann' }, 0), probe: 'u:start' });
  a.event(ev('start', 3, { u: 'cy' }));
  const spawn = ev('spawn', 0, { 'gp.goid': 2, 'gp.parentGoid': 1 });
  a.event(spawn);
  a.event({ ...spawn, probe: 'traces.m0123abcd:spawn' }); // a second selector's pair on the same process
  a.event({ ...spawn, process: 'h:8', values: { 'gp.goid': 4, 'gp.parentGoid': 3 } }); // another process
  a.event(ev('panic', 2, { e: 'in the child' }));
  a.sweep(clock + 2_000_000);
  const { traces } = a.take(clock + 2_000_000);
  assert.deepEqual(
    traces.map((t) => [t.trace, t.goroutine, t.goroutines, t.events.map((e) => [e.probe, e.goroutine])]),
    [
      [
        't',
        1,
        [1, 2],
        [
          ['start', 1],
          ['spawn', 1],
          ['panic', 2],
        ],
      ],
      [
        'u',
        1,
        [1, 2],
        [
          ['start', 1],
          ['spawn', 1],
          ['panic', 2],
        ],
      ],
    ],
  );
  assert.equal(a.inFlight(), 1, 'g3 (process h:7) gained no child from h:8');
});

test('limits: events per trace, kept per second and memory are dropped and counted', () => {
  const a = new TraceAssembler();
  a.setTraces([
    trace(
      "    keep: { if: 'db.rows > 5' }\n    limits: { eventsPerTrace: 3, keptPerSecond: 2, memory: 64KiB }\n",
    ),
  ]);
  for (let i = 0; i < 4; i++) {
    a.event(ev('start', 10 + i, { u: 'x' }));
    for (let k = 0; k < 4; k++) a.event(ev('db', 10 + i, { n: k === 3 ? 9 : 1 }));
    a.event(ev('end', 10 + i, { err: null }));
  }
  // A request whose condition does not hold: only counted.
  a.event(ev('start', 20, { u: 'y' }));
  a.event(ev('db', 20, { n: 1 }));
  a.event(ev('end', 20, { err: null }));
  const { traces, counts } = a.take(clock);
  assert.equal(traces.length, 2, 'keptPerSecond: 2');
  assert.deepEqual(
    traces[0]!.events.map((e) => [e.probe, e.values.rows]),
    [
      ['start', undefined],
      ['db', 1],
      ['db', 1],
    ],
  );
  assert.equal(traces[0]!.eventsDropped, 3, 'two db events and the end over eventsPerTrace');
  assert.deepEqual(
    counts.map((c) => [c.requests, c.kept, c.dropped, c.overRate, c.eventsDropped]),
    [[5, 2, 1, 2, 12]],
  );
  // Memory: requests in flight hold their events; past 64 KiB a new request is not recorded.
  const big = 'z'.repeat(2000);
  for (let g = 100; g < 140; g++) {
    a.event(ev('start', g, { u: 'm' }));
    a.event(ev('db', g, { n: big }));
  }
  const c2 = a.take(clock).counts;
  assert.ok((c2[0]?.overMemory ?? 0) > 0, JSON.stringify(c2));
});

test('a request in flight past slower_than is reported once', () => {
  const a = new TraceAssembler();
  a.setTraces([trace('    keep: { slower_than: 100ms }\n')]);
  a.event(ev('start', 5, { u: 's' }));
  const t0 = clock;
  assert.deepEqual(a.sweep(t0 + 50_000), []);
  const slow = a.sweep(t0 + 150_000);
  assert.deepEqual(
    slow.map((s) => [s.trace, s.goroutine, s.pid, s.elapsedMs]),
    [['t', 5, 7, 150]],
  );
  assert.deepEqual(a.sweep(t0 + 250_000), []);
  a.event(ev('end', 5, { err: null }, 300_000));
  assert.deepEqual(
    a.take(clock).traces.map((t) => [t.outcome, t.requestId]),
    [['slow', slow[0]!.requestId]],
  );
});

test('a trace whose end was switched off on a process drops its requests in flight there as unfinished, and counts new ones', () => {
  const a = new TraceAssembler();
  a.setTraces([trace('    keep: error\n')]);
  a.event(ev('start', 1, { u: 'a' }));
  a.event(ev('start', 2, { u: 'b' }));
  a.abandon('t', 8);
  assert.equal(a.inFlight(), 2, 'another process: nothing changes');
  a.abandon('t', 7);
  assert.equal(a.inFlight(), 0);
  a.event(ev('start', 3, { u: 'c' }));
  assert.equal(a.inFlight(), 0, 'new requests there are only counted');
  assert.deepEqual(
    a.take(clock).counts.map((c) => [c.requests, c.unfinished]),
    [[0, 3]],
  );
});
