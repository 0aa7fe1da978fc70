/**
 * Standing investigations on a real server and store, with an agent that answers with a real
 * snapshot of a fixture: bad definitions refused at add time; a schedule fires at most its
 * limit and writes its report; request signals fire at most once per interval; a SQL
 * condition fires only when it holds; a probe trigger with a filter fires on the matching
 * event; the webhook is called, and a failing one is recorded, not fatal; everything
 * survives a restart (still open, counts kept, the schedule resumes).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { InvestigationView } from '../../src/api/investigation-views.js';
import type { AuditResponse, CreatedToken, QueryResponse } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import { ROOT } from '../../support/go-fixtures.js';
import {
  api,
  describeProcess,
  eventually,
  FakeAgent,
  type RealSnapshot,
  realSnapshot,
  tempDataDir,
  testServer,
} from './server-support.js';

const HOST = 'inv-host';
const run = promisify(execFile);

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin', 'periscope.js'), ...args], {
      timeout: 30_000,
      env: { ...process.env, PERISCOPE_TOKEN: alice, PERISCOPE_SERVER: server.url, PERISCOPE_DATA: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}
const PID = 4242;
/** The traces the slow/error triggers name (they are checked against the current spec). */
const TRACES = `traces:
  - name: checkout
    program: orders
    function: main.checkout
    error: r0
    keep: [error, { slower_than: 2s }]
  - name: crashes
    program: orders
    function: main.get
    keep: panic
  - name: lag
    program: orders
    function: main.get
    keep: { slower_than: 500ms }
`;
const ORDERS = `version: 1
programs:
  - name: orders
    match: { exe_name: '^orders$' }
`;

let real: RealSnapshot;
let dataDir: string;
let server: RunningServer;
let agent: FakeAgent;
let admin: string;
let alice: string;
let bob: string;
let hook: Server;
const hookBodies: Record<string, unknown>[] = [];
let hookUrl: string;

async function connectAgent(): Promise<void> {
  agent = new FakeAgent('inv-a', HOST, [describeProcess(HOST, PID, ['orders'])], () => real.snapshot);
  await agent.connect(server.url, server.firstTokens?.agent ?? agentToken);
}
let agentToken = '';

