/**
 * Request traces end to end, as a user has them: a real server (in this process, so the test
 * hears its request signals), a real `periscope agent` and testdata/traced-service, whose
 * requests fail for user "mallory", are slow for user "slow" and succeed at once for the
 * others. The error trace is kept for exactly the failing requests, with the user's id in
 * it; nothing is kept for fast successful requests and the drop counts say so; a slow
 * request is kept with its events in order, and its `slow` signal comes while it is still in
 * flight; the goroutine each request starts is in its trace; the built-in net/http trace
 * keeps the 403s with method, path and status. "Errors per user" and "what did the slowest
 * request do" are one SQL query each (the queries of docs/traces.md).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cli, sleep } from '../../support/fleet.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';
import { type Row, startTracedFleet, svcProgram, type TracedFleet } from '../../support/traced-fleet.js';

const HOST = 'host-t';
let f: TracedFleet;
let target: Target;
const others: Target[] = [];
let specText = '';
let rpcServer: Target | undefined;

const env = () => f.env();
const query = (sql: string) => f.query(sql);
const until = (sql: string, ok: (rows: Row[]) => boolean, ms = 20_000) => f.until(sql, ok, ms);
const request = (user: string, sleepMs = 0) => f.request(user, sleepMs);

/** The SQL under a heading line (e.g. "Errors per user:") in docs/tables.md. */
function docQuery(heading: string): string {
  const text = readFileSync(join(ROOT, 'docs', 'tables.md'), 'utf8');
  const m = new RegExp(`${heading}:\\n\\n\`\`\`sql\\n([\\s\\S]*?)\`\`\``).exec(text);
  assert.ok(m, `docs/tables.md has the query "${heading}"`);
  return m[1]!;
}

before(async () => {
  const started = await startTracedFleet(HOST, [{ fixture: 'grpcpair', args: ['server'] }]);
  f = started.fleet;
  target = f.target;
  rpcServer = started.extras[0]!;
  const spec = join(f.dataDir, 'spec.yaml');
  specText = `${svcProgram(f)}traces:
  - name: work
    program: svc
    function: main.handle
    start: { user: user }
    error: r0
    probes:
      - { name: check, function: main.check, capture: { user: user } }
      - { name: step, function: main.step, capture: { i: i } }
    keep: [error, { slower_than: 300ms }]
  - name: web
    builtin: http
    program: svc
    keep: { if: 'status.code >= 400' }
`;
  writeFileSync(spec, specText);
  const set = await cli(['spec', 'set', spec], env());
  assert.equal(set.code, 0, set.stderr);
  await f.agent.waitFor(new RegExp(`attached .*work:start.* to process ${target.pid}`), 60_000);
  await f.agent.waitFor(new RegExp(`attached .*web:start.* to process ${target.pid}`), 60_000);
});

after(async () => {
  await f?.close(others);
});

test('the error trace is kept for exactly the failing requests, with the user; fast successes are only counted', async () => {
  for (let i = 0; i < 10; i++) assert.equal((await request('alice')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await request('mallory')).status, 403);
  const counts = await until(
    "SELECT sum(requests)::INT AS requests, sum(kept)::INT AS kept, sum(dropped)::INT AS dropped FROM trace_counts WHERE trace = 'work'",
    (r) => r[0]?.requests === 13,
  );
  assert.deepEqual(counts, [{ requests: 13, kept: 3, dropped: 10 }]);
  // Errors per user: one query, the one docs/tables.md shows.
  assert.deepEqual(await query(docQuery('Errors per user')), [
    { user: 'mallory', errors: 3, error: 'user mallory: access denied' },
  ]);
  const kept = await query(
    "SELECT request_id, goroutine_id, goroutines FROM traces WHERE trace = 'work' ORDER BY start_time",
  );
  assert.equal(kept.length, 3);
  for (const t of kept) {
    const gs = (typeof t.goroutines === 'string' ? JSON.parse(t.goroutines) : t.goroutines) as number[];
    assert.equal(gs.length, 2, 'the request goroutine and the lookup goroutine it started');
    const events = await query(
      `SELECT probe, goroutine_id, captures FROM trace_events WHERE request_id = '${t.request_id}' ORDER BY seq`,
    );
    assert.deepEqual(
      events.map((e) => e.probe),
      ['start', 'spawn', 'check', 'step', 'step', 'end'],
    );
    const check = events[2]!;
    assert.notEqual(check.goroutine_id, t.goroutine_id, 'check ran on the started goroutine');
    assert.ok(gs.includes(Number(check.goroutine_id)));
  }
  // The built-in net/http trace kept the 403s (and only them) with method, path and status.
  const web = await until(
    "SELECT start_values->>'method' AS method, start_values->>'path' AS path, outcome FROM traces WHERE trace = 'web'",
    (r) => r.length >= 3,
  );
  assert.deepEqual(web, Array(3).fill({ method: 'GET', path: '/work', outcome: 'condition' }));
  const status = await query(
    "SELECT DISTINCT (captures->>'code')::INT AS code FROM trace_events WHERE trace = 'web' AND probe = 'status'",
  );
  assert.deepEqual(status, [{ code: 403 }]);
  const webCounts = await until(
    "SELECT sum(requests)::INT AS requests, sum(kept)::INT AS kept, sum(dropped)::INT AS dropped FROM trace_counts WHERE trace = 'web'",
    (r) => r[0]?.requests === 13,
  );
  assert.deepEqual(webCounts, [{ requests: 13, kept: 3, dropped: 10 }]);
  const kepts = f.signals.filter((s) => s.kind === 'kept' && s.trace === 'work');
  assert.equal(kepts.length, 3);
  assert.ok(kepts.every((s) => s.kind === 'kept' && s.outcome === 'error' && s.pid === target.pid));
  const cliOut = await cli(['traces', '--trace', 'work', '--outcome', 'error', '--last', '1'], env());
  assert.equal(cliOut.code, 0, cliOut.stderr);
  assert.match(
    cliOut.stdout,
    /work {2}error {2}[\d.]+ms {2}host-t:\d+ {2}g\d+ {2}user="mallory" {2}error="user mallory: access denied"/,
  );
});

