/**
 * `/metrics` on a real `periscope server` and a real `periscope agent --metrics-listen`,
 * scraped before and after real snapshots of a real Go process and parsed by the strict
 * parser of support/prometheus-parse.ts and by Prometheus's own (expfmt, through
 * support/prometheus-oracle.ts), which must read the same samples: the values are what happened (one more snapshot per
 * snapshot, one pause observed per captured process with the pause the snapshot reports, the
 * request counted under its route and status, the agent's own captures, CPU time and memory).
 * The server's `/metrics` wants a user token unless started with `--metrics-public`.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  cli,
  createToken,
  type FleetSnapshot,
  fleetTag,
  type Proc,
  type ServerProc,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { checkWithPrometheus } from '../../support/prometheus-oracle.js';
import { type ParsedFamily, parsePrometheusText, sampleValue } from '../../support/prometheus-parse.js';
import type { Target } from '../../support/target.js';

const tag = fleetTag();
const HOST = 'host-metrics';
let dataDir = '';
let server: ServerProc | undefined;
let agent: Proc | undefined;
let agentMetricsUrl = '';
let userToken = '';
let agentToken = '';
let target: Target | undefined;

before(async () => {
  dataDir = tempDir('periscope-metrics-');
  userToken = await createToken(dataDir, 'user', 'metrics-user');
  agentToken = await createToken(dataDir, 'agent', 'metrics-agent');
  server = await startServerProc(dataDir);
  agent = startAgentProc(server.url, agentToken, HOST, tag, ['--metrics-listen', '127.0.0.1:0']);
  agentMetricsUrl = /metrics on (\S+)/.exec((await agent.waitFor(/metrics on (\S+)/, 30_000)).text)![1]!;
  const fixture = await buildFixture('exprs');
  target = await startTagged(fixture.path, [], tag, HOST);
  await waitForFleet(server.url, userToken, { [HOST]: [target.pid] });
});

after(async () => {
  await agent?.stop();
  await target?.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function scrape(url: string, token?: string): Promise<Map<string, ParsedFamily>> {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const parsed = parsePrometheusText(text);
  await checkWithPrometheus(text, parsed);
  return parsed;
}

async function snapshot(noPause = false): Promise<FleetSnapshot> {
  const r = await fetch(`${server!.url}/v1/snapshots`, {
    method: 'POST',
    headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ select: `pid=${target!.pid}`, ...(noPause ? { noPause: true } : {}) }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()) as FleetSnapshot;
}

const v = (f: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}) =>
  sampleValue(f, name, labels) ?? 0;

test("the server's /metrics counts each snapshot once, with its pause, duration and request", async () => {
  const m0 = await scrape(`${server!.url}/metrics`, userToken);
  assert.equal(v(m0, 'periscope_agents', { state: 'connected' }), 1);
  assert.equal(v(m0, 'periscope_agents', { state: 'refused' }), 0);
  assert.equal(v(m0, 'periscope_processes_monitored'), 1);
  assert.equal(v(m0, 'periscope_snapshots_total'), 0);
  assert.ok(v(m0, 'periscope_store_bytes') > 0, 'the store file has a size');
  for (const name of [
    'periscope_snapshot_pause_seconds',
    'periscope_snapshot_duration_seconds',
    'periscope_probe_hits_total',
    'periscope_otlp_dropped_total',
  ])
    assert.ok(m0.has(name), `${name} is described even before it has series`);

  const pauses: number[] = [];
  for (let i = 1; i <= 2; i++) {
    const s = await snapshot();
    assert.equal(s.processes.length, 1);
    assert.ok(s.processes[0]!.ok, JSON.stringify(s.processes[0]));
    pauses.push(s.processes[0]!.pauseNs! / 1e9);
    const m = await scrape(`${server!.url}/metrics`, userToken);
    assert.equal(v(m, 'periscope_snapshots_total'), i);
    assert.equal(v(m, 'periscope_snapshot_processes_total', { outcome: 'ok' }), i);
    assert.equal(v(m, 'periscope_snapshot_pause_seconds_count'), i);
    const sum = pauses.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(v(m, 'periscope_snapshot_pause_seconds_sum') - sum) < 1e-9);
    assert.equal(v(m, 'periscope_snapshot_duration_seconds_count'), i);
    assert.equal(
      v(m, 'periscope_http_requests_total', { route: '/v1/snapshots', method: 'POST', status: '201' }),
      i,
    );
    // Scrapes are requests too: the earlier ones are counted (this one is answered as it is counted).
    assert.equal(
      v(m, 'periscope_http_requests_total', { route: '/metrics', method: 'GET', status: '200' }),
      i,
    );
    assert.ok(v(m, 'periscope_process_cpu_seconds_total') > 0);
    assert.ok(v(m, 'periscope_process_resident_memory_bytes') > 10 << 20);
  }

  // The agent measured the same pauses.
  const a = await scrape(agentMetricsUrl);
  assert.equal(v(a, 'periscope_agent_processes_watched'), 1);
  assert.equal(v(a, 'periscope_agent_connected'), 1);
  assert.equal(v(a, 'periscope_agent_captures_total', { outcome: 'ok' }), 2);
  assert.equal(v(a, 'periscope_agent_captures_total', { outcome: 'failed' }), 0);
  assert.equal(v(a, 'periscope_agent_pause_seconds_count'), 2);
  assert.ok(Math.abs(v(a, 'periscope_agent_pause_seconds_sum') - pauses[0]! - pauses[1]!) < 1e-9);
  const passes =
    v(a, 'periscope_agent_discovery_passes_total', { kind: 'full' }) +
    v(a, 'periscope_agent_discovery_passes_total', { kind: 'quick' });
  assert.ok(passes >= 1, 'discovery passes are counted');
  assert.ok(v(a, 'periscope_agent_binaries_read_total') >= 1);
  assert.ok(v(a, 'periscope_process_cpu_seconds_total') > 0);
  assert.ok(v(a, 'periscope_process_resident_memory_bytes') > 10 << 20);

  // A snapshot taken without pausing counts as a snapshot and a capture, not as a pause.
  const np = await snapshot(true);
  assert.ok(np.processes[0]!.ok, JSON.stringify(np.processes[0]));
  const m3 = await scrape(`${server!.url}/metrics`, userToken);
  assert.equal(v(m3, 'periscope_snapshots_total'), 3);
  assert.equal(v(m3, 'periscope_snapshot_pause_seconds_count'), 2);
  const a3 = await scrape(agentMetricsUrl);
  assert.equal(v(a3, 'periscope_agent_captures_total', { outcome: 'ok' }), 3);
  assert.equal(v(a3, 'periscope_agent_pause_seconds_count'), 2);
});

test("the server's /metrics wants a user token unless --metrics-public; the agent's serves /metrics only", async () => {
  const none = await fetch(`${server!.url}/metrics`);
  assert.equal(none.status, 401);
  const agentTok = await fetch(`${server!.url}/metrics`, {
    headers: { authorization: `Bearer ${agentToken}` },
  });
  assert.equal(agentTok.status, 403);
  const other = await fetch(agentMetricsUrl.replace('/metrics', '/v1/agents'));
  assert.equal(other.status, 404);
  const post = await fetch(agentMetricsUrl, { method: 'POST' });
  assert.equal(post.status, 405);

  const dir = tempDir('periscope-metrics-public-');
  const open = await startServerProc(dir, '127.0.0.1:0', ['--metrics-public']);
  try {
    const m = await scrape(`${open.url}/metrics`);
    assert.equal(v(m, 'periscope_agents', { state: 'connected' }), 0);
    assert.equal(v(m, 'periscope_snapshots_total'), 0);
  } finally {
    await open.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wrong --otlp-endpoint, --otlp-header and --metrics-listen are usage errors, a port in use too', async () => {
  const dir = tempDir('periscope-metrics-usage-');
  try {
    const bad = await cli(['server', '--data', dir, '--otlp-endpoint', 'ftp://collector:4318']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--otlp-endpoint "ftp:\/\/collector:4318" is not an http\(s\):\/\/ URL/);
    const header = await cli(['server', '--data', dir, '--otlp-header', 'x-api-key=1']);
    assert.equal(header.code, 2, header.stderr);
    assert.match(header.stderr, /--otlp-header needs --otlp-endpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const agentArgs = ['agent', '--server', 'http://127.0.0.1:9', '--token', 'psk_x', '--metrics-listen'];
  const listen = await cli([...agentArgs, 'nowhere']);
  assert.equal(listen.code, 2, listen.stderr);
  assert.match(listen.stderr, /--metrics-listen "nowhere" is not HOST:PORT/);
  const inUse = await cli([...agentArgs, new URL(agentMetricsUrl).host]);
  assert.equal(inUse.code, 2, inUse.stderr);
  assert.match(inUse.stderr, /--metrics-listen 127\.0\.0\.1:\d+ is in use; choose another port/);
});
