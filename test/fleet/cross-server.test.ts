/**
 * One fleet across servers for what is not a snapshot (issue 18): three `periscope server`
 * processes on one PostgreSQL and one object directory, with the real binaries; A's agent
 * watches testdata/linkpair, B's testdata/probe-values, C has none. A spec stored through A
 * reaches B's agent without any snapshot asking for it (by the NOTIFY; one written without a
 * notification, by the look every second), and B's part of the next fleet snapshot fills its function table; a probe added
 * through A is attached by B's agent and its events arrive (stored by B); `GET /v1/probes`
 * on C shows where B's agent attached it. A spec whose function only B's agent's binary has
 * passes the check on A, a misspelled one is refused on A with the nearest names B's agent
 * found, and `GET /v1/spec/function` on A is answered by B's agent. B stopped: A's check
 * names it instead of waiting for it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FunctionResponse, SpecCheckReport } from '../../src/api/responses.js';
import {
  agentIdOf,
  cli,
  cliJson,
  type FleetSnapshot,
  fleetTag,
  type Proc,
  type ServerProc,
  sleep,
  startAgentProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import type { Target } from '../../support/target.js';
import { ScaledOutServers } from './scaled-out-servers.js';

type Row = Record<string, unknown>;

const tag = fleetTag();
const fleet = new ScaledOutServers('xs');
let a: ServerProc | undefined;
let b: ServerProc | undefined;
let c: ServerProc | undefined;
let agentA: Proc | undefined;
let agentB: Proc | undefined;
let linkpair: Target | undefined;
let pv: Target | undefined;
const tok = { agent: '', admin: '' };

/** The spec stored through A: the two programs, and a function only B's binary (probe-values) has. */
const spec = (fn: string) => `programs:
  - name: lp
    match: { env.FLEET_AGENT: "^${tag}:host-a$" }
  - name: pv
    match: { env.FLEET_AGENT: "^${tag}:host-b$" }
functions:
  - function: ${fn}
    table: held
    capture:
      n: held[2].N
      who: held[1].User
`;

before(async () => {
  await fleet.start();
  tok.agent = await fleet.token('agent', 'agent');
  tok.admin = await fleet.token('admin', 'admin');
  const servers = await fleet.startServers(['a', 'b', 'c']);
  [a, b, c] = servers;
  const [lp, pvBin] = await Promise.all([buildFixture('linkpair'), buildFixture('probe-values')]);
  linkpair = await startTagged(lp.path, [], tag, 'host-a');
  pv = await startTagged(pvBin.path, [], tag, 'host-b');
  agentA = startAgentProc(servers[0]!.url, tok.agent, 'host-a', tag);
  const runtimeDir = tempDir('periscope-xs-run-');
  agentB = startAgentProc(servers[1]!.url, tok.agent, 'host-b', tag, [
    '--runtime-dir',
    runtimeDir,
    '--probe-crash-wait',
    '2',
  ]);
  for (const s of servers)
    await waitForFleet(s.url, tok.admin, { 'host-a': [linkpair.pid], 'host-b': [pv.pid] });
});

after(async () => {
  await agentA?.stop();
  await agentB?.stop();
  await linkpair?.kill();
  await pv?.kill();
  await fleet.close();
});

async function call(s: ServerProc, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${tok.admin}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Row };
}

function queryOn(s: ServerProc, sql: string): Promise<Row[]> {
  return cliJson<Row[]>(['query', '--server', s.url, '--format', 'json', sql], {
    PERISCOPE_TOKEN: tok.admin,
  });
}

async function command(t: Target, line: string): Promise<string> {
  const since = performance.now();
  t.child.stdin!.write(`${line}\n`);
  return (await t.waitFor(/^done /, 30_000, since)).text;
}

/** Calls `fn` every 250 ms until `ok` holds of its answer or `ms` pass; its last answer. */
async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) {
    await sleep(250);
    v = await fn();
  }
  return v;
}

test('a spec whose function only B’s agent’s binary has passes the check on A; one misspelled is refused on A with the nearest names', async () => {
  const typo = await call(a!, 'PUT', '/v1/spec', { yaml: spec('main.holdd'), source: 'typo.yaml' });
  assert.equal(typo.status, 422, JSON.stringify(typo.body));
  const check = typo.body.check as SpecCheckReport;
  assert.deepEqual(
    check.functionsMissing.map((m) => [m.function, m.nearest.includes('main.hold')]),
    [['main.holdd', true]],
    JSON.stringify(check),
  );
  assert.match(
    String((typo.body.error as Row).message),
    /typo\.yaml:\d+:\d+: main\.holdd is in none of the 2 binaries checked; nearest: .*main\.hold\b/,
  );
  // Both binaries were checked, each by the agent that has it: B's through B.
  const checkedBy = Object.fromEntries(check.binaries.map((x) => [x.hosts.join(','), x.checkedBy]));
  assert.deepEqual(checkedBy, { 'host-a': agentIdOf('host-a'), 'host-b': agentIdOf('host-b') });
});

