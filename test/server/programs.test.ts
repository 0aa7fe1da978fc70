/**
 * Permissions by program: two teams with tokens limited to their programs, over a real server
 * and a store holding real snapshots (linkpair, with function tables, a derived table and a
 * link) of two programs. No path — snapshot list and detail, processes, every table a query
 * can name (enumerated from the admin's session, so a new table is covered without editing
 * this test), `--all`, links, raw-table escapes — shows a row of the other team's processes;
 * the admin sees both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type {
  CreatedToken,
  QueryResponse,
  SnapshotDetail,
  SnapshotsResponse,
} from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { effectiveSpecOfText } from '../../src/spec/effective-spec.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import { buildFixture, ROOT } from '../../support/go-fixtures.js';
import { startTarget } from '../../support/target.js';
import { psql } from './pg-support.js';
import { api, describeProcess, eventually, FakeAgent, tempDataDir, testServer } from './server-support.js';

const SPEC = `programs:
  - name: orders
    match: { exe_name: "^orders$" }
  - name: billing
    match: { exe_name: "^billing$" }
functions:
  - function: main.call
    table: client_calls
    capture: { local: local, remote: remote, id: id }
  - function: main.handle
    table: server_handlers
    capture: { local: local, remote: remote, id: id }
derived:
  - name: per_process
    sql: SELECT process_id, count(*) AS calls FROM client_calls GROUP BY process_id
  - name: sneaky
    sql: SELECT * FROM raw.goroutines
links:
  - name: tcp
    from: { table: client_calls, columns: [local, remote] }
    to: { table: server_handlers, columns: [remote, local] }
`;

/** Team A owns program orders on host-a, team B program billing on host-b. */
const TEAMS = [
  { name: 'team-a', program: 'orders', host: 'host-a' },
  { name: 'team-b', program: 'billing', host: 'host-b' },
] as const;

let server: RunningServer;
let snap: ProcessSnapshot;
let admin = '';
const tokens = new Map<string, CreatedToken>();
const agents: FakeAgent[] = [];

before(async () => {
  const { path } = await buildFixture('linkpair');
  const target = await startTarget(path);
  try {
    snap = snapshotProcess(target.pid, { spec: effectiveSpecOfText(SPEC, 'spec.yaml'), noPause: true });
  } finally {
    await target.kill();
  }
  const dataDir = tempDataDir();
  const store = await DuckDBStore.open(dataDir);
  await store.setSpec(SPEC, 'test', 'spec.yaml', { force: true });
  const both = TEAMS.map((t) => ({ hostname: t.host, program: t.program, snapshot: snap }));
  await store.addSnapshot({ processes: both, specText: SPEC }); // 1: both teams
  await store.addSnapshot({ processes: both, specText: SPEC }); // 2: both teams
  await store.addSnapshot({ processes: [both[1]!], specText: SPEC }); // 3: team B only
  // Probe events of each team's process (probes belong to no snapshot).
  await store.addProbeBatch({
    agentId: 'agent-1',
    events: TEAMS.map((t, i) => ({
      probe: 'p',
      process: `${t.host}:${snap.pid}`,
      timeUs: 1_000_000 + i,
      goroutine: 1,
      thread: 1,
      site: { kind: 'entry', function: 'main.call' },
      values: { who: t.host },
    })),
    counts: TEAMS.map((t) => ({
      probe: 'p',
      process: `${t.host}:${snap.pid}`,
      startUs: 1_000_000,
      endUs: 2_000_000,
      hits: 1,
      matched: 1,
      events: 1,
      rejected: 0,
      conditionErrors: 0,
      rateLimited: 0,
      ringFull: 0,
      agentDropped: 0,
      durations: 1,
      durationSumNs: 5,
      costNs: 1,
      cpuNs: 1,
    })),
    histograms: TEAMS.map((t) => ({
      probe: 'p',
      process: `${t.host}:${snap.pid}`,
      startUs: 1_000_000,
      endUs: 2_000_000,
      buckets: [[1024, 1]] as const,
    })),
    notices: TEAMS.map((t) => ({
      probe: 'p',
      process: `${t.host}:${snap.pid}`,
      timeUs: 1_000_000,
      kind: 'attached',
      message: `on ${t.host}`,
    })),
  });
  store.close();
  server = await testServer(dataDir, { pg: { port: 0 } });
  admin = server.firstTokens?.admin ?? '';
  for (const t of TEAMS) {
    const r = await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', {
      role: 'user',
      name: t.name,
      programs: [`program=${t.program}`],
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.programs, [`program=${t.program}`]);
    tokens.set(t.name, r.body);
  }
  // Live processes: one agent per team's host (the stored process id is host:pid).
  for (const t of TEAMS) {
    const a = new FakeAgent(
      `agent-${t.host}`,
      `live-${t.host}`,
      [describeProcess(`live-${t.host}`, 100, [t.program])],
      () => snap,
    );
    await a.connect(server.url, server.firstTokens?.agent ?? '');
    agents.push(a);
  }
});

