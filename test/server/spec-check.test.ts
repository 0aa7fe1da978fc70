/**
 * PUT /v1/spec checks a new spec before it becomes current: derived tables against the stored
 * tables, expressions against the agents' binaries (fake agents here, answering `check-spec`
 * as told; test/fleet/spec-check.test.ts runs real agents on real binaries). Refused with 422
 * and every problem at FILE:LINE:COLUMN of the file the user gave, unless forced; binaries no
 * agent checked are reported as not checked.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SpecCheckReport } from '../../src/api/responses.js';
import type { BinaryCheck, CheckSpecMessage } from '../../src/protocol/messages.js';
import type { RunningServer } from '../../src/server/server.js';
import { api, describeProcess, eventually, FakeAgent, testServer } from './server-support.js';

let server: RunningServer;
let admin: string;
let agentToken: string;

before(async () => {
  server = await testServer();
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
});

after(() => server.close());

type Refusal = { error: { code: string; message: string }; check: SpecCheckReport };
type Stored = { version: number; changed: boolean; warnings: string[]; check: SpecCheckReport };

const MISSPELLED_SQL = `functions:
  - function: main.handle
    table: handled
    capture:
      n: n
derived:
  - name: per_n
    sql: SELECT n, coutn(*) AS c FROM handled GROUP BY n
`;

function fake(id: string, host: string, pid: number, buildId: string): FakeAgent {
  const p = { ...describeProcess(host, pid, ['app']), buildId, executable: '/usr/bin/app' };
  return new FakeAgent(id, host, [p], () => {
    throw new Error('no capture in this test');
  });
}

test('a derived table whose SQL does not build is refused at its line and column of the named file; forced, it is stored', async () => {
  const put = await api<Refusal>(server.url, admin, 'PUT', '/v1/spec', {
    yaml: MISSPELLED_SQL,
    source: 'starter.yaml',
  });
  assert.equal(put.status, 422, put.text);
  assert.equal(put.body.error.code, 'spec-does-not-fit');
  assert.match(
    put.body.error.message,
    /^starter\.yaml was not stored: no binary known to check it against; 1 derived table or link does not build\./,
  );
  assert.match(put.body.error.message, /\n {2}starter\.yaml:7:5: derived table "per_n": .*coutn/);
  assert.doesNotMatch(put.body.error.message, /\bapi:/);
  assert.deepEqual(
    put.body.check.sql.map((p) => [p.line, p.column]),
    [[7, 5]],
  );
  assert.equal((await api(server.url, admin, 'GET', '/v1/spec')).status, 404, 'nothing was stored');

  const forced = await api<Stored>(server.url, admin, 'PUT', '/v1/spec?force=true&source=starter.yaml', {
    yaml: MISSPELLED_SQL,
  });
  assert.equal(forced.status, 200, forced.text);
  assert.equal(forced.body.changed, true);
  assert.match(forced.body.warnings[0]!, /^starter\.yaml:7:5: derived table "per_n"/);
  assert.equal(forced.body.check.fits, false);
});

test('a syntax error names the file the user gave, not "api"', async () => {
  const bad = await api<Refusal>(server.url, admin, 'PUT', '/v1/spec', {
    yaml: 'functions:\n  - function: main.x\n    capture: [1\n',
    source: 'starter.yaml',
  });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^starter\.yaml:\d+:\d+: /);
});

test('each agent checks its binaries: a problem in one refuses the spec; a silent agent and a stored binary are "not checked"', async () => {
  const good = fake('chk-good', 'chk-host-1', 11, 'b-good');
  const bad = fake('chk-bad', 'chk-host-2', 21, 'b-bad');
  const silent = fake('chk-silent', 'chk-host-3', 31, 'b-silent');
  const asked: CheckSpecMessage[] = [];
  const fits = (buildId: string, keys: string[]): BinaryCheck => ({
    buildId,
    executable: '/usr/bin/app',
    goVersion: 'go1.26.0',
    processes: keys,
    problems: [],
    functionsAbsent: [],
  });
  good.specCheck = () => [fits('b-good', ['chk-host-1:11:1000'])];
  bad.specCheck = (spec) => {
    asked.push(bad.received.filter((m): m is CheckSpecMessage => m.type === 'check-spec').at(-1)!);
    return [
      {
        ...fits('b-bad', ['chk-host-2:21:1000']),
        problems: spec.includes('srv.Nmae')
          ? [
              {
                function: 'main.handle',
                table: 'handled',
                column: 'name',
                expr: 'srv.Nmae',
                at: { line: 5, column: 18 },
                message: 'no field Nmae in main.Server; its fields: Name',
              },
            ]
          : [],
      },
    ];
  };
  silent.specCheck = undefined;
  for (const a of [good, bad, silent]) await a.connect(server.url, agentToken);
  await eventually(
    async () =>
      (await api<{ processes: unknown[] }>(server.url, admin, 'GET', '/v1/processes?select=hostname~chk-.*'))
        .body.processes.length === 3,
  );
  const yaml =
    'functions:\n  - function: main.handle\n    table: handled\n    capture:\n      name: srv.Nmae\n';
  const t0 = Date.now();
  const put = await api<Refusal>(server.url, admin, 'PUT', '/v1/spec', { yaml, source: 'app.yaml' });
  assert.equal(put.status, 422, put.text);
  assert.ok(Date.now() - t0 >= 2900, 'the silent agent was waited for (the prepare timeout, 3 s here)');
  assert.equal(asked[0]?.source, 'app.yaml', 'agents get the file name for their positions');
  const lines = put.body.error.message.split('\n');
  assert.match(
    lines[0]!,
    /^app\.yaml was not stored: 1 of 3 binaries does not fit \(1 not checked\)\. Fix it/,
  );
  assert.equal(
    lines[1],
    '  app.yaml:5:18: main.handle: name = srv.Nmae: no field Nmae in main.Server; its fields: Name',
  );
  assert.equal(lines[2], '      in /usr/bin/app (go1.26.0, build b-bad) on chk-host-2');
  assert.match(
    put.body.error.message,
    /not checked \(1\):\n {2}\/usr\/bin\/app .*on chk-host-3: agent chk-silent: no answer to spec check within 3\.\d s and no report of progress .*--prepare-timeout \(now 3000 ms\)/,
  );
  const byBuild = Object.fromEntries(
    put.body.check.binaries.map((b) => [b.buildId, [b.status, b.checkedBy]]),
  );
  assert.deepEqual(byBuild, {
    'b-good': ['fits', 'chk-good'],
    'b-bad': ['does-not-fit', 'chk-bad'],
    'b-silent': ['not-checked', undefined],
  });

  // Fixed: it fits everywhere that was checked, and is stored.
  const fixed = yaml.replace('srv.Nmae', 'srv.Name');
  const ok = await api<Stored>(server.url, admin, 'PUT', '/v1/spec', { yaml: fixed, source: 'app.yaml' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.check.fits, true);
  for (const a of [good, bad, silent]) await a.close();
});

test('POST /v1/spec/check answers what PUT would find and stores nothing', async () => {
  const before = await api<{ version: number }>(server.url, admin, 'GET', '/v1/spec');
  const checked = await api<{ check: SpecCheckReport; message?: string }>(
    server.url,
    admin,
    'POST',
    '/v1/spec/check',
    { yaml: MISSPELLED_SQL, source: 'web' },
  );
  assert.equal(checked.status, 200, checked.text);
  assert.equal(checked.body.check.fits, false);
  assert.match(checked.body.message ?? '', /\n {2}web:7:5: derived table "per_n": .*coutn/);
  const fine = await api<{ check: SpecCheckReport; message?: string }>(
    server.url,
    admin,
    'POST',
    '/v1/spec/check',
    {
      yaml: 'derived:\n  - name: one\n    sql: SELECT 1 AS x\n',
    },
  );
  assert.equal(fine.status, 200, fine.text);
  assert.equal(fine.body.message, undefined, fine.text);
  const after = await api<{ version: number }>(server.url, admin, 'GET', '/v1/spec');
  assert.deepEqual(
    [after.status, after.body.version],
    [before.status, before.body.version],
    'nothing was stored',
  );
});

test('POST /v1/spec/check refuses a non-admin spec that turns redaction off, as PUT does', async () => {
  const created = await api<{ token: string }>(server.url, admin, 'POST', '/v1/tokens', {
    role: 'user',
    name: 'spec-check-user',
  });
  const user = created.body.token;
  const yaml = 'redaction:\n  off: ["*"]\n';
  const asUser = await api(server.url, user, 'POST', '/v1/spec/check', { yaml });
  assert.equal(asUser.status, 403, asUser.text);
  assert.match(asUser.text, /only an admin token may turn redaction off/);
  const asAdmin = await api(server.url, admin, 'POST', '/v1/spec/check', { yaml });
  assert.equal(asAdmin.status, 200, asAdmin.text);
});
