/**
 * The OTLP exporter against a small collector (a real HTTP server in the test): batches of at
 * most maxBatch events in OTLP/HTTP JSON logs (and kept traces as spans at /v1/traces, under their
 * own queue and counters, their trace id from the target or the request id), retries with backoff on 503 until accepted, no
 * retry on a refusal (400), a collector that is down dropped after the last attempt, a full
 * queue dropping the excess, and shutdown dropping what is left — every drop counted by
 * reason in the metrics `/metrics` shows.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { TraceRecord } from '../../src/probes/trace-records.js';
import type { WireProbeEvent } from '../../src/protocol/messages.js';
import { logsUrl, OtlpExporter, type OtlpOptions, signalUrl } from '../../src/server/otlp-export.js';
import { traceIds } from '../../src/server/otlp-traces.js';
import { Registry } from '../../src/server/registry.js';
import { ServerMetrics } from '../../src/server/server-metrics.js';
import { eventually } from './server-support.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: {
    resourceLogs: {
      resource: { attributes: { key: string; value: Record<string, unknown> }[] };
      scopeLogs: {
        scope: { name: string };
        logRecords: {
          timeUnixNano: string;
          body: { stringValue: string };
          attributes: { key: string; value: Record<string, unknown> }[];
        }[];
      }[];
    }[];
  };
}

let collector: Server;
let base = '';
const received: Received[] = [];
/** What the collector answers next (then 200). */
const answers: number[] = [];

before(async () => {
  collector = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      if (status === 200)
        received.push({
          path: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => collector.close(() => r())));

function events(n: number, probe = 'calls'): WireProbeEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    probe,
    process: `web-1:${1000 + i}`,
    timeUs: 1_700_000_000_000_000 + i,
    goroutine: 7,
    thread: 8,
    site: { kind: 'entry', function: 'main.handle', file: '/src/main.go', line: 42 },
    values: { n: i, user: `u${i}`, big: 2 ** 60, ratio: 0.5, ok: true, nested: { a: [1, 'x'] } },
    errors: { missing: 'not in scope' },
  }));
}

function exporter(opts: Partial<OtlpOptions> = {}) {
  const metrics = new ServerMetrics(new Registry(), '/nonexistent/periscope-otlp-test');
  const ex = new OtlpExporter(
    { endpoint: base, flushMs: 10, minBackoffMs: 10, log: () => undefined, ...opts },
    metrics,
  );
  return { ex, metrics };
}

test('the logs URL: /v1/logs added to a base address, kept when given', () => {
  assert.equal(logsUrl('http://c:4318'), 'http://c:4318/v1/logs');
  assert.equal(logsUrl('http://c:4318/'), 'http://c:4318/v1/logs');
  assert.equal(logsUrl('https://c/otel/v1/logs'), 'https://c/otel/v1/logs');
  assert.equal(signalUrl('http://c:4318', 'traces'), 'http://c:4318/v1/traces');
  assert.equal(signalUrl('https://c/otel/v1/logs', 'traces'), 'https://c/otel/v1/traces');
});

function trace(start: Record<string, unknown>): TraceRecord {
  return {
    trace: 'work',
    requestId: 'web-1:1000:7:1700000000000000',
    process: 'web-1:1000',
    goroutine: 7,
    startUs: 1_700_000_000_000_000,
    endUs: 1_700_000_000_002_000,
    durationNs: 2_000_000,
    outcome: 'error',
    error: 'denied',
    start,
    end: {},
    goroutines: [7],
    events: [],
    eventsDropped: 0,
  };
}

