/**
 * The audit log: each kind of action is recorded with who, from where and what (snapshot,
 * query text and row count, spec change, token created and revoked, refused requests, reading
 * the log); admins list, filter and export it; a user can neither read it (API, SQL) nor change
 * it; an edited line breaks the hash chain, which the listing reports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { AuditResponse, CreatedToken, SnapshotTaken } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import { AUDIT_FILE } from '../../src/store/audit-log.js';
import type { AuditEntry } from '../../src/store/audit-types.js';
import { ROOT } from '../../support/go-fixtures.js';
import {
  api,
  describeProcess,
  FakeAgent,
  type RealSnapshot,
  realSnapshot,
  tempDataDir,
  testServer,
} from './server-support.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      timeout: 30_000,
      env: { ...process.env, PERISCOPE_TOKEN: '', PERISCOPE_SERVER: '', PERISCOPE_DATA: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

let server: RunningServer;
let dataDir: string;
let admin: string;
let user: CreatedToken;
let real: RealSnapshot;
let agent: FakeAgent;

async function entries(query = ''): Promise<AuditEntry[]> {
  const r = await api<AuditResponse>(server.url, admin, 'GET', `/v1/audit${query}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.integrity.ok, true, JSON.stringify(r.body.integrity));
  return [...r.body.entries];
}

before(async () => {
  real = await realSnapshot();
  dataDir = tempDataDir();
  server = await testServer(dataDir);
  admin = server.firstTokens?.admin ?? '';
  const created = await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    name: 'alice',
  });
  assert.equal(created.status, 201);
  user = created.body;
  agent = new FakeAgent(
    'audit-a',
    'audit-host',
    [describeProcess('audit-host', 4242, ['orders'])],
    () => real.snapshot,
  );
  await agent.connect(server.url, server.firstTokens?.agent ?? '');
});

after(async () => {
  agent.close();
  await server.close();
  await real.target.kill();
});

test('the first tokens and a token created over the API are recorded with actor and source', async () => {
  const made = (await entries('?action=token.create')).map((e) => [
    e.actor.name,
    e.source,
    e.details.name,
    e.details.role,
  ]);
  assert.deepEqual(made, [
    ['server', 'local', 'first-admin', 'admin'],
    ['server', 'local', 'first-agent', 'agent'],
    ['first-admin', made[2]?.[1], 'alice', 'user'],
  ]);
  assert.match(String(made[2]?.[1]), /^(::ffff:)?127\.0\.0\.1$/);
});

test('a snapshot is recorded: who, which snapshot, of what (selector and processes)', async () => {
  const r = await api<SnapshotTaken>(server.url, user.token, 'POST', '/v1/snapshots', { program: 'orders' });
  assert.equal(r.status, 201, r.text);
  const [e] = await entries('?action=snapshot');
  assert.ok(e);
  assert.equal(e.actor.name, 'alice');
  assert.equal(e.actor.tokenId, user.id);
  assert.equal(e.outcome, 'ok');
  assert.equal(e.details.snapshotId, r.body.snapshotId);
  assert.equal(e.details.selector, 'program=orders');
  assert.deepEqual(
    (e.details.processes as { hostname: string; pid: number; ok: boolean }[]).map((p) => [
      p.hostname,
      p.pid,
      p.ok,
    ]),
    [['audit-host', 4242, true]],
  );
});

test('queries are recorded with their text and row count, failed ones with the error', async () => {
  const sql = 'select goroutine_id from goroutines order by goroutine_id limit 3';
  const ok = await api<{ rows: unknown[] }>(server.url, user.token, 'POST', '/v1/query', { sql });
  assert.equal(ok.status, 200, ok.text);
  const bad = await api(server.url, user.token, 'POST', '/v1/query', { sql: 'select nope from goroutines' });
  assert.equal(bad.status, 400);
  const qs = await entries('?action=query&actor=alice');
  assert.equal(qs.length, 2);
  assert.deepEqual(
    [qs[0]?.details.sql, qs[0]?.details.rowCount, qs[0]?.outcome],
    [{ text: sql }, ok.body.rows.length, 'ok'],
  );
  assert.equal(ok.body.rows.length, 3);
  assert.equal(qs[1]?.outcome, 'error');
  assert.match(String(qs[1]?.details.error), /nope/);
});

test('a spec change is recorded with its version and the hash of its text', async () => {
  const yaml = 'functions:\n  - function: main.park\n    table: parked\n    capture:\n      count: count\n';
  const r = await api<{ version: number }>(server.url, user.token, 'PUT', '/v1/spec?force=true', { yaml });
  assert.equal(r.status, 200, r.text);
  const [e] = await entries('?action=spec.set');
  assert.equal(e?.actor.name, 'alice');
  assert.equal(e?.details.version, r.body.version);
  assert.match(String(e?.details.sha256), /^[0-9a-f]{64}$/);
});

test('a user can neither read nor change the log; trying is recorded', async () => {
  for (const path of ['/v1/audit', '/v1/audit/export']) {
    const r = await api(server.url, user.token, 'GET', path);
    assert.equal(r.status, 403, path);
  }
  for (const method of ['PUT', 'POST', 'DELETE']) {
    const r = await api(server.url, user.token, method, '/v1/audit', method === 'DELETE' ? undefined : {});
    assert.equal(r.status, 405, method);
  }
  // nor through SQL: the server's DuckDB has no file access
  const viaSql = await api<{ error: { message: string } }>(server.url, user.token, 'POST', '/v1/query', {
    sql: `select * from read_text('${join(dataDir, AUDIT_FILE)}')`,
  });
  assert.equal(viaSql.status, 400, viaSql.text);
  const denied = await entries('?action=denied');
  assert.deepEqual(
    denied.map((e) => [e.actor.name, e.details.path]),
    [
      ['alice', '/v1/audit'],
      ['alice', '/v1/audit/export'],
    ],
  );
});

test('a revoked token is recorded; admins filter, export, and reading is itself recorded', async () => {
  const r = await api(server.url, admin, 'DELETE', `/v1/tokens/${user.id}`);
  assert.equal(r.status, 200);
  const [e] = await entries(`?action=token.revoke`);
  assert.deepEqual([e?.actor.name, e?.details.id], ['first-admin', user.id]);
  const since = await entries(`?since=${encodeURIComponent(e?.at ?? '')}&limit=2`);
  assert.equal(since.length, 2);
  assert.ok(since.every((x) => x.at >= (e?.at ?? '')));
  const bad = await api(server.url, admin, 'GET', '/v1/audit?action=steal');
  assert.equal(bad.status, 400);
  const exported = await api(server.url, admin, 'GET', '/v1/audit/export');
  assert.equal(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /ndjson/);
  const lines = exported.text.trim().split('\n');
  assert.ok(lines.length >= 10);
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as AuditEntry).seq),
    lines.map((_, i) => i + 1),
  );
  const reads = await entries('?action=audit.read');
  assert.ok(reads.some((x) => x.details.export === true && x.actor.name === 'first-admin'));
});

test('the CLI lists and exports the log, records local token actions, and reports an edited line', async () => {
  const listed = await cli('audit', '--server', server.url, '--token', admin, '--action', 'snapshot');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(
    listed.stdout,
    /alice\s+\S+\s+snapshot\s+ok\s+snapshot \d+ of "program=orders" \(1 processes\)/,
  );
  const local = await cli('token', 'create', '--role', 'user', '--name', 'bob', '--data', dataDir);
  assert.equal(local.code, 0, local.stderr);
  const json = await cli('audit', '--data', dataDir, '--action', 'token.create', '--json');
  assert.equal(json.code, 0, json.stderr);
  const last = (JSON.parse(json.stdout) as AuditResponse).entries.at(-1);
  assert.equal(last?.source, 'local');
  assert.match(last?.actor.name ?? '', /^local:/);
  assert.equal(last?.details.name, 'bob');
  // The server appends after a local writer without breaking the chain.
  await entries();
  // Edit a line as someone covering their tracks would: the chain breaks there.
  const file = join(dataDir, AUDIT_FILE);
  const text = readFileSync(file, 'utf8').split('\n');
  const at = text.findIndex((l) => l.includes('"action":"snapshot"'));
  text[at] = (text[at] ?? '').replace('"name":"alice"', '"name":"mallory"');
  writeFileSync(file, text.join('\n'));
  const r = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit');
  assert.deepEqual(r.body.integrity, {
    ok: false,
    entries: r.body.integrity.entries,
    brokenAtLine: at + 2,
    file: AUDIT_FILE,
  });
  const warned = await cli('audit', '--data', dataDir, '--limit', '1');
  assert.match(warned.stderr, new RegExp(`hash chain breaks at line ${at + 2}`));
});