after(async () => {
  for (const a of agents) await a.close();
  await server?.close();
});

const token = (team: string) => tokens.get(team)?.token ?? '';
const other = (team: (typeof TEAMS)[number]) => TEAMS.find((t) => t !== team)!;

async function query(tok: string, sql: string, scope: Record<string, unknown> = { all: true }) {
  return api<QueryResponse>(server.url, tok, 'POST', '/v1/query', { sql, ...scope });
}

test('program limits are checked when a token is made: only user tokens, stored keys, not everything', async () => {
  for (const [body, why] of [
    [{ role: 'admin', programs: ['program=orders'] }, /only user tokens/],
    [{ role: 'user', programs: ['env.TEAM=a'] }, /not stored with snapshots/],
    [{ role: 'user', programs: ['all'] }, /matches every process/],
    [{ role: 'user', programs: [] }, /give 1 to/],
    [{ role: 'user', programs: 'program=orders' }, /list of selectors/],
  ] as const) {
    const r = await api(server.url, admin, 'POST', '/v1/tokens', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, why);
  }
  const r = await api(server.url, token('team-a'), 'POST', '/v1/tokens', { role: 'user' });
  assert.equal(r.status, 403, 'a user token cannot make tokens');
});

test('the snapshot list and detail show a team only snapshots and processes of its programs', async () => {
  const all = await api<SnapshotsResponse>(server.url, admin, 'GET', '/v1/snapshots');
  assert.deepEqual(
    all.body.snapshots.map((s) => [s.snapshotId, s.processes]),
    [
      [3, 1],
      [2, 2],
      [1, 2],
    ],
  );
  for (const team of TEAMS) {
    const list = await api<SnapshotsResponse>(server.url, token(team.name), 'GET', '/v1/snapshots');
    assert.equal(list.status, 200);
    const want = team.program === 'billing' ? [3, 2, 1] : [2, 1];
    assert.deepEqual(
      list.body.snapshots.map((s) => s.snapshotId),
      want,
    );
    assert.ok(list.body.snapshots.every((s) => s.processes === 1 && s.goroutines === snap.goroutines.length));
    for (const id of [1, 2, 3]) {
      const d = await api<SnapshotDetail>(server.url, token(team.name), 'GET', `/v1/snapshots/${id}`);
      if (!want.includes(id)) {
        assert.equal(d.status, 404, `snapshot ${id} of the other team only is not found for ${team.name}`);
        continue;
      }
      assert.equal(d.status, 200, d.text);
      assert.deepEqual(
        d.body.processes.map((p) => p.hostname),
        [team.host],
      );
    }
  }
});

test('live processes and snapshot requests are narrowed to the team programs; another team selector is 403', async () => {
  await eventually(
    async () =>
      (await api<{ processes: unknown[] }>(server.url, admin, 'GET', '/v1/processes')).body.processes
        .length === 2,
    5000,
    'both agents',
  );
  for (const team of TEAMS) {
    const live = await api<{ processes: { hostname: string }[] }>(
      server.url,
      token(team.name),
      'GET',
      '/v1/processes',
    );
    assert.deepEqual(
      live.body.processes.map((p) => p.hostname),
      [`live-${team.host}`],
    );
    const agentsSeen = await api<{ agents: { id: string; processes: number }[] }>(
      server.url,
      token(team.name),
      'GET',
      '/v1/agents',
    );
    assert.deepEqual(
      agentsSeen.body.agents.map((a) => [a.id, a.processes]),
      [[`agent-${team.host}`, 1]],
    );
    const denied = await api(server.url, token(team.name), 'POST', '/v1/snapshots', {
      select: `program=${other(team).program}`,
    });
    assert.equal(denied.status, 403, denied.text);
    const taken = await api<{ snapshotId: number; processes: { hostname: string }[] }>(
      server.url,
      token(team.name),
      'POST',
      '/v1/snapshots',
      { all: true },
    );
    assert.equal(taken.status, 201, taken.text);
    assert.deepEqual(
      taken.body.processes.map((p) => p.hostname),
      [`live-${team.host}`],
      'a snapshot of everything takes only the team processes',
    );
  }
});

