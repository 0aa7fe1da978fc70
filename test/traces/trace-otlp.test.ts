/**
 * Kept request traces exported as OTLP spans, end to end: a real server with `otlp` pointing
 * at a small collector in the test, a real agent and testdata/traced-service. After three
 * failing requests, the collector has at `/v1/traces` exactly the three kept traces, each one
 * span with the stored request's id, its trace id the request id hashed (the service carries
 * no trace context), an error status with the request's error, the trace's start capture and
 * its path events as span events in order.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cli } from '../../support/fleet.js';
import { startTracedFleet, svcProgram, type TracedFleet } from '../../support/traced-fleet.js';
import { eventually } from '../server/server-support.js';

interface Attr {
  key: string;
  value: Record<string, unknown>;
}
interface Span {
  traceId: string;
  spanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attr[];
  events: { name: string; timeUnixNano: string; attributes: Attr[] }[];
  status: { code: number; message?: string };
}

let f: TracedFleet;
let collector: Server;
const paths: string[] = [];
const spans: Span[] = [];

before(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(req.url ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans?: { scopeSpans: { spans: Span[] }[] }[];
      };
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  ({ fleet: f } = await startTracedFleet('host-o', [], { otlp: { endpoint, flushMs: 50 } }));
  const spec = join(f.dataDir, 'spec.yaml');
  writeFileSync(
    spec,
    `${svcProgram(f)}traces:
  - name: work
    program: svc
    function: main.handle
    start: { user: user }
    error: r0
    probes:
      - { name: check, function: main.check, capture: { user: user } }
    keep: [error]
`,
  );
  const set = await cli(['spec', 'set', spec], f.env());
  assert.equal(set.code, 0, set.stderr);
  await f.agent.waitFor(new RegExp(`attached .*work:start.* to process ${f.target.pid}`), 60_000);
});

after(async () => {
  await f?.close();
  await new Promise<void>((r) => collector.close(() => r()));
});

test('each kept trace reaches the collector as one span with its events, under a trace id from its request id', async () => {
  for (let i = 0; i < 2; i++) assert.equal((await f.request('alice')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await f.request('mallory')).status, 403);
  await eventually(() => spans.length >= 3, 20_000, 'three spans at the collector');
  const stored = await f.until(
    "SELECT request_id FROM traces WHERE trace = 'work' ORDER BY start_time",
    (r) => r.length === 3,
  );
  assert.equal(spans.length, 3, 'only the kept traces');
  assert.ok(paths.every((p) => p === '/v1/traces'));
  const byRequest = new Map(
    spans.map((s) => [
      s.attributes.find((a) => a.key === 'periscope.request_id')?.value.stringValue as string,
      s,
    ]),
  );
  for (const { request_id } of stored) {
    const s = byRequest.get(String(request_id));
    assert.ok(s, `a span for ${request_id}`);
    const attrs = Object.fromEntries(s.attributes.map((a) => [a.key, a.value]));
    assert.equal(s.traceId, createHash('sha256').update(String(request_id)).digest('hex').slice(0, 32));
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.equal(s.name, 'work');
    assert.deepEqual(s.status, { code: 2, message: 'user mallory: access denied' });
    assert.deepEqual(attrs['periscope.start.user'], { stringValue: 'mallory' });
    assert.deepEqual(attrs['periscope.trace_id_source'], { stringValue: 'request_id' });
    assert.deepEqual(attrs['process.pid'], { intValue: String(f.target.pid) });
    assert.ok(BigInt(s.endTimeUnixNano) > BigInt(s.startTimeUnixNano));
    assert.deepEqual(
      s.events.map((e) => e.name),
      ['start', 'spawn', 'check', 'end'],
    );
    const check = s.events[2]!;
    assert.deepEqual(check.attributes.find((a) => a.key === 'periscope.capture.user')?.value, {
      stringValue: 'mallory',
    });
  }
  assert.equal(f.server.metrics.otlpTracesExported.value(), 3);
});
