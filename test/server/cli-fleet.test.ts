/**
 * The CLI as a child process against a real server with a fake agent of three processes: where
 * commands work ($PERISCOPE_SERVER, --data), the exit codes of a fleet snapshot, its summary, and
 * the note when the latest snapshot holds only part of the fleet.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { PARTIAL_SNAPSHOT_HEADER, type QueryResponse, type SnapshotTaken } from '../../src/api/responses.js';
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

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');
const HOST = 'fleet-host';

let server: RunningServer;
let admin: string;
let real: RealSnapshot;
let agent: FakeAgent;
/** A data directory that must never be created: the default local store of these runs. */
let unborn: string;

async function cli(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      timeout: 30_000,
      env: { ...process.env, PERISCOPE_TOKEN: '', PERISCOPE_SERVER: '', PERISCOPE_DATA: unborn, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

const key = (pid: number) => `${HOST}:${pid}:1000`;

before(async () => {
  unborn = join(tempDataDir(), 'not-created');
  real = await realSnapshot();
  server = await testServer();
  admin = server.firstTokens?.admin ?? '';
  agent = new FakeAgent(
    'fleet-agent',
    HOST,
    [
      describeProcess(HOST, 41, ['orders']),
      describeProcess(HOST, 42, ['search']),
      describeProcess(HOST, 43, []), // no program rule: /usr/bin/app
    ],
    () => real.snapshot,
  );
  await agent.connect(server.url, server.firstTokens?.agent ?? '');
  await eventually(async () => server.context.registry.processes({ text: '', terms: [] }).length === 3);
});

after(async () => {
  await agent.close();
  await server.close();
  await real.target.kill();
});

test('$PERISCOPE_SERVER is where snapshot and token work; --data names the local store; nothing creates a data directory to read it', async () => {
  const env = { PERISCOPE_SERVER: server.url, PERISCOPE_TOKEN: admin };
  const snap = await cli(env, 'snapshot', '--select', 'program=orders', '--json');
  assert.equal(snap.code, 0, snap.stderr);
  assert.deepEqual(
    (JSON.parse(snap.stdout) as SnapshotTaken).processes.map((p) => p.pid),
    [41],
  );
  const tokens = await cli(env, 'token', 'list', '--json');
  assert.equal(tokens.code, 0, tokens.stderr);
  assert.deepEqual(
    (JSON.parse(tokens.stdout) as { name: string }[]).map((t) => t.name).sort(),
    ['first-admin', 'first-agent'],
    'the server’s tokens',
  );
  const pid = await cli(env, 'snapshot', '--pid', '4242');
  assert.equal(pid.code, 2);
  assert.match(
    pid.stderr,
    /--pid snapshots a process of this machine .* \$PERISCOPE_SERVER names a server: give --data DIR/,
  );
  // --data wins over $PERISCOPE_SERVER; reading an absent store creates nothing.
  const local = await cli(env, 'token', 'list', '--data', unborn);
  assert.equal(local.code, 0, local.stderr);
  assert.match(local.stdout, /^no tokens yet/);
  for (const args of [
    ['token', 'list'],
    ['query', 'SELECT 1'],
    ['spec', 'log'],
    ['links', '--goroutine', 'h:1:1'],
    ['export', '--snapshot', '1', '--out', join(tempDataDir(), 'x.duckdb')],
  ]) {
    const r = await cli({}, ...args);
    if (args[0] !== 'token') assert.match(r.stderr, /no store in .*not-created yet/, args.join(' '));
    assert.equal(existsSync(unborn), false, `${args.join(' ')} created ${unborn}`);
  }
});

test('a fleet snapshot exits 0 when every process was captured, 3 when some, 4 when none; the summary names every program', async () => {
  const env = { PERISCOPE_SERVER: server.url, PERISCOPE_TOKEN: admin };
  agent.behaviour.set(key(42), { error: { kind: 'PERMISSION', message: 'not permitted' } });
  try {
    const some = await cli(env, 'snapshot', '--all');
    assert.equal(some.code, 3, some.stderr);
    assert.match(some.stdout, /: 2 of 3 processes captured/);
    assert.match(some.stdout, /fleet-host:42 +search +PERMISSION: not permitted/);
    // 43 matches no program rule: the summary shows the name its processes row has.
    const id = /^snapshot (\d+):/.exec(some.stdout)?.[1] ?? '';
    const row = await cli(
      env,
      'query',
      '--snapshot',
      id,
      '--format',
      'json',
      'SELECT program FROM processes WHERE pid = 43',
    );
    const program = (JSON.parse(row.stdout) as { program: string }[])[0]?.program ?? '';
    assert.notEqual(program, '');
    assert.match(some.stdout, new RegExp(`fleet-host:43 +${program} +\\d+ goroutines`));
    const none = await cli(env, 'snapshot', '--select', 'program=search', '--json');
    assert.equal(none.code, 4, none.stderr);
    assert.equal((JSON.parse(none.stdout) as SnapshotTaken).processes[0]?.ok, false);
  } finally {
    agent.behaviour.delete(key(42));
  }
  const all = await cli(env, 'snapshot', '--all');
  assert.equal(all.code, 0, all.stderr);
});

test('when the latest snapshot holds part of the fleet, the answer says which snapshot and how much (stderr, JSON metadata, CSV header), never in the data', async () => {
  const env = { PERISCOPE_SERVER: server.url, PERISCOPE_TOKEN: admin };
  const taken = await cli(env, 'snapshot', '--select', 'program=orders', '--json');
  const id = (JSON.parse(taken.stdout) as SnapshotTaken).snapshotId;
  const note = new RegExp(
    `^periscope: note: answered from snapshot ${id}, the latest \\(taken for "program=orders"\\): it holds 1 process of the 3 processes the fleet monitors; --snapshot ID picks another snapshot$`,
    'm',
  );
  const sql = 'SELECT count(*) AS n FROM processes';
  const t = await cli(env, 'query', sql);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, note);
  assert.doesNotMatch(t.stdout, /note|snapshot/);
  const csv = await cli(env, 'query', '--format', 'csv', sql);
  assert.equal(csv.stdout, 'n\r\n1\r\n');
  assert.match(csv.stderr, note);
  const json = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', { sql });
  assert.deepEqual(json.body.partial, {
    snapshotId: id,
    processes: 1,
    fleetProcesses: 3,
    selector: 'program=orders',
  });
  const raw = await fetch(`${server.url}/v1/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql, format: 'csv' }),
  });
  assert.equal(raw.headers.get(PARTIAL_SNAPSHOT_HEADER), `snapshot=${id}; processes=1; fleet=3`);
  assert.equal(await raw.text(), 'n\r\n1\r\n');
  const links = await api<QueryResponse>(
    server.url,
    admin,
    'GET',
    `/v1/links?goroutine=${encodeURIComponent(`${HOST}:41:1`)}`,
  );
  assert.equal(links.body.partial?.snapshotId, id);
  // Asking for a snapshot by id, or the latest when it covers the fleet: no note.
  const byId = await cli(env, 'query', '--snapshot', String(id), sql);
  assert.equal(byId.stderr, '');
  const full = await cli(env, 'snapshot', '--all');
  assert.equal(full.code, 0, full.stderr);
  const after = await cli(env, 'query', sql);
  assert.equal(after.stderr, '');
  assert.match(after.stdout, /^\s*3$/m);
});

test('CSV from the CLI and from the API is the same RFC 4180 text', async () => {
  const env = { PERISCOPE_SERVER: server.url, PERISCOPE_TOKEN: admin };
  const sql = `SELECT 'a,b' AS x, 'say "hi"' AS y, 'two' || chr(10) || 'lines' AS z, NULL AS n`;
  const viaCli = await cli(env, 'query', '--format', 'csv', sql);
  assert.equal(viaCli.code, 0, viaCli.stderr);
  const viaApi = await api(server.url, admin, 'POST', '/v1/query', { sql, format: 'csv' });
  assert.equal(viaCli.stdout, viaApi.text);
  assert.equal(viaCli.stdout, 'x,y,z,n\r\n"a,b","say ""hi""","two\nlines",\r\n');
});