/** Every table a query can name, from the admin's session (built-in, function, derived, links, probes). */
async function everyTable(): Promise<string[]> {
  const r = await query(
    admin,
    "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'temp' ORDER BY 1",
  );
  assert.equal(r.status, 200, r.text);
  return r.body.rows.map((row) => String(row[0]));
}

test('every table, in every scope, shows a team only rows of its own processes', async () => {
  const tables = await everyTable();
  for (const must of [
    'processes',
    'goroutines',
    'frames',
    'captured',
    'client_calls',
    'server_handlers',
    'per_process',
    'sneaky',
    'links',
    'probe_events',
  ])
    assert.ok(tables.includes(must), `${must} is among the enumerated tables (${tables.join(', ')})`);
  let compared = 0;
  for (const table of tables) {
    for (const scope of [{ all: true }, {}, { snapshot: 1 }] as Record<string, unknown>[]) {
      const sql = `SELECT * FROM "${table}"`;
      const seen = await query(admin, sql, scope);
      assert.equal(seen.status, 200, `${table}: ${seen.text}`);
      const adminText = JSON.stringify(seen.body.rows);
      const adminShowsBoth = TEAMS.every((t) => adminText.includes(`${t.host}:`));
      for (const team of TEAMS) {
        const r = await query(token(team.name), sql, scope);
        if (table === 'sneaky') {
          assert.equal(r.status, 400, `${table} is not built for a limited token: ${r.text}`);
          continue;
        }
        assert.equal(r.status, 200, `${table} for ${team.name}: ${r.text}`);
        const text = JSON.stringify(r.body.rows);
        assert.ok(
          !text.includes(`${other(team).host}:`),
          `${table} ${JSON.stringify(scope)} leaks ${other(team).host} to ${team.name}`,
        );
        if (adminShowsBoth) {
          assert.ok(text.includes(`${team.host}:`), `${table} shows ${team.name} its own rows`);
          compared++;
        }
      }
    }
  }
  assert.ok(compared >= 30, `tables with rows of both teams were compared (${compared})`);
});

test('counts in the snapshots table and links between teams are hidden', async () => {
  for (const team of TEAMS) {
    const s = await query(
      token(team.name),
      'SELECT snapshot_id, process_count, goroutine_count FROM snapshots ORDER BY 1',
    );
    assert.ok(s.body.rows.every((row) => row[1] === 1 && row[2] === snap.goroutines.length));
    const links = await query(
      token(team.name),
      'SELECT DISTINCT from_process_id, to_process_id FROM links WHERE snapshot_id <= 3',
    );
    assert.deepEqual(links.body.rows, [[`${team.host}:${snap.pid}`, `${team.host}:${snap.pid}`]]);
  }
  const all = await query(admin, 'SELECT count(DISTINCT from_process_id || to_process_id) FROM links', {
    snapshot: 1,
  });
  assert.equal(all.body.rows[0]?.[0], 4, 'the admin sees links across the two processes too');
  // The links route: a goroutine of the other team shows nothing; an own one only its own side.
  const client = await query(
    admin,
    'SELECT process_id, goroutine_id FROM client_calls WHERE snapshot_id = 1 ORDER BY 1 LIMIT 1',
    {
      snapshot: 1,
    },
  );
  const [proc, gid] = client.body.rows[0] ?? [];
  const path = `/v1/links?snapshot=1&goroutine=${encodeURIComponent(`${proc}:${gid}`)}`;
  const seen = await api<QueryResponse>(server.url, admin, 'GET', path);
  assert.ok(seen.body.rows.length >= 2, 'the admin sees the link to both servers');
  const owner = TEAMS.find((t) => String(proc).startsWith(`${t.host}:`))!;
  const mine = await api<QueryResponse>(server.url, token(owner.name), 'GET', path);
  assert.equal(mine.status, 200, mine.text);
  assert.ok(mine.body.rows.length >= 1 && !JSON.stringify(mine.body.rows).includes(`${other(owner).host}:`));
  const theirs = await api<QueryResponse>(server.url, token(other(owner).name), 'GET', path);
  assert.equal(theirs.body.rows.length, 0);
});