before(async () => {
  real = await realSnapshot();
  dataDir = tempDataDir();
  server = await testServer(dataDir);
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
  const mk = async (name: string) =>
    (await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', { role: 'user', name })).body.token;
  alice = await mk('alice');
  bob = await mk('bob');
  await connectAgent();
  const put = await api(server.url, admin, 'PUT', '/v1/spec?force=true', { yaml: ORDERS + TRACES });
  assert.ok(put.status === 200 || put.status === 201, put.text);
  hook = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      if (req.url === '/fail') {
        res.writeHead(500).end('no');
        return;
      }
      hookBodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
});

after(async () => {
  await agent.close();
  await server.close();
  hook.close();
  await real.target.kill();
});

function message(body: unknown): string {
  return (body as { error?: { message?: string } }).error?.message ?? '';
}

/** A port nothing listens on (a server's, closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function add(token: string, body: unknown) {
  return api<InvestigationView>(server.url, token, 'POST', '/v1/investigations', body);
}

async function show(ref: string | number): Promise<InvestigationView> {
  const r = await api<InvestigationView>(server.url, alice, 'GET', `/v1/investigations/${ref}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/**
 * Waits until an investigation shows `cond`; failing, the message has it as it was last shown.
 * 20 s bounds the wait, not the speed: at load 29 on 2 cores two firings from one probe batch
 * took longer than 5 s.
 */
async function shownWhen(ref: string, cond: (v: InvestigationView) => boolean, what: string): Promise<void> {
  let last: InvestigationView | undefined;
  try {
    await eventually(
      async () => {
        last = await show(ref);
        return cond(last);
      },
      20_000,
      what,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; ${ref} was ${JSON.stringify(last)}`);
  }
}

async function sql(q: string): Promise<QueryResponse> {
  const r = await api<QueryResponse>(server.url, alice, 'POST', '/v1/query', { sql: q, all: true });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

function slow(requestId: string, goroutine = 1) {
  server.signals.emit({
    kind: 'slow',
    trace: 'checkout',
    agentId: 'inv-a',
    process: `${HOST}:${PID}`,
    pid: PID,
    goroutine,
    requestId,
    elapsedMs: 2500,
  });
}

test('bad definitions are refused at add time with what is wrong', async () => {
  const cases: [unknown, RegExp][] = [
    [
      { name: 'x', triggers: [{ slow: {} }], report: [{ name: 'q', sql: 'SELECT nope FROM goroutines' }] },
      /report query "q" does not prepare.*nope/,
    ],
    [
      { name: 'x', triggers: [{ schedule: { every: '1m', select: 'what?' } }] },
      /triggers\[0\]\.schedule\.select: bad selector term "what\?"/,
    ],
    [
      { name: 'x', triggers: [{ probe: 'no_such_probe' }] },
      /trigger probe "no_such_probe": no probe of that name in the current spec/,
    ],
    [
      { name: 'x', triggers: [{ sql: 'SELECT true' }] },
      /a sql trigger is checked over each snapshot of the investigation's schedule/,
    ],
    [
      { name: 'x', triggers: [{ schedule: { every: '1m' } }, { sql: 'SELEKT 1' }] },
      /sql trigger does not prepare/,
    ],
    [{ name: 'x', triggers: [{ schedule: { every: 'soon' } }] }, /"soon" is not a duration/],
    [{ name: 'x', triggers: [{ slow: {} }], webhook: { url: 'ftp://h/' } }, /must be http: or https:/],
    [{ name: 'x', triggers: [{ slow: {} }], snapshot: { select: 'a~(' } }, /bad regular expression/],
    [{ name: '1x', triggers: [{ slow: {} }] }, /"name" must start with a letter/],
    [{ name: 'x', triggers: [] }, /"triggers" must list at least one trigger/],
    [
      { name: 'x', triggers: [{ slow: {} }], report: [{ name: 'q', sql: 'DELETE FROM goroutines' }] },
      /report query "q" does not prepare/,
    ],
    [
      { name: 'x', triggers: [{ slow: { trace: 'chekout' } }] },
      /trigger slow on trace "chekout": no trace of that name in the current spec \(nearest: checkout, crashes, lag\)/,
    ],
    [
      { name: 'x', triggers: [{ error: { trace: 'nope' } }] },
      /trigger error on trace "nope": no trace of that name in the current spec \(nearest: /,
    ],
    [
      { name: 'x', triggers: [{ slow: { trace: 'crashes' } }] },
      /trigger slow on trace "crashes": the trace has no slower_than in its keep rule.*add `keep: slower_than`/,
    ],
    [
      { name: 'x', triggers: [{ slow: { trace: 'checkout', over: '500ms' } }] },
      /over 500ms is below the trace's slower_than 2s.*use over 2s or more/,
    ],
    [
      { name: 'x', triggers: [{ error: { trace: 'lag' } }] },
      /trigger error on trace "lag": the trace keeps no request for an error or a panic.*add error \(or panic\)/,
    ],
  ];
  for (const [body, re] of cases) {
    const r = await add(alice, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(message(r.body), re, JSON.stringify(body));
  }
  const list = await api<{ investigations: unknown[] }>(server.url, alice, 'GET', '/v1/investigations');
  assert.deepEqual(list.body.investigations, [], 'nothing refused was stored');
});

test('a schedule fires at most its limit and writes its report over each snapshot it took', async () => {
  const r = await add(alice, {
    name: 'every-second',
    question: 'how many goroutines over time?',
    triggers: [{ schedule: { every: '1s', select: 'program=orders' } }],
    report: [{ name: 'count', sql: 'SELECT count(*) AS n FROM goroutines' }],
    limits: { maxFires: 2 },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.owner, 'alice');
  assert.equal(r.body.state, 'open');
  await eventually(async () => (await show('every-second')).fires === 2, 10_000, 'two firings');
  await new Promise((res) => setTimeout(res, 2500));
  await server.investigations.idle();
  const s = await show('every-second');
  assert.equal(s.fires, 2, 'no third firing past the limit');
  const firings = await sql(
    "SELECT f.firing_id, f.snapshot_id, f.trigger, s.labels FROM investigation_firings f JOIN snapshots s USING (snapshot_id) WHERE f.investigation = 'every-second' ORDER BY 1",
  );
  assert.equal(firings.rows.length, 2);
  for (const [, , trigger, labels] of firings.rows) {
    assert.equal(trigger, 'schedule');
    assert.deepEqual(labels, { investigation: 'every-second', schedule: 'every-second' });
  }
  const report = await sql(
    "SELECT r.firing_id, r.snapshot_id, r.query, r.row ->> 'n' FROM investigation_reports r JOIN investigations i USING (investigation_id) WHERE i.name = 'every-second' ORDER BY 1",
  );
  assert.deepEqual(
    report.rows,
    firings.rows.map(([fid, sid]) => [fid, sid, 'count', String(real.snapshot.goroutines.length)]),
  );
  assert.equal(s.firings?.[0]?.reportRows, 1);
});

test('slow signals fire at most once per interval, snapshot the process and record the request', async () => {
  const r = await add(alice, {
    name: 'slow-checkout',
    triggers: [{ slow: { trace: 'checkout', over: '2s' } }],
    limits: { minInterval: '1h' },
    report: [{ name: 'top', sql: 'SELECT count(*) AS n FROM goroutines' }],
  });
  assert.equal(r.status, 201, r.text);
  slow('req-1');
  slow('req-2');
  server.signals.emit({
    kind: 'slow',
    trace: 'other',
    agentId: 'inv-a',
    process: `${HOST}:${PID}`,
    pid: PID,
    goroutine: 1,
    requestId: 'req-other',
    elapsedMs: 9000,
  });
  await server.investigations.idle();
  const s = await show('slow-checkout');
  assert.equal(s.fires, 1);
  const f = s.firings?.[0];
  assert.equal(f?.requestId, 'req-1');
  assert.equal(f?.process, `${HOST}:${PID}`);
  assert.equal(f?.traceKept, true);
  assert.equal(f?.error, undefined);
  const snap = await sql(`SELECT labels, process_count FROM snapshots WHERE snapshot_id = ${f?.snapshotId}`);
  assert.deepEqual(snap.rows, [[{ investigation: 'slow-checkout', trigger: 'slow', request: 'req-1' }, 1]]);
  const rep = await sql(
    `SELECT request_id, snapshot_id FROM investigation_reports WHERE firing_id = ${f?.id}`,
  );
  assert.deepEqual(rep.rows, [['req-1', f?.snapshotId]]);
});

test('/metrics counts the firings by investigation and outcome', async () => {
  const r = await add(alice, { name: 'gone-proc', triggers: [{ slow: { trace: 'checkout' } }] });
  assert.equal(r.status, 201, r.text);
  server.signals.emit({
    kind: 'slow',
    trace: 'checkout',
    agentId: 'inv-a',
    process: `${HOST}:9`,
    pid: 9,
    goroutine: 1,
    requestId: 'req-gone',
    elapsedMs: 2500,
  });
  await server.investigations.idle();
  assert.match((await show('gone-proc')).firings?.[0]?.error ?? '', /not monitored now/);
  const m = await api(server.url, admin, 'GET', '/metrics');
  assert.equal(m.status, 200);
  const lines = m.text.split('\n').filter((l) => l.startsWith('periscope_investigation_firings_total{'));
  // every-second: the schedule of the test before, each of its stored firings counted once.
  const scheduled = (await show('every-second')).fires;
  assert.deepEqual(lines.sort(), [
    `periscope_investigation_firings_total{investigation="every-second",outcome="ok"} ${scheduled}`,
    'periscope_investigation_firings_total{investigation="gone-proc",outcome="error"} 1',
    'periscope_investigation_firings_total{investigation="slow-checkout",outcome="ok"} 1',
  ]);
});

test('an error trigger fires on a kept trace that failed, not on one kept for slowness', async () => {
  assert.equal(
    (
      await add(alice, {
        name: 'errors',
        triggers: [{ error: { trace: 'checkout' } }],
        snapshot: 'none',
        limits: { minInterval: '1ms' },
      })
    ).status,
    201,
  );
  const kept = (requestId: string, outcome: 'error' | 'slow') =>
    server.signals.emit({
      kind: 'kept',
      trace: 'checkout',
      agentId: 'inv-a',
      process: `${HOST}:${PID}`,
      pid: PID,
      goroutine: 7,
      requestId,
      outcome,
      durationMs: 10,
      ...(outcome === 'error' ? { error: 'user 42: denied' } : {}),
    });
  kept('ok-slow', 'slow');
  kept('bad-1', 'error');
  await server.investigations.idle();
  const s = await show('errors');
  assert.deepEqual(
    s.firings?.map((f) => [f.trigger, f.requestId, f.goroutine, f.traceKept, f.snapshotId]),
    [['error', 'bad-1', 7, true, undefined]],
  );
});

test('a SQL condition fires only when it holds over the scheduled snapshot; retention keeps the newest', async () => {
  const never = await add(alice, {
    name: 'never',
    triggers: [
      { schedule: { every: '1s', select: 'program=orders', keep: 1 } },
      { sql: 'SELECT count(*) > 100000 FROM goroutines' },
    ],
  });
  assert.equal(never.status, 201, never.text);
  const holds = await add(alice, {
    name: 'holds',
    triggers: [
      { schedule: { every: '1s', select: 'program=orders' } },
      { sql: `SELECT count(*) = ${real.snapshot.goroutines.length} FROM goroutines` },
    ],
    limits: { maxFires: 1 },
  });
  assert.equal(holds.status, 201, holds.text);
  await eventually(async () => (await show('holds')).fires === 1, 10_000, 'the condition to fire');
  await eventually(
    async () =>
      (await sql("SELECT count(*) FROM snapshots WHERE labels ->> 'schedule' = 'never'")).rows[0]?.[0] ===
        1 &&
      (await api<{ total: number }>(server.url, alice, 'GET', '/v1/snapshots?label=schedule%3Dnever')).body
        .total === 1,
    10_000,
    'ticks of "never" with one snapshot kept',
  );
  await new Promise((res) => setTimeout(res, 2200));
  // Closed, it ticks no more: a tick between its snapshot and its retention is not seen below.
  assert.equal((await api(server.url, alice, 'POST', '/v1/investigations/never/close')).status, 200);
  await server.investigations.idle();
  assert.equal((await show('never')).fires, 0, 'a false condition never fires');
  const h = await show('holds');
  assert.equal(h.firings?.[0]?.trigger, 'sql');
  assert.equal(
    (await sql("SELECT count(*) FROM snapshots WHERE labels ->> 'schedule' = 'never'")).rows[0]?.[0],
    1,
  );
});

test('a probe trigger with a filter fires on the matching event of that process and goroutine', async () => {
  const spec = `${ORDERS}${TRACES}probes:
  - name: cache_get
    program: orders
    function: main.get
    capture: { key: key }
`;
  const put = await api(server.url, admin, 'PUT', '/v1/spec?force=true', { yaml: spec });
  assert.ok(put.status === 200 || put.status === 201, put.text);
  assert.match(
    message(
      (await add(alice, { name: 'p', triggers: [{ probe: { name: 'cache_get', where: 'nope = 1' } }] })).body,
    ),
    /^probe trigger "cache_get" where does not prepare over the tables a query sees now: .*"nope"/,
  );
  const r = await add(alice, {
    name: 'cache-b',
    triggers: [{ probe: { name: 'cache_get', where: "key = 'b'" } }],
    snapshot: 'process',
  });
  assert.equal(r.status, 201, r.text);
  const event = (key: string, goroutine: number) => ({
    probe: 'cache_get',
    process: `${HOST}:${PID}`,
    timeUs: Date.now() * 1000,
    goroutine,
    thread: 1,
    site: { kind: 'entry', function: 'main.get' },
    values: { key },
  });
  agent.send({ type: 'probe-batch', events: [event('a', 11)], counts: [], histograms: [], notices: [] });
  // Once the event is stored, the trigger has looked at it (told of the batch as it is stored).
  await eventually(
    async () =>
      Number((await sql('SELECT count(*) FROM cache_get WHERE goroutine_id = 11')).rows[0]?.[0]) === 1,
    20_000,
    'the first event stored',
  );
  await server.investigations.idle();
  assert.equal((await show('cache-b')).fires, 0, 'key a does not match');
  agent.send({
    type: 'probe-batch',
    events: [event('a', 12), event('b', 13)],
    counts: [],
    histograms: [],
    notices: [],
  });
  await shownWhen('cache-b', (v) => v.fires === 1, 'the probe firing');
  await server.investigations.idle();
  const f = (await show('cache-b')).firings?.[0];
  assert.equal(f?.goroutine, 13);
  // Without an interval, each matching event of a batch fires it, up to its limit.
  const every = await add(alice, {
    name: 'cache-every-b',
    triggers: [{ probe: { name: 'cache_get', where: "key = 'b'" } }],
    snapshot: 'none',
    limits: { minInterval: '0s', maxFires: 2 },
  });
  assert.equal(every.status, 201, every.text);
  agent.send({
    type: 'probe-batch',
    events: [event('b', 21), event('a', 22), event('b', 23), event('b', 24)],
    counts: [],
    histograms: [],
    notices: [],
  });
  await shownWhen('cache-every-b', (v) => v.fires === 2, 'two probe firings');
  await server.investigations.idle();
  assert.deepEqual(
    (await show('cache-every-b')).firings?.map((x) => x.goroutine),
    [23, 21],
    'the first two matching events, newest first; the third is past the limit',
  );
  // A new deployment whose binary no longer has the probe's function: show says so.
  agent.send({
    type: 'probe-status',
    specVersion: 1,
    backend: 'bpf',
    binaries: [
      { probe: 'cache_get', executable: '/usr/bin/orders', buildId: 'old', attached: [`${HOST}:${PID}`] },
      {
        probe: 'cache_get',
        executable: '/usr/bin/orders',
        buildId: 'new',
        attached: [],
        error: 'no function main.get in this binary',
      },
    ],
  });
  await shownWhen('cache-b', (v) => (v.unresolved ?? []).length > 0, 'the status');
  assert.deepEqual((await show('cache-b')).unresolved, [
    {
      probe: 'cache_get',
      agentId: 'inv-a',
      executable: '/usr/bin/orders',
      buildId: 'new',
      error: 'no function main.get in this binary',
    },
  ]);
  assert.match(
    (await cli('investigation', 'show', 'cache-b')).stdout,
    /probe cache_get no longer resolves on \/usr\/bin\/orders \(agent inv-a\): no function main\.get in this binary/,
  );
  assert.equal(f?.process, `${HOST}:${PID}`);
  assert.ok(f?.snapshotId, f?.error);
});

test('the webhook is called with the firing; a failing one is recorded and the server goes on', async () => {
  for (const [name, url] of [
    ['hooked', `${hookUrl}/ok`],
    ['hook-500', `${hookUrl}/fail`],
    ['hook-down', `http://127.0.0.1:${await closedPort()}/`],
  ] as const) {
    const r = await add(alice, {
      name,
      triggers: [{ slow: {} }],
      snapshot: 'none',
      webhook: { url, timeout: '2s', retries: 1 },
    });
    assert.equal(r.status, 201, r.text);
  }
  slow('req-hook', 5);
  await server.investigations.idle();
  const ok = (await show('hooked')).firings?.[0];
  assert.equal(ok?.webhook, '204');
  const body = hookBodies.find((b) => b.investigation === 'hooked');
  assert.equal(body?.firingId, ok?.id);
  assert.equal(body?.requestId, 'req-hook');
  assert.equal(body?.trigger, 'slow');
  assert.equal((await show('hook-500')).firings?.[0]?.webhook, 'failed after 2 tries: HTTP 500');
  assert.match((await show('hook-down')).firings?.[0]?.webhook ?? '', /^failed after 2 tries: ECONNREFUSED/);
  assert.equal((await api(server.url, alice, 'GET', '/v1/health')).status, 200);
});