test("a span's trace id: the target's traceparent or trace_id when the trace captured one, else the request id hashed", () => {
  assert.deepEqual(
    traceIds(trace({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })),
    {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      fromTarget: true,
    },
  );
  assert.deepEqual(traceIds(trace({ trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736' })), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    fromTarget: true,
  });
  const hashed = traceIds(trace({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }));
  assert.equal(hashed.fromTarget, false, 'an all-zero (invalid) trace id is not taken');
  assert.match(hashed.traceId, /^[0-9a-f]{32}$/);
  assert.deepEqual(traceIds(trace({ user: 'x' })), hashed, 'the same request, the same id');
});

test('kept traces go to /v1/traces through their own queue, retried, counted apart from events', async () => {
  received.length = 0;
  answers.push(503);
  const { ex, metrics } = exporter();
  ex.addTraces('agent-a', [trace({ user: 'u' }), trace({ user: 'v' })]);
  ex.add('agent-a', events(1));
  await eventually(() => metrics.otlpTracesExported.value() === 2, 5000, 'two traces exported');
  await eventually(() => metrics.otlpExported.value() === 1, 5000, 'one event exported');
  const paths = received.map((r) => r.path).sort();
  assert.deepEqual(paths, ['/v1/logs', '/v1/traces']);
  assert.equal(metrics.otlpRequests.value({ outcome: 'retry' }), 1);
  await ex.close();
});

test('events arrive as OTLP JSON log records, in batches of maxBatch, after 503s are retried', async () => {
  received.length = 0;
  answers.push(503, 503);
  const { ex, metrics } = exporter({ maxBatch: 4, headers: { 'x-api-key': 'k1' } });
  ex.add('agent-a', events(10));
  await eventually(() => metrics.otlpExported.value() === 10, 5000, 'ten events exported');
  assert.deepEqual(
    received.map((r) => r.body.resourceLogs[0]!.scopeLogs[0]!.logRecords.length),
    [4, 4, 2],
  );
  assert.equal(metrics.otlpRequests.value({ outcome: 'retry' }), 2);
  assert.equal(metrics.otlpRequests.value({ outcome: 'ok' }), 3);
  const r = received[0]!;
  assert.equal(r.path, '/v1/logs');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-api-key'], 'k1');
  const rl = r.body.resourceLogs[0]!;
  assert.deepEqual(rl.resource.attributes[0], { key: 'service.name', value: { stringValue: 'periscope' } });
  assert.equal(rl.scopeLogs[0]!.scope.name, 'periscope.probes');
  const rec = rl.scopeLogs[0]!.logRecords[1]!;
  assert.equal(rec.timeUnixNano, '1700000000000001000');
  assert.equal(rec.body.stringValue, 'probe calls: main.handle');
  const attrs = Object.fromEntries(rec.attributes.map((a) => [a.key, a.value]));
  assert.deepEqual(attrs['periscope.probe'], { stringValue: 'calls' });
  assert.deepEqual(attrs['periscope.agent_id'], { stringValue: 'agent-a' });
  assert.deepEqual(attrs['host.name'], { stringValue: 'web-1' });
  assert.deepEqual(attrs['process.pid'], { intValue: '1001' });
  assert.deepEqual(attrs['code.function'], { stringValue: 'main.handle' });
  assert.deepEqual(attrs['code.lineno'], { intValue: '42' });
  assert.deepEqual(attrs['periscope.capture.n'], { intValue: '1' });
  assert.deepEqual(attrs['periscope.capture.user'], { stringValue: 'u1' });
  assert.deepEqual(attrs['periscope.capture.big'], { doubleValue: 2 ** 60 });
  assert.deepEqual(attrs['periscope.capture.ok'], { boolValue: true });
  assert.deepEqual(attrs['periscope.capture.nested'], {
    kvlistValue: {
      values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'x' }] } } }],
    },
  });
  assert.deepEqual(attrs['periscope.capture_error.missing'], { stringValue: 'not in scope' });
  await ex.close();
});

test('a refusal (400) is not retried; its events are dropped as rejected', async () => {
  received.length = 0;
  answers.push(400);
  const { ex, metrics } = exporter();
  ex.add('a', events(3));
  await eventually(() => metrics.otlpDropped.value({ reason: 'rejected' }) === 3, 5000, 'the refusal');
  assert.equal(metrics.otlpRequests.value({ outcome: 'rejected' }), 1);
  assert.equal(metrics.otlpRequests.value({ outcome: 'retry' }), 0);
  assert.equal(received.length, 0);
  await ex.close();
});

test('a collector that is down: attempts with backoff, then the batch is dropped and counted', async () => {
  const down = createServer();
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  const port = (down.address() as AddressInfo).port;
  await new Promise<void>((r) => down.close(() => r()));
  const { ex, metrics } = exporter({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 3 });
  ex.add('a', events(5));
  await eventually(() => metrics.otlpDropped.value({ reason: 'retries_exhausted' }) === 5, 5000, 'the drop');
  assert.equal(metrics.otlpRequests.value({ outcome: 'error' }), 3);
  assert.equal(metrics.otlpExported.value(), 0);
  await ex.close();
});

test('the queue is bounded: the excess is dropped as queue_full; close drops what is left as shutdown', async () => {
  const { ex, metrics } = exporter({ maxQueue: 10, flushMs: 60_000 });
  ex.add('a', events(25));
  assert.equal(metrics.otlpDropped.value({ reason: 'queue_full' }), 15);
  assert.equal(metrics.otlpQueued(), 10);
  assert.match(metrics.registry.render(), /^periscope_otlp_queue_events 10$/m);
  await ex.close();
  assert.equal(metrics.otlpDropped.value({ reason: 'shutdown' }), 10);
  ex.add('a', events(2));
  assert.equal(metrics.otlpDropped.value({ reason: 'shutdown' }), 12);
  ex.addTraces('a', [trace({})]);
  assert.equal(metrics.otlpTracesDropped.value({ reason: 'shutdown' }), 1);
});