test('a limited token cannot reach the stored tables under the views', async () => {
  const escapes = [
    'SELECT * FROM raw.goroutines',
    'SELECT * FROM "raw"."processes"',
    'SELECT (SELECT count(*) FROM raw.frames)',
    'WITH goroutines AS (SELECT 1) SELECT * FROM raw.goroutines',
    "SELECT * FROM query_table('raw.goroutines')",
    "SELECT * FROM query('SELECT * FROM raw.goroutines')",
    'SUMMARIZE raw.goroutines',
    'DESCRIBE raw.goroutines',
    'EXPLAIN ANALYZE SELECT * FROM raw.goroutines',
    'PIVOT raw.processes ON program',
    'SELECT * FROM duckdb_tables()',
    'SELECT * FROM temp.main.goroutines g, raw.captured c',
    "SELECT * FROM read_text('tokens.json')",
    "SELECT * FROM 'raw.goroutines'",
    'SELECT * FROM "raw.goroutines"',
    'SELECT * FROM main.goroutines',
    'SELECT * FROM goroutines AS raw, raw.frames',
  ];
  /** Refused by DuckDB itself (a name that is no table, a statement it splits in two): 400, still no rows. */
  const duckdbRefuses = new Set([
    'PIVOT raw.processes ON program',
    "SELECT * FROM 'raw.goroutines'",
    'SELECT * FROM "raw.goroutines"',
  ]);
  const found = await query(admin, 'SELECT count(*) FROM raw.goroutines');
  assert.equal(found.status, 200, 'the admin may (the stored tables are there)');
  for (const sql of escapes) {
    const r = await query(token('team-a'), sql);
    // 403 from the check; PIVOT … ON is two statements to DuckDB and refused before it (400).
    assert.equal(r.status, duckdbRefuses.has(sql) ? 400 : 403, `${sql}: ${r.text.slice(0, 300)}`);
    assert.doesNotMatch(r.text, /host-b/);
  }
  const ok = await query(token('team-a'), 'SELECT count(*) FROM temp.goroutines g JOIN range(2) r ON true');
  assert.equal(ok.status, 200, ok.text);
  const denied = await api<{
    entries: { actor: { name: string }; details: { path?: string; message?: string } }[];
  }>(server.url, admin, 'GET', '/v1/audit?action=denied&actor=team-a');
  assert.ok(
    denied.body.entries.some(
      (e) => e.details.path === '/v1/query' && /limited to some programs/.test(e.details.message ?? ''),
    ),
    'each refusal is in the audit log as denied',
  );
});

test('an admin changes a token programs on the running server, and lifts the limit', async () => {
  const id = tokens.get('team-a')?.id ?? '';
  const set = await api(server.url, admin, 'PUT', `/v1/tokens/${id}/programs`, {
    programs: ['program=billing'],
  });
  assert.equal(set.status, 200, set.text);
  const now = await query(token('team-a'), 'SELECT DISTINCT hostname FROM processes ORDER BY 1');
  assert.deepEqual(now.body.rows, [['host-b'], ['live-host-b']]);
  const lift = await api(server.url, admin, 'PUT', `/v1/tokens/${id}/programs`, { programs: null });
  assert.equal(lift.status, 200, lift.text);
  const all = await query(token('team-a'), 'SELECT DISTINCT hostname FROM processes ORDER BY 1');
  assert.deepEqual(all.body.rows, [['host-a'], ['host-b'], ['live-host-a'], ['live-host-b']]);
  const back = await api(server.url, admin, 'PUT', `/v1/tokens/${id}/programs`, {
    programs: ['program=orders'],
  });
  assert.equal(back.status, 200);
  const denied = await api(server.url, token('team-b'), 'PUT', `/v1/tokens/${id}/programs`, {
    programs: null,
  });
  assert.equal(denied.status, 403);
});