test('closing: only the owner or an admin; closed ones leave the list and stop firing', async () => {
  const r = await api(server.url, bob, 'POST', '/v1/investigations/hooked/close');
  assert.equal(r.status, 403);
  assert.match(message(r.body), /belongs to alice; only its owner or an admin closes it/);
  const c = await api<InvestigationView>(server.url, alice, 'POST', '/v1/investigations/hooked/close');
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.state, 'closed');
  const before = (await show('hooked')).fires;
  slow('req-after-close');
  await server.investigations.idle();
  assert.equal((await show('hooked')).fires, before);
  const list = await api<{ investigations: InvestigationView[] }>(
    server.url,
    alice,
    'GET',
    '/v1/investigations',
  );
  assert.ok(!list.body.investigations.some((i) => i.name === 'hooked'));
  const all = await api<{ investigations: InvestigationView[] }>(
    server.url,
    alice,
    'GET',
    '/v1/investigations?closed=true',
  );
  assert.ok(all.body.investigations.some((i) => i.name === 'hooked' && i.state === 'closed'));
  const audit = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit?action=investigation.close');
  assert.ok(
    audit.body.entries.some(
      (e) => e.details.name === 'hooked' && e.actor.name === 'alice' && e.outcome === 'ok',
    ),
  );
});

