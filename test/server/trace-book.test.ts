/**
 * The server's side of request traces, through its agent endpoint: `trace-batch` and
 * `trace-slow` messages are input, checked on receipt as probe batches are — well-formed
 * traces and counts are stored and signalled (`kept` once stored, `slow` at once), malformed
 * entries and messages are left out without harming the connection — and `GET /v1/traces`
 * reads them back with their events in order, of one trace and one outcome.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TracesResponse } from '../../src/api/responses.js';
import type { TraceRecord } from '../../src/probes/trace-records.js';
import type { RequestSignal } from '../../src/server/request-signals.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, describeProcess, eventually, FakeAgent, testServer } from './server-support.js';

const HOST = 'trace-host';
let server: RunningServer;
let agent: FakeAgent;
const signals: RequestSignal[] = [];
const logs: string[] = [];

before(async () => {
  server = await testServer(undefined, { agentLog: (line) => logs.push(line) });
  server.context.requestSignals.subscribe((s) => signals.push(s));
  agent = new FakeAgent(
    'trace-agent',
    HOST,
    [describeProcess(HOST, 51, ['orders']), describeProcess(HOST, 52, ['billing'])],
    () => {
      throw new Error('no snapshots in this test');
    },
  );
  await agent.connect(server.url, server.firstTokens?.agent ?? '');
});

after(async () => {
  await agent.close();
  await server.close();
});

const trace = (id: string, extra: Partial<TraceRecord> = {}): TraceRecord => ({
  trace: 'work',
  requestId: id,
  process: `${HOST}:51`,
  goroutine: 7,
  startUs: 1_000_000,
  endUs: 1_250_000,
  durationNs: 250_000_000,
  outcome: 'slow',
  start: { user: 'ann' },
  end: {},
  goroutines: [7, 8],
  events: [
    { probe: 'start', timeUs: 1_000_000, goroutine: 7, function: 'main.f', values: { user: 'ann' } },
    { probe: 'check', timeUs: 1_100_000, goroutine: 8, function: 'main.check', values: { n: 1 } },
    { probe: 'end', timeUs: 1_250_000, goroutine: 7, function: 'main.f', values: {} },
  ],
  eventsDropped: 0,
  ...extra,
});

test('trace batches are checked, stored, signalled and read back; malformed parts are left out', async () => {
  agent.send('{"type":"trace-batch","traces":"nope","counts":7}');
  agent.send('{"type":"trace-slow","slow":[{"trace":5}]}');
  agent.send(
    JSON.stringify({
      type: 'trace-batch',
      traces: [
        trace('r1'),
        trace('r2', { outcome: 'error', error: 'denied', endUs: 1_300_000 }),
        { ...trace('bad1'), outcome: 'bogus' },
        { ...trace('bad2'), events: [{ probe: 'start' }] },
      ],
      counts: [
        {
          trace: 'work',
          process: `${HOST}:51`,
          startUs: 0,
          endUs: 1,
          requests: 9,
          kept: 2,
          dropped: 7,
          overRate: 0,
          overMemory: 0,
          eventsDropped: 0,
          unfinished: 0,
        },
        { trace: 'work', process: `${HOST}:51`, requests: 'many' },
      ],
    }),
  );
  agent.send(
    JSON.stringify({
      type: 'trace-slow',
      slow: [
        { trace: 'work', requestId: 'r3', process: `${HOST}:51`, pid: 51, goroutine: 9, elapsedMs: 210 },
        { trace: 'work' },
      ],
    }),
  );
  await eventually(
    async () => signals.filter((s) => s.kind === 'kept').length === 2,
    10_000,
    'two kept signals',
  );
  assert.deepEqual(
    signals.map((s) => [s.kind, s.requestId, s.pid, s.goroutine]),
    [
      ['slow', 'r3', 51, 9],
      ['kept', 'r1', 51, 7],
      ['kept', 'r2', 51, 7],
    ],
  );
  const admin = server.firstTokens?.admin ?? '';
  const all = await api<TracesResponse>(server.url, admin, 'GET', '/v1/traces');
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(
    all.body.traces.map((t) => [t.requestId, t.outcome, t.events.map((e) => e.probe), t.goroutines]),
    [
      ['r2', 'error', ['start', 'check', 'end'], [7, 8]],
      ['r1', 'slow', ['start', 'check', 'end'], [7, 8]],
    ],
  );
  const errors = await api<TracesResponse>(server.url, admin, 'GET', '/v1/traces?trace=work&outcome=error');
  assert.deepEqual(
    errors.body.traces.map((t) => [t.requestId, t.error]),
    [['r2', 'denied']],
  );
  const bad = await api(server.url, admin, 'GET', '/v1/traces?outcome=maybe');
  assert.equal(bad.status, 400);
  const counts = await api<{ rows: unknown[][] }>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select requests, kept, dropped from trace_counts',
  });
  assert.deepEqual(counts.body.rows, [[9, 2, 7]]);
});

test('a token limited to programs sees the traces of its programs only, by the facts the agent reported', async () => {
  const admin = server.firstTokens?.admin ?? '';
  agent.send(
    JSON.stringify({
      type: 'trace-batch',
      traces: [trace('b1', { process: `${HOST}:52`, endUs: 2_000_000 })],
      counts: [],
    }),
  );
  await eventually(
    async () =>
      (await api<TracesResponse>(server.url, admin, 'GET', '/v1/traces')).body.traces.some(
        (t) => t.requestId === 'b1',
      ),
    30_000,
    `the billing trace stored (server log: ${JSON.stringify(logs)})`,
  );
  const team = async (program: string) =>
    (await server.context.tokens.create('user', `team-${program}`, { programs: [`program=${program}`] }))
      .token;
  for (const [program, want] of [
    ['orders', ['r2', 'r1']],
    ['billing', ['b1']],
  ] as const) {
    const r = await api<TracesResponse>(server.url, await team(program), 'GET', '/v1/traces');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.traces.map((t) => t.requestId),
      want,
      program,
    );
    const q = await api<{ rows: unknown[][] }>(server.url, await team(program), 'POST', '/v1/query', {
      sql: 'select request_id from traces order by end_time desc',
    });
    assert.deepEqual(
      q.body.rows.map((x) => x[0]),
      want,
      `${program}: SQL`,
    );
  }
});