test('probes and events: a team adds probes only on its programs, sees only its probes and its processes events', async () => {
  for (const team of TEAMS) {
    const ev = await api<{ events: { process: string }[]; next: number }>(
      server.url,
      token(team.name),
      'GET',
      '/v1/events?after=0',
    );
    assert.equal(ev.status, 200, ev.text);
    assert.deepEqual(
      ev.body.events.map((e) => e.process),
      [`${team.host}:${snap.pid}`],
    );
    assert.equal(ev.body.next, 2, 'the cursor passes the other team events');
  }
  const seen = await api<{ events: unknown[] }>(server.url, admin, 'GET', '/v1/events?after=0');
  assert.equal(seen.body.events.length, 2);
  const probe = (program?: string) => ({
    probe: { name: 'calls_a', ...(program ? { program } : {}), function: 'main.call', ttl: '5m' },
    force: true,
  });
  for (const body of [probe('billing'), probe(undefined)]) {
    const r = await api(server.url, token('team-a'), 'POST', '/v1/probes', body);
    assert.equal(r.status, 403, r.text);
  }
  const added = await api(server.url, token('team-a'), 'POST', '/v1/probes', probe('orders'));
  assert.equal(added.status, 200, added.text);
  const names = async (tok: string) =>
    (await api<{ probes: { name: string }[] }>(server.url, tok, 'GET', '/v1/probes')).body.probes.map(
      (p) => p.name,
    );
  assert.deepEqual(await names(admin), ['calls_a']);
  assert.deepEqual(await names(token('team-a')), ['calls_a']);
  assert.deepEqual(await names(token('team-b')), []);
  const rm = await api(server.url, token('team-b'), 'DELETE', '/v1/probes/calls_a');
  assert.equal(rm.status, 403, rm.text);
  const spec = await api(server.url, token('team-a'), 'PUT', '/v1/spec', { yaml: SPEC });
  assert.equal(spec.status, 403, 'the spec applies to every program: a limited token does not set it');
});

const run = promisify(execFile);

/** Runs the CLI against the test server with a token. */
async function cli(tok: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin', 'periscope.js'), ...args], {
      timeout: 60_000,
      env: { ...process.env, PERISCOPE_TOKEN: tok, PERISCOPE_SERVER: server.url },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

test('the CLI: token create --programs, query --all and links as a limited token, token programs to change it', async () => {
  const made = await cli(
    admin,
    'token',
    'create',
    '--role',
    'user',
    '--name',
    'team-c',
    '--programs',
    'billing',
    '--json',
  );
  assert.equal(made.code, 0, made.stderr);
  const c = JSON.parse(made.stdout) as CreatedToken;
  assert.deepEqual(c.programs, ['program=billing']);
  const q = await cli(
    c.token,
    'query',
    '--all',
    '--format',
    'json',
    'SELECT DISTINCT hostname FROM goroutines JOIN processes USING (snapshot_id, process_id) ORDER BY 1',
  );
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(JSON.parse(q.stdout), [{ hostname: 'host-b' }, { hostname: 'live-host-b' }]);
  const raw = await cli(c.token, 'query', '--all', 'SELECT count(*) FROM raw.processes');
  assert.notEqual(raw.code, 0);
  assert.match(raw.stderr, /limited to some programs/);
  const list = await cli(admin, 'token', 'list');
  assert.match(list.stdout, new RegExp(`${c.id}\\s+user\\s+active.*team-c\\s+program=billing`));
  const lift = await cli(admin, 'token', 'programs', c.id, '--programs', 'all');
  assert.equal(lift.code, 0, lift.stderr);
  assert.match(lift.stdout, /sees every program/);
  const q2 = await cli(
    c.token,
    'query',
    '--all',
    '--format',
    'json',
    'SELECT count(DISTINCT hostname) AS n FROM processes',
  );
  assert.deepEqual(JSON.parse(q2.stdout), [{ n: 4 }]);
  const bad = await cli(admin, 'token', 'programs', c.id, '--programs', 'env.TEAM=x');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not stored with snapshots/);
});