test('investigations survive a restart: still open, counts kept, the schedule resumes', async () => {
  const r = await add(alice, {
    name: 'resumes',
    triggers: [{ schedule: { every: '1s', select: 'program=orders' } }],
    limits: { maxFires: 4 },
  });
  assert.equal(r.status, 201, r.text);
  await eventually(async () => (await show('resumes')).fires >= 2, 10_000, 'two firings');
  const slowBefore = (await show('slow-checkout')).fires;
  await agent.close();
  await server.close();
  server = await testServer(dataDir);
  await connectAgent();
  const s = await show('resumes');
  assert.equal(s.state, 'open');
  assert.ok(s.fires >= 2 && s.fires <= 4, String(s.fires));
  assert.equal((await show('slow-checkout')).fires, slowBefore, 'counts kept');
  assert.equal((await show('hooked')).state, 'closed');
  await eventually(async () => (await show('resumes')).fires === 4, 10_000, 'the schedule to resume');
  // The interval of slow-checkout (1h) holds across the restart too.
  slow('req-after-restart');
  await server.investigations.idle();
  assert.equal((await show('slow-checkout')).fires, slowBefore);
  const audit = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit?action=investigation.fire');
  assert.ok(audit.body.entries.some((e) => e.details.investigation === 'resumes'));
});

