/**
 * Probe events exported over OTLP end to end: a real `periscope server --otlp-endpoint` with
 * a small collector (an HTTP server in this test), a real agent and testdata/probe-values, a
 * probe added with the CLI. The collector receives one log record per call with the call's
 * values, and the server's and agent's `/metrics` count the hits and the export.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  cli,
  createToken,
  fleetTag,
  type Proc,
  type ServerProc,
  sleep,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-parse.js';
import type { Target } from '../../support/target.js';

const HOST = 'host-otlp';
const USERS = ['alice', 'bob', 'carol'];
const tag = fleetTag();
let dataDir = '';
let server: ServerProc | undefined;
let agent: Proc | undefined;
let agentMetricsUrl = '';
let target: Target | undefined;
let userToken = '';
let collector: Server;

interface Attr {
  key: string;
  value: { stringValue?: string; intValue?: string };
}
const records: Attr[][] = [];
const paths: string[] = [];

before(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(req.url ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceLogs: { scopeLogs: { logRecords: { attributes: Attr[] }[] }[] }[];
      };
      for (const rl of body.resourceLogs)
        for (const sl of rl.scopeLogs) for (const r of sl.logRecords) records.push(r.attributes);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

  dataDir = tempDir('periscope-otlp-');
  const bin = await fixtureBinary();
  userToken = await createToken(dataDir, 'user', 'otlp-user');
  const agentToken = await createToken(dataDir, 'agent', 'otlp-agent');
  server = await startServerProc(dataDir, '127.0.0.1:0', ['--otlp-endpoint', endpoint]);
  agent = startAgentProc(server.url, agentToken, HOST, tag, [
    '--runtime-dir',
    join(dataDir, 'run'),
    '--metrics-listen',
    '127.0.0.1:0',
  ]);
  agentMetricsUrl = /metrics on (\S+)/.exec((await agent.waitFor(/metrics on (\S+)/, 30_000)).text)![1]!;
  target = await startTagged(bin.path, [], tag, HOST);
  await waitForFleet(server.url, userToken, { [HOST]: [target.pid] });
  const spec = join(dataDir, 'spec.yaml');
  writeFileSync(spec, `programs:\n  - name: pv\n    match: { env.FLEET_AGENT: "^${tag}:${HOST}$" }\n`);
  const env = { PERISCOPE_TOKEN: userToken, PERISCOPE_SERVER: server.url };
  const set = await cli(['spec', 'set', spec], env);
  assert.equal(set.code, 0, set.stderr);
});

after(async () => {
  await agent?.stop();
  await target?.kill();
  await server?.proc.stop();
  await new Promise<void>((r) => collector.close(() => r()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function scrape(url: string, token?: string) {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  assert.equal(r.status, 200);
  return parsePrometheusText(await r.text());
}

async function until(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await cond()) && Date.now() < end) await sleep(200);
  return cond();
}

test("a probe's events reach the collector as OTLP log records with each call's values", async () => {
  const env = { PERISCOPE_TOKEN: userToken, PERISCOPE_SERVER: server!.url };
  const add = await cli(
    [
      'probe',
      'add',
      'calls',
      '--program',
      'pv',
      '--function',
      'main.handle',
      '--capture',
      'user',
      '--capture',
      'n',
    ],
    env,
  );
  assert.equal(add.code, 0, add.stderr);
  await agent!.waitFor(new RegExp(`attached .*calls.* to process ${target!.pid}`), 30_000);
  const since = performance.now();
  target!.child.stdin!.write('handle 30\n');
  await target!.waitFor(/^done /, 30_000, since);

  assert.ok(
    await until(() => records.length >= 30),
    `the collector received ${records.length} of 30 records`,
  );
  await sleep(300);
  assert.equal(records.length, 30);
  assert.ok(paths.every((p) => p === '/v1/logs'));
  const rows = records.map((attrs) => {
    const a = Object.fromEntries(attrs.map((x) => [x.key, x.value]));
    return {
      probe: a['periscope.probe']?.stringValue,
      process: a['periscope.process']?.stringValue,
      pid: a['process.pid']?.intValue,
      fn: a['code.function']?.stringValue,
      n: a['periscope.capture.n']?.intValue,
      user: a['periscope.capture.user']?.stringValue,
    };
  });
  assert.deepEqual(
    rows.sort((a, b) => Number(a.n) - Number(b.n)),
    Array.from({ length: 30 }, (_, i) => ({
      probe: 'calls',
      process: `${HOST}:${target!.pid}`,
      pid: String(target!.pid),
      fn: 'main.handle',
      n: String(i),
      user: USERS[i % 3],
    })),
  );

  // The counts come per interval: wait for the 30 hits to be reported.
  let m = await scrape(`${server!.url}/metrics`, userToken);
  assert.ok(
    await until(async () => {
      m = await scrape(`${server!.url}/metrics`, userToken);
      return sampleValue(m, 'periscope_probe_hits_total', { probe: 'calls' }) === 30;
    }),
    `server hits ${sampleValue(m, 'periscope_probe_hits_total', { probe: 'calls' })}`,
  );
  assert.equal(sampleValue(m, 'periscope_otlp_exported_total'), 30);
  assert.equal(sampleValue(m, 'periscope_probe_events_received_total'), 30);
  assert.equal(sampleValue(m, 'periscope_otlp_dropped_total', { reason: 'queue_full' }), undefined);
  const a = await scrape(agentMetricsUrl);
  assert.equal(sampleValue(a, 'periscope_agent_probe_hits_total', { probe: 'calls' }), 30);
  assert.equal(sampleValue(a, 'periscope_agent_probe_events_total', { probe: 'calls' }), 30);
});
