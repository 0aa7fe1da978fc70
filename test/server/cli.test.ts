import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { SnapshotTaken } from '../../src/api/responses.js';
import { ApiClient } from '../../src/cli/api-client.js';
import { renderSnapshotTaken } from '../../src/cli/commands/snapshot-fleet.js';
import type { RunningServer } from '../../src/server/server.js';
import { ROOT } from '../../support/go-fixtures.js';
import {
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

async function cli(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      timeout: 30_000,
      env: { ...process.env, PERISCOPE_TOKEN: '', PERISCOPE_SERVER: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let server: RunningServer;
let dataDir: string;
let userToken: string;
let userId: string;
let real: RealSnapshot;
let agent: FakeAgent;

before(async () => {
  dataDir = tempDataDir();
  real = await realSnapshot();
  // the first token comes from the data directory, before any server runs
  const created = await cli(
    {},
    'token',
    'create',
    '--role',
    'user',
    '--name',
    'bob',
    '--data',
    dataDir,
    '--json',
  );
  assert.equal(created.code, 0, created.stderr);
  const parsed = JSON.parse(created.stdout) as { token: string; id: string; role: string };
  assert.equal(parsed.role, 'user');
  userToken = parsed.token;
  userId = parsed.id;
  const agentTok = JSON.parse(
    (await cli({}, 'token', 'create', '--role', 'agent', '--data', dataDir, '--json')).stdout,
  ) as { token: string };
  server = await testServer(dataDir);
  assert.equal(server.firstTokens, undefined, 'tokens existed, so none are made on first start');
  agent = new FakeAgent(
    'cli-agent',
    'cli-host',
    [describeProcess('cli-host', 31, ['orders']), describeProcess('cli-host', 32, ['search'])],
    () => real.snapshot,
  );
  await agent.connect(server.url, agentTok.token);
  const c = new ApiClient({ server: server.url, token: userToken });
  await eventually(async () => (await c.processes()).length === 2);
});

after(async () => {
  await agent.close();
  await server.close();
  await real.target.kill();
});

test('periscope agents and processes against a server, as text and JSON', async () => {
  const env = { PERISCOPE_TOKEN: userToken };
  const agents = await cli(env, 'agents', '--server', server.url, '--json');
  assert.equal(agents.code, 0, agents.stderr);
  const list = JSON.parse(agents.stdout) as { id: string; connected: boolean }[];
  assert.deepEqual(
    list.map((a) => [a.id, a.connected]),
    [['cli-agent', true]],
  );
  const text = await cli(env, 'agents', '--server', server.url);
  assert.match(text.stdout, /^AGENT\s+HOSTNAME/m);
  assert.match(text.stdout, /cli-agent\s+cli-host\s+test\s+connected\s+2/);

  const procs = await cli(
    { PERISCOPE_SERVER: server.url },
    'processes',
    '--select',
    'program=orders',
    '--token',
    userToken,
    '--json',
  );
  assert.equal(procs.code, 0, procs.stderr);
  assert.deepEqual(
    (JSON.parse(procs.stdout) as { pid: number }[]).map((p) => p.pid),
    [31],
  );
  const ptext = await cli(env, 'processes', '--server', server.url, '--labels');
  assert.match(ptext.stdout, /cli-host\s+31\s+orders/);
  assert.match(ptext.stdout, /exe_name=orders/);
});

test('snapshot and query through the client: labels stored and searchable', async () => {
  const env = { PERISCOPE_TOKEN: userToken };
  const snap = await cli(
    env,
    'snapshot',
    '--server',
    server.url,
    '--select',
    'program=orders',
    '--label',
    'incident=42',
    '--label',
    ' test =cli',
    '--json',
  );
  assert.equal(snap.code, 0, snap.stderr);
  const r = JSON.parse(snap.stdout) as SnapshotTaken;
  assert.deepEqual(
    r.processes.map((p) => [p.pid, p.ok]),
    [[31, true]],
  );
  assert.deepEqual(r.labels, { incident: '42', test: 'cli' }, 'label keys are trimmed, values kept');
  assert.match(renderSnapshotTaken(r), new RegExp(`^snapshot ${r.snapshotId}: 1 of 1 processes captured`));
  const c = new ApiClient({ server: server.url, token: userToken });
  assert.deepEqual(
    (await c.snapshots(['incident=42'])).map((s) => s.snapshotId),
    [r.snapshotId],
  );
  const q = await c.query('select count(*) from goroutines', { snapshot: r.snapshotId });
  assert.equal(Number(q.rows[0]?.[0]), real.snapshot.goroutines.length);
  const csv = await c.queryCsv('select 1 as one');
  assert.equal(csv, 'one\r\n1\r\n');
  const noSelect = await cli(env, 'snapshot', '--server', server.url);
  assert.equal(noSelect.code, 2);
  assert.match(noSelect.stderr, /--select/);
  const badLabel = await cli(env, 'snapshot', '--server', server.url, '--all', '--label', 'nolabel');
  assert.equal(badLabel.code, 2);
  assert.match(badLabel.stderr, /--label takes KEY=VALUE, not "nolabel"/);
});

test('clear errors: connection refused, no token, wrong token, agent token', async () => {
  const port = await freePort();
  const refused = await cli({}, 'agents', '--server', `http://127.0.0.1:${port}`, '--token', userToken);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    new RegExp(
      `cannot connect to http://127\\.0\\.0\\.1:${port} \\(connection refused\\); is \`periscope server\` running`,
    ),
  );
  const none = await cli({}, 'agents', '--server', server.url);
  assert.match(none.stderr, /401.*no token/);
  const wrong = await cli({}, 'agents', '--server', server.url, '--token', 'psk_000000000000_xxx');
  assert.match(wrong.stderr, /refused the token \(401\)/);
  const agentTok = (await cli({}, 'token', 'create', '--role', 'agent', '--data', dataDir)).stdout.trim();
  const forbidden = await cli({}, 'processes', '--server', server.url, '--token', agentTok);
  assert.match(forbidden.stderr, /not allowed \(403\): this is an agent token/);
  const badUrl = await cli({}, 'agents', '--server', 'http://[oops', '--token', userToken);
  assert.equal(badUrl.code, 2);
});

test('periscope token list and revoke on the data directory; revoked tokens stop working on the running server', async () => {
  const list = await cli({}, 'token', 'list', '--data', dataDir);
  assert.match(list.stdout, new RegExp(`${userId}\\s+user\\s+active`));
  const extra = (await cli({}, 'token', 'create', '--role', 'user', '--data', dataDir)).stdout.trim();
  const id = /^psk_([0-9a-f]{12})_/.exec(extra)?.[1] ?? '';
  assert.equal((await cli({}, 'agents', '--server', server.url, '--token', extra)).code, 0);
  const revoked = await cli({}, 'token', 'revoke', id, '--data', dataDir);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match((await cli({}, 'agents', '--server', server.url, '--token', extra)).stderr, /401/);
  const unknown = await cli({}, 'token', 'revoke', 'ffffffffffff', '--data', dataDir);
  assert.match(unknown.stderr, /no token with id/);
  const badRole = await cli({}, 'token', 'create', '--role', 'root', '--data', dataDir);
  assert.equal(badRole.code, 2);
});

test('periscope spec set, show and log against a server: the agents are sent the new version', async () => {
  const env = { PERISCOPE_TOKEN: userToken, PERISCOPE_SERVER: server.url };
  const file = join(tempDataDir(), 'spec.yaml');
  writeFileSync(file, 'functions:\n  - function: main.handle\n    capture:\n      n: n\n');
  const set = await cli(env, 'spec', 'set', file);
  assert.equal(set.code, 0, set.stderr);
  const version = Number(/spec version (\d+) stored/.exec(set.stdout)?.[1]);
  assert.ok(version >= 1, set.stdout);
  await eventually(async () => agent.received.some((m) => m.type === 'spec' && m.specVersion === version));
  const again = await cli(env, 'spec', 'set', file);
  assert.match(again.stdout, new RegExp(`spec unchanged: still version ${version}`));
  const show = await cli(env, 'spec', 'show');
  assert.equal(show.stdout, readFileSync(file, 'utf8'));
  const log = await cli(env, 'spec', 'log', '--diff');
  assert.equal(log.code, 0, log.stderr);
  assert.match(
    log.stdout,
    new RegExp(`^version ${version}  \\S+  bob  \\+4 -0`, 'm'),
    'the token names the author',
  );
  assert.match(log.stdout, /^\+ {6}n: n$/m);
  const missing = await cli(env, 'spec', 'show', '--version', '999');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no spec version 999/);
  // --data names a local store: the server is not asked.
  const local = await cli(env, 'spec', 'log', '--data', tempDataDir());
  assert.match(local.stderr, /no store in .* yet/);
});