test('the CLI adds from a YAML file and flags, lists, shows, closes, and refuses bad input with exit code 2', async () => {
  const file = join(dataDir, 'mutex.yaml');
  writeFileSync(
    file,
    `name: cli-mutex
question: do requests pile up on a mutex?
triggers:
  - schedule: { every: 1h, select: program=orders }
  - sql: SELECT count(*) > 100 FROM goroutines WHERE wait_reason = 'sync.Mutex.Lock'
report:
  - name: waiters
    sql: SELECT top_function, count(*) AS n FROM goroutines GROUP BY 1
`,
  );
  const added = await cli(
    'investigation',
    'add',
    '--file',
    file,
    '--max-fires',
    '3',
    '--notes',
    'from the CLI',
  );
  assert.equal(added.code, 0, added.stderr);
  assert.match(
    added.stdout,
    /^investigation \d+ cli-mutex added: schedule every=1h select=program=orders; sql SELECT count/,
  );
  const s = await show('cli-mutex');
  assert.equal(s.notes, 'from the CLI');
  assert.deepEqual(s.definition.limits, { maxFires: 3 });
  const list = await cli('investigation', 'list');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /cli-mutex +alice +open +0\/3 /);
  const shown = await cli('investigation', 'show', 'cli-mutex');
  assert.match(shown.stdout, /question: do requests pile up on a mutex\?/);
  const flags = await cli(
    'investigation',
    'add',
    'cli-probe',
    '--slow-over',
    '2s',
    '--trace',
    'checkout',
    '--report',
    'n=SELECT count(*) FROM goroutines',
    '--json',
  );
  assert.equal(flags.code, 0, flags.stderr);
  assert.deepEqual((JSON.parse(flags.stdout) as InvestigationView).definition.triggers, [
    { slow: { over: '2s', trace: 'checkout' } },
  ]);
  const bad = await cli(
    'investigation',
    'add',
    'cli-bad',
    '--every',
    '1m',
    '--when',
    'SELECT nope FROM goroutines',
  );
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /sql trigger does not prepare over the tables a query sees now: .*nope/);
  const badShape = await cli('investigation', 'add', 'cli-bad', '--keep', '3');
  assert.equal(badShape.code, 2);
  assert.match(badShape.stderr, /--select, --keep and --keep-for go with --every/);
  const closed = await cli('investigation', 'close', 'cli-mutex');
  assert.equal(closed.code, 0, closed.stderr);
  assert.match(closed.stdout, /^investigation \d+ cli-mutex closed after 0 firings/);
});