test('a spec stored through A reaches B’s agent at once, and B’s part of the next snapshot fills its function table', async (t) => {
  await command(pv!, 'hold 3');
  const since = performance.now();
  const put = await call(a!, 'PUT', '/v1/spec', { yaml: spec('main.hold'), source: 'spec.yaml' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const stored = performance.now();
  const version = Number(put.body.version);
  // No snapshot asks for it: B learns of it from PostgreSQL and sends it to its agent.
  const got = await agentB!.waitFor(new RegExp(`spec version ${version}:`), 15_000, since);
  t.diagnostic(`B's agent had spec version ${version} ${Math.round(got.t - stored)} ms after A stored it`);
  const snap = await cliJson<FleetSnapshot>(['snapshot', '--server', a!.url, '--all', '--json'], {
    PERISCOPE_TOKEN: tok.admin,
  });
  assert.equal(snap.processes.filter((p) => p.ok).length, 2, JSON.stringify(snap.processes));
  // One row per goroutine waiting in main.hold, with the values B's agent captured under the new spec.
  const rows = await queryOn(c!, `SELECT n, who FROM held WHERE snapshot_id = ${snap.snapshotId}`);
  assert.deepEqual(
    rows,
    [1, 2, 3].map(() => ({ n: 2, who: 'bob' })),
  );
});

test('a spec version written without a notification (as `store migrate` writes them) reaches B’s agent by the look every second', async (t) => {
  const since = performance.now();
  const version = Number(
    fleet.pg
      .psql(
        `INSERT INTO periscope.spec_versions SELECT version + 1, now(), 'psql', yaml || E'\\n# written by psql\\n', '' FROM periscope.spec_versions ORDER BY version DESC LIMIT 1 RETURNING version`,
      )
      .trim()
      .split('\n')[0],
  );
  assert.ok(version > 1, `inserted version ${version}`);
  const got = await agentB!.waitFor(new RegExp(`spec version ${version}:`), 15_000, since);
  t.diagnostic(
    `B's agent had spec version ${version} ${Math.round(got.t - since)} ms after psql inserted it`,
  );
});

test('a probe added through A is attached by B’s agent, its events arrive on B, and C shows where it is attached', async () => {
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
      'n',
      '--server',
      a!.url,
    ],
    { PERISCOPE_TOKEN: tok.admin },
  );
  assert.equal(add.code, 0, add.stderr);
  await agentB!.waitFor(new RegExp(`attached .*calls.* to process ${pv!.pid}`), 30_000);
  assert.match(await command(pv!, 'handle 20'), /^done handle 20/);
  const events = await until(
    () => queryOn(b!, 'SELECT n FROM calls ORDER BY n'),
    (r) => r.length >= 20,
  );
  assert.deepEqual(
    events,
    Array.from({ length: 20 }, (_, n) => ({ n })),
  );
  const list = await until(
    () => call(c!, 'GET', '/v1/probes'),
    (r) => JSON.stringify(r.body).includes(`host-b:${pv!.pid}`),
  );
  assert.equal(list.status, 200);
  const probes = list.body.probes as { name: string; binaries: { agentId: string; attached: string[] }[] }[];
  assert.deepEqual(
    probes.find((p) => p.name === 'calls')?.binaries.map((x) => [x.agentId, x.attached]),
    [[agentIdOf('host-b'), [`host-b:${pv!.pid}`]]],
    JSON.stringify(list.body),
  );
  const agents = list.body.agents as { agentId: string; backend: string }[];
  assert.ok(
    agents.some((x) => x.agentId === agentIdOf('host-b') && x.backend !== 'none'),
    JSON.stringify(agents),
  );
});

test('GET /v1/spec/function on A describes a function of the binary B’s agent watches', async () => {
  const procs = (await call(a!, 'GET', '/v1/processes')).body.processes as {
    hostname: string;
    buildId?: string;
  }[];
  const buildId = procs.find((p) => p.hostname === 'host-b')?.buildId ?? '';
  assert.match(buildId, /\S/);
  const q = (fn: string) => `/v1/spec/function?${new URLSearchParams({ buildId, function: fn })}`;
  const got = await call(a!, 'GET', q('main.hold'));
  assert.equal(got.status, 200, JSON.stringify(got.body));
  const d = got.body as unknown as FunctionResponse;
  assert.equal(d.function, 'main.hold');
  assert.equal(d.agentId, agentIdOf('host-b'));
  assert.match(d.file, /testdata\/probe-values\/main\.go$/);
  assert.ok(d.lines.length > 0);
  const wrong = await call(a!, 'GET', q('main.hlod'));
  assert.equal(wrong.status, 404, JSON.stringify(wrong.body));
  assert.match(String((wrong.body.error as Row).message), /^server \S+: .*did you mean main\.hold/);
});

test('B stopped: the check on A reports B’s agent’s binary as not checked, naming B, and does not wait for it', async () => {
  b!.proc.signal('SIGSTOP');
  try {
    const t0 = Date.now();
    const r = await call(a!, 'POST', '/v1/spec/check', { yaml: spec('main.hold'), source: 'spec.yaml' });
    const waited = Date.now() - t0;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const report = r.body.check as SpecCheckReport;
    const onB = report.binaries.find((x) => x.hosts.includes('host-b'));
    assert.equal(onB?.status, 'not-checked', JSON.stringify(report));
    assert.match(
      (onB as { reason?: string }).reason ?? '',
      new RegExp(`server \\S+ \\(${b!.url.replace(/[.]/g, '\\.')}\\).*stopped before it answered`),
    );
    // Given up when B's heartbeat went old (5 s), not after the agents' 30 s.
    assert.ok(waited < 25_000, `waited ${waited} ms`);
  } finally {
    b!.proc.signal('SIGCONT');
  }
});