test('a slow request signals while in flight and is kept with its events in order', async () => {
  const before = f.signals.length;
  const r = await request('slow', 1500);
  assert.equal(r.status, 200);
  const slow = f.signals.slice(before).filter((s) => s.kind === 'slow');
  assert.equal(slow.length, 1, JSON.stringify(f.signals.slice(before)));
  const s = slow[0]!;
  assert.ok(s.at < r.at, 'the slow signal came before the response');
  assert.ok(s.kind === 'slow' && s.elapsedMs >= 300 && s.elapsedMs < 1500, JSON.stringify(s));
  // What did the slowest request do: one query, the one docs/tables.md shows.
  await until(`SELECT 1 FROM traces WHERE request_id = '${s.requestId}'`, (x) => x.length > 0);
  const rows = await query(docQuery('What did the slowest request do'));
  assert.deepEqual(await query(`SELECT outcome FROM traces WHERE request_id = '${s.requestId}'`), [
    { outcome: 'slow' },
  ]);
  assert.deepEqual(
    rows.map((x) => x.probe),
    ['start', 'spawn', 'check', 'step', 'step', 'end'],
  );
  const ms = rows.map((x) => Date.parse(String(x.time)));
  assert.deepEqual(
    ms,
    [...ms].sort((a, b) => a - b),
    'events in time order',
  );
  assert.ok(ms[4]! - ms[3]! >= 1400, `the sleep is between the steps: ${ms}`);
});

test('a trace whose function a binary lacks is refused by spec set', async () => {
  const spec = join(f.dataDir, 'bad.yaml');
  writeFileSync(
    spec,
    `programs:\n  - name: svc\n    match: { env.FLEET_AGENT: "^${f.tag}:${HOST}$" }\ntraces:\n  - name: gone\n    program: svc\n    function: main.nosuch\n    keep: panic\n`,
  );
  const r = await cli(['spec', 'set', spec], env());
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /gone:start .*has no function main\.nosuch/);
});

test('the built-in grpc trace keeps a slow unary RPC of grpc-go with its method', async () => {
  const { path } = await buildFixture('grpcpair');
  const srv = rpcServer!;
  const addr = /listening (\S+)/.exec(srv.lines.find((l) => l.text.startsWith('ready'))!.text)![1]!;
  const spec = join(f.dataDir, 'grpc.yaml');
  writeFileSync(
    spec,
    `${specText.replace('programs:\n', `programs:\n  - name: rpc\n    match: { pid: "^${srv.pid}$" }\n`)}  - name: rpc\n    builtin: grpc\n    program: rpc\n    keep: [error, { slower_than: 100ms }]\n`,
  );
  const set = await cli(['spec', 'set', spec], env());
  assert.equal(set.code, 0, set.stderr);
  await f.agent.waitFor(new RegExp(`attached .*rpc:start.* to process ${srv.pid}`), 60_000);
  const before = f.signals.length;
  const client = await startTarget(path, ['client', addr, 'unary', '1']);
  others.push(client);
  await sleep(400);
  srv.child.stdin!.write('release\n');
  const rows = await until(
    "SELECT start_values->>'method' AS method, outcome, goroutine_id FROM traces WHERE trace = 'rpc'",
    (r) => r.length > 0,
  );
  assert.deepEqual(
    rows.map((r) => [r.method, r.outcome]),
    [['/periscope.test.Pair/Block', 'slow']],
  );
  const slow = f.signals.slice(before).filter((x) => x.kind === 'slow' && x.trace === 'rpc');
  assert.equal(slow.length, 1);
  assert.equal(slow[0]!.goroutine, rows[0]!.goroutine_id);
});