test('roles: an agent token may not use investigations; a token limited to programs neither, and sees no rows of them', async () => {
  const asAgent = await api(server.url, agentToken, 'GET', '/v1/investigations');
  assert.equal(asAgent.status, 403);
  const limited = (
    await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', {
      role: 'user',
      name: 'team-orders',
      programs: ['program=orders'],
    })
  ).body.token;
  const r = await add(limited, { name: 'mine', triggers: [{ slow: {} }] });
  assert.equal(r.status, 403);
  assert.match(
    message(r.body),
    /investigations act on the whole fleet; this token may use only program=orders/,
  );
  assert.equal((await api(server.url, limited, 'GET', '/v1/investigations')).status, 403);
  const rows = await api<QueryResponse>(server.url, limited, 'POST', '/v1/query', {
    sql: 'SELECT (SELECT count(*) FROM investigations), (SELECT count(*) FROM investigation_firings), (SELECT count(*) FROM investigation_reports)',
    all: true,
  });
  assert.equal(rows.status, 200, rows.text);
  assert.deepEqual(rows.body.rows, [[0, 0, 0]]);
  assert.ok(Number((await sql('SELECT count(*) FROM investigation_firings')).rows[0]?.[0]) > 0);
});

test('a trigger whose trace the spec no longer has: the spec set that drops it warns, and show says so', async () => {
  const withRefunds = `${ORDERS}${TRACES}  - name: refunds
    program: orders
    function: main.refund
    error: r0
    keep: error
`;
  const put = await api(server.url, admin, 'PUT', '/v1/spec?force=true', { yaml: withRefunds });
  assert.equal(put.status, 200, put.text);
  const body = { triggers: [{ error: { trace: 'refunds' } }], snapshot: 'none' };
  assert.equal((await add(alice, { name: 'refund-errors', ...body })).status, 201);
  assert.equal((await add(alice, { name: 'refund-closed', ...body })).status, 201);
  assert.equal((await api(server.url, alice, 'POST', '/v1/investigations/refund-closed/close')).status, 200);
  assert.equal((await show('refund-errors')).missingTraces, undefined);

  // Dropping the trace is stored (a warning, not a refusal) and names the open investigation only.
  const file = join(dataDir, 'no-refunds.yaml');
  writeFileSync(file, ORDERS + TRACES);
  const set = await cli('spec', 'set', file, '--force');
  assert.equal(set.code, 0, set.stderr);
  const version = Number(/spec version (\d+) stored/.exec(set.stdout)?.[1]);
  assert.match(
    set.stderr,
    new RegExp(
      `trace refunds is not in spec version ${version}, and open investigation refund-errors \\(error trigger\\) depends on it`,
    ),
  );
  assert.doesNotMatch(set.stderr, /refund-closed|checkout/);

  const text = `trace refunds is not in the current spec (version ${version})`;
  assert.deepEqual((await show('refund-errors')).missingTraces, [
    { trigger: 'error', trace: 'refunds', specVersion: version, text },
  ]);
  assert.equal((await show('errors')).missingTraces, undefined, 'its trace checkout is still there');
  const shown = await cli('investigation', 'show', 'refund-errors');
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(shown.stdout.includes(`error trigger: ${text}`), shown.stdout);
  assert.equal((await api(server.url, alice, 'POST', '/v1/investigations/refund-errors/close')).status, 200);
});