test('a rotated token keeps its programs', async () => {
  const made = await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    name: 'team-d',
    programs: ['program=orders'],
  });
  const rotated = await api<CreatedToken>(server.url, admin, 'POST', `/v1/tokens/${made.body.id}/rotate`, {});
  assert.equal(rotated.status, 201, rotated.text);
  assert.deepEqual(rotated.body.programs, ['program=orders']);
  const q = await query(rotated.body.token, 'SELECT DISTINCT hostname FROM processes ORDER BY 1');
  assert.deepEqual(q.body.rows, [['host-a'], ['live-host-a']]);
});

test('the PostgreSQL port: a limited token reads only its rows, \\dt works, the stored tables are refused', async () => {
  const conn = `host=127.0.0.1 port=${server.pgPort} dbname=all user=team sslmode=disable`;
  const rows = await psql(
    conn,
    token('team-a'),
    '-At',
    '-c',
    'SELECT DISTINCT hostname FROM frames JOIN processes USING (snapshot_id, process_id) ORDER BY 1',
  );
  assert.equal(rows.code, 0, rows.stderr);
  assert.deepEqual(rows.stdout.trim().split('\n'), ['host-a', 'live-host-a']);
  const adminRows = await psql(conn, admin, '-At', '-c', 'SELECT count(DISTINCT hostname) FROM processes');
  assert.equal(adminRows.stdout.trim(), '4');
  const dt = await psql(conn, token('team-a'), '-c', '\\dt');
  assert.equal(dt.code, 0, dt.stderr);
  assert.match(dt.stdout, /client_calls/);
  const raw = await psql(conn, token('team-a'), '-At', '-c', 'SELECT count(*) FROM raw.processes');
  assert.notEqual(raw.code, 0);
  assert.match(raw.stderr, /limited to some programs/);
});

test('probe events of processes never snapshotted: a limited token sees exactly its own on the API, in SQL and on the pg port', async () => {
  // An agent whose processes were never snapshotted sends probe events of one process per team.
  const agent = new FakeAgent(
    'agent-host-e',
    'live-host-e',
    [describeProcess('live-host-e', 200, ['orders']), describeProcess('live-host-e', 201, ['billing'])],
    () => snap,
  );
  await agent.connect(server.url, server.firstTokens?.agent ?? '');
  agents.push(agent);
  const event = (pid: number) => ({
    probe: 'p',
    process: `live-host-e:${pid}`,
    timeUs: 3_000_000 + pid,
    goroutine: 1,
    thread: 1,
    site: { kind: 'entry', function: 'main.call' },
    values: { who: pid },
  });
  agent.send({
    type: 'probe-batch',
    events: [event(200), event(201)],
    counts: [],
    histograms: [],
    notices: [],
  });
  const all = async (tok: string) =>
    (
      await api<{ events: { process: string }[] }>(server.url, tok, 'GET', '/v1/events?after=0&limit=1000')
    ).body.events
      .map((e) => e.process)
      .filter((p) => p.startsWith('live-host-e:'))
      .sort();
  await eventually(async () => (await all(admin)).length === 2, 10_000, 'the events stored');
  const conn = `host=127.0.0.1 port=${server.pgPort} dbname=all user=team sslmode=disable`;
  const sql = "SELECT DISTINCT process_id FROM probe_events WHERE process_id LIKE 'live-host-e:%' ORDER BY 1";
  for (const [team, pid] of [
    ['team-a', 200],
    ['team-b', 201],
  ] as const) {
    const mine = [`live-host-e:${pid}`];
    assert.deepEqual(await all(token(team)), mine, `${team}: GET /v1/events`);
    const q = await query(token(team), sql);
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(
      q.body.rows.map((r) => r[0]),
      mine,
      `${team}: POST /v1/query`,
    );
    const pg = await psql(conn, token(team), '-At', '-c', sql);
    assert.equal(pg.code, 0, pg.stderr);
    assert.deepEqual(pg.stdout.trim().split('\n'), mine, `${team}: the pg port`);
  }
  // Once the agent is gone the rule holds still: it is the stored facts that decide.
  await agent.close();
  assert.deepEqual(await all(token('team-a')), ['live-host-e:200']);
});
