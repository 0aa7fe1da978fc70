/**
 * Token expiry and rotation on a running server: an expired token is refused with when it
 * expired; `token rotate` gives a new token that works at once while the old one stops (now,
 * or after its grace period); an agent connected with a token rotated away is disconnected and
 * comes back with the new token from its --token-file, without a restart of either.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Agent } from '../../src/agent/agent.js';
import type { AuditResponse, CreatedToken, RotatedToken } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import { TokenStore } from '../../src/store/tokens.js';
import { ROOT } from '../../support/go-fixtures.js';
import { api, eventually, tempDataDir, testServer } from './server-support.js';

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

before(async () => {
  dataDir = tempDataDir();
  server = await testServer(dataDir, { pingIntervalMs: 100 });
  admin = server.firstTokens?.admin ?? '';
});

after(() => server.close());

test('a token with --expires works until then and is refused after, saying when it expired', async () => {
  const soon = new Date(Date.now() + 1500).toISOString();
  const r = await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    name: 'short',
    expiresAt: soon,
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.expiresAt, soon);
  assert.equal((await api(server.url, r.body.token, 'GET', '/v1/agents')).status, 200);
  await new Promise((res) => setTimeout(res, 1600));
  const late = await api<{ error: { message: string } }>(server.url, r.body.token, 'GET', '/v1/agents');
  assert.equal(late.status, 401);
  assert.match(late.body.error.message, new RegExp(`token ${r.body.id} \\(short\\) expired at ${soon}`));
  const past = await api(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    expiresAt: '2001-01-01T00:00:00Z',
  });
  assert.equal(past.status, 400);
  // The CLI takes a duration and lists the expiry.
  const made = await cli(
    'token',
    'create',
    '--role',
    'user',
    '--name',
    'month',
    '--expires',
    '30d',
    '--server',
    server.url,
    '--token',
    admin,
    '--json',
  );
  assert.equal(made.code, 0, made.stderr);
  const month = JSON.parse(made.stdout) as CreatedToken;
  const days = (Date.parse(month.expiresAt ?? '') - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, String(days));
  const listed = await cli('token', 'list', '--server', server.url, '--token', admin);
  assert.match(listed.stdout, new RegExp(`${r.body.id}\\s+user\\s+expired ${soon}`));
  assert.match(
    listed.stdout,
    new RegExp(`${month.id}\\s+user\\s+active\\s+\\S+\\s+${month.expiresAt}\\s+month`),
  );
  const bad = await cli('token', 'create', '--role', 'user', '--expires', 'soon', '--data', dataDir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--expires takes a duration like 90s/);
});

test('rotate: the new token works at once, the old one stops now or after its grace', async () => {
  const first = (
    await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', { role: 'user', name: 'ci' })
  ).body;
  const rotated = await api<RotatedToken>(server.url, admin, 'POST', `/v1/tokens/${first.id}/rotate`, {});
  assert.equal(rotated.status, 201, rotated.text);
  assert.deepEqual([rotated.body.name, rotated.body.role], ['ci', 'user']);
  assert.equal(rotated.body.replaced.rotatedTo, rotated.body.id);
  assert.equal((await api(server.url, rotated.body.token, 'GET', '/v1/agents')).status, 200);
  const old = await api<{ error: { message: string } }>(server.url, first.token, 'GET', '/v1/agents');
  assert.equal(old.status, 401);
  assert.match(old.body.error.message, new RegExp(`was rotated \\(replaced by ${rotated.body.id}\\)`));
  // With a grace period both work until it ends. 6 s: the CLI's exit and the two requests come
  // after the rotation took effect, which on a busy machine can take a second or two.
  const graced = await cli(
    'token',
    'rotate',
    rotated.body.id,
    '--grace',
    '6s',
    '--server',
    server.url,
    '--token',
    admin,
    '--json',
  );
  assert.equal(graced.code, 0, graced.stderr);
  const third = JSON.parse(graced.stdout) as RotatedToken;
  assert.equal((await api(server.url, rotated.body.token, 'GET', '/v1/agents')).status, 200);
  assert.equal((await api(server.url, third.token, 'GET', '/v1/agents')).status, 200);
  await eventually(
    async () => (await api(server.url, rotated.body.token, 'GET', '/v1/agents')).status === 401,
    20_000,
    'grace over',
  );
  assert.equal((await api(server.url, third.token, 'GET', '/v1/agents')).status, 200);
  const again = await api(server.url, admin, 'POST', `/v1/tokens/${first.id}/rotate`, {});
  assert.equal(again.status, 400, 'a revoked token cannot be rotated');
  const audit = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit?action=token.rotate');
  assert.deepEqual(
    audit.body.entries.map((e) => [e.details.id, e.details.newId]),
    [
      [first.id, rotated.body.id],
      [rotated.body.id, third.id],
    ],
  );
});

test('an agent whose token is rotated away is disconnected, and reconnects with the new one from its token file', async () => {
  const store = new TokenStore(dataDir);
  const made = store.create('agent', 'rack-7');
  const file = join(dataDir, 'agent-token');
  writeFileSync(file, `${made.token}\n`);
  const logs: string[] = [];
  const agent = new Agent({
    server: server.url,
    token: made.token,
    tokenFile: file,
    hostname: 'rot-node',
    agentId: 'rot-agent',
    envAllow: [],
    localMatch: { exe_name: '^no-such-program-here$' },
    minBackoffMs: 100,
    maxBackoffMs: 300,
    log: (line) => logs.push(line),
  });
  agent.start();
  try {
    await eventually(() => agent.connected, 10_000, 'connected');
    const rotated = store.rotate(made.info.id);
    await eventually(
      () => logs.some((l) => /disconnected from .*4006.*rotated/.test(l)),
      5000,
      'disconnected',
    );
    writeFileSync(file, `${rotated.token}\n`);
    await eventually(
      () => agent.connected && logs.filter((l) => /^connected to /.test(l)).length >= 2,
      10_000,
      `reconnected: ${JSON.stringify(logs.slice(-4))}`,
    );
  } finally {
    agent.stop();
  }
});