test('a probe trigger whose probe the spec no longer has: the spec set that drops it warns, and show says so', async () => {
  const withProbe = `${ORDERS}${TRACES}probes:
  - name: get_calls
    program: orders
    function: main.get
`;
  const put = await api(server.url, admin, 'PUT', '/v1/spec?force=true', { yaml: withProbe });
  assert.equal(put.status, 200, put.text);
  const body = { triggers: [{ probe: 'get_calls' }], snapshot: 'none' };
  assert.equal((await add(alice, { name: 'get-watch', ...body })).status, 201);
  assert.equal((await add(alice, { name: 'get-closed', ...body })).status, 201);
  assert.equal((await api(server.url, alice, 'POST', '/v1/investigations/get-closed/close')).status, 200);
  assert.equal((await show('get-watch')).missingProbes, undefined);

  // Dropping the probe is stored (a warning, not a refusal) and names the open investigation only.
  const file = join(dataDir, 'no-get-calls.yaml');
  writeFileSync(file, ORDERS + TRACES);
  const set = await cli('spec', 'set', file, '--force');
  assert.equal(set.code, 0, set.stderr);
  const version = Number(/spec version (\d+) stored/.exec(set.stdout)?.[1]);
  assert.match(
    set.stderr,
    new RegExp(
      `probe get_calls is not in spec version ${version}, and open investigation get-watch \\(probe trigger\\) depends on it`,
    ),
  );
  assert.doesNotMatch(set.stderr, /get-closed/);

  const text = `probe get_calls is not in the current spec (version ${version})`;
  assert.deepEqual((await show('get-watch')).missingProbes, [
    { probe: 'get_calls', specVersion: version, text },
  ]);
  const shown = await cli('investigation', 'show', 'get-watch');
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(shown.stdout.includes(`probe trigger: ${text}`), shown.stdout);
  assert.equal((await api(server.url, alice, 'POST', '/v1/investigations/get-watch/close')).status, 200);
});
