/**
 * The server's `/metrics` for what a clean fleet run does not show: per-process errors by
 * kind, and the probe counters and circuit-breaker trips agents report, received over a real
 * WebSocket from an agent that speaks the protocol (FakeAgent) and stored by the real server;
 * a probe name with quotes, backslashes and a new line comes out escaped and parses back.
 * Parsed by the strict parser of support/prometheus-parse.ts and by Prometheus's own (expfmt).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ProbeBatchMessage, ProbeCounts } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import { checkWithPrometheus } from '../../support/prometheus-oracle.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-parse.js';
import {
  api,
  describeProcess,
  eventually,
  FakeAgent,
  type RealSnapshot,
  realSnapshot,
  testServer,
} from './server-support.js';

const HOST = 'metrics-host';
let server: RunningServer;
let admin: string;
let real: RealSnapshot;
let agent: FakeAgent;

before(async () => {
  real = await realSnapshot();
  server = await testServer();
  admin = server.firstTokens?.admin ?? '';
  const procs = [41, 42, 43].map((pid) => describeProcess(HOST, pid, ['app']));
  agent = new FakeAgent('metrics-agent', HOST, procs, () => real.snapshot);
  agent.behaviour.set(procs[1]!.key, { error: { kind: 'PERMISSION', message: 'not allowed' } });
  agent.prepareErrors.set(procs[2]!.key, { kind: 'PROCESS_MISSING', message: 'gone' });
  await agent.connect(server.url, server.firstTokens?.agent ?? '');
  await eventually(async () => server.context.registry.processes({ text: '', terms: [] }).length === 3);
});

after(async () => {
  await agent.close();
  await server.close();
  await real.target.kill();
});

async function metrics() {
  const r = await api(server.url, admin, 'GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  const parsed = parsePrometheusText(r.text);
  await checkWithPrometheus(r.text, parsed);
  return parsed;
}

test('per-process errors are counted by kind; the captured process by its pause', async () => {
  const r = await api<{ processes: { ok: boolean; pauseNs?: number }[] }>(
    server.url,
    admin,
    'POST',
    '/v1/snapshots',
    { all: true },
  );
  assert.equal(r.status, 201, r.text);
  const m = await metrics();
  assert.equal(sampleValue(m, 'periscope_snapshots_total'), 1);
  assert.equal(sampleValue(m, 'periscope_snapshot_process_errors_total', { kind: 'PERMISSION' }), 1);
  assert.equal(sampleValue(m, 'periscope_snapshot_process_errors_total', { kind: 'PROCESS_MISSING' }), 1);
  assert.equal(sampleValue(m, 'periscope_snapshot_processes_total', { outcome: 'ok' }), 1);
  assert.equal(sampleValue(m, 'periscope_snapshot_processes_total', { outcome: 'error' }), 2);
  assert.equal(sampleValue(m, 'periscope_snapshot_pause_seconds_count'), 1);
  assert.equal(sampleValue(m, 'periscope_snapshot_pause_seconds_sum'), real.snapshot.pauseNs / 1e9);
  assert.equal(sampleValue(m, 'periscope_processes_monitored'), 3);
});

test('probe hits, drops and breaker trips are the sums of what agents report; odd probe names escaped', async () => {
  const odd = 'p"q\\r\ns';
  const counts = (probe: string, hits: number, extra: Partial<ProbeCounts> = {}): ProbeCounts => ({
    probe,
    process: `${HOST}:41`,
    startUs: Date.now() * 1000,
    endUs: Date.now() * 1000 + 1000,
    hits,
    matched: hits,
    events: hits,
    rejected: 0,
    conditionErrors: 0,
    rateLimited: 0,
    ringFull: 0,
    agentDropped: 0,
    durations: 0,
    durationSumNs: 0,
    costNs: 0,
    cpuNs: 0,
    ...extra,
  });
  const batch = (c: ProbeCounts[], breaker: string[] = []): ProbeBatchMessage => ({
    type: 'probe-batch',
    events: [],
    counts: c,
    histograms: [],
    notices: breaker.map((probe) => ({
      probe,
      process: `${HOST}:41`,
      timeUs: Date.now() * 1000,
      kind: 'circuit-breaker',
      message: 'over its CPU share',
    })),
  });
  agent.send(batch([counts(odd, 10, { events: 7, rateLimited: 2, ringFull: 1 }), counts('plain', 5)]));
  agent.send(batch([counts(odd, 4, { events: 4, agentDropped: 3 })], [odd]));
  // Malformed counts are left out, as the store leaves them out.
  agent.send(
    JSON.stringify({
      type: 'probe-batch',
      events: [],
      counts: [{ probe: 'bad', hits: 'x' }],
      histograms: [],
      notices: [],
    }),
  );
  await eventually(
    async () => sampleValue(await metrics(), 'periscope_probe_breaker_trips_total', { probe: odd }) === 1,
    5000,
    'the breaker trip',
  );
  const m = await metrics();
  assert.equal(sampleValue(m, 'periscope_probe_hits_total', { probe: odd }), 14);
  assert.equal(sampleValue(m, 'periscope_probe_hits_total', { probe: 'plain' }), 5);
  assert.equal(sampleValue(m, 'periscope_probe_hits_total', { probe: 'bad' }), undefined);
  assert.equal(sampleValue(m, 'periscope_probe_events_total', { probe: odd }), 11);
  assert.equal(sampleValue(m, 'periscope_probe_dropped_total', { probe: odd, reason: 'rate_limited' }), 2);
  assert.equal(sampleValue(m, 'periscope_probe_dropped_total', { probe: odd, reason: 'ring_full' }), 1);
  assert.equal(sampleValue(m, 'periscope_probe_dropped_total', { probe: odd, reason: 'agent_dropped' }), 3);
  assert.equal(sampleValue(m, 'periscope_probe_breaker_trips_total', { probe: 'plain' }), undefined);
});
