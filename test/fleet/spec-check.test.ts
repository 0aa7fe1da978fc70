/**
 * The spec with the real binaries: `periscope server`, one `periscope agent` (host-s) and the
 * CLI. A spec is checked before it becomes current against every binary the server knows:
 * the agent checks those of its processes, and those of stored snapshots it still has (the
 * file where the process ran from); a binary that only a stored snapshot of another host
 * holds is reported as not checked. A mistyped expression is refused by `spec set --server`
 * at FILE:LINE:COLUMN with a non-zero exit; forced, the next fleet snapshot keeps the process
 * and records the entry that failed in `capture_errors`. And the built-in links (one process
 * of httpchain -role loop holds both ends of an http_call link) reach every surface: the
 * CLI's local snapshot, the store's views, the agent's capture through the server.
 */
import assert from 'node:assert/strict';
import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FunctionResponse, SpecCheckReport } from '../../src/api/responses.js';
import {
  agentIdOf,
  cli,
  cliJson,
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
import { startTarget, type Target } from '../../support/target.js';

type Row = Record<string, unknown>;

// Names none of the built-in tables: the built-in links must come anyway.
const USER_SPEC = `functions:
  - function: main.handleC
    table: stuck_handlers
    capture:
      w: w
`;

// Line 5: \`name\` is mistyped; column 13 of the file is the N of Nmae.
const MISTYPED = `functions:
  - function: main.park
    table: parked
    capture:
      name: srv.Nmae
      n: n
`;

const tag = fleetTag();
let dataDir = '';
let localDir = '';
let server: ServerProc | undefined;
let agent: Proc | undefined;
let userToken = '';
const targets: Target[] = [];
let loop: Target;
let exprs: Target;
let exprsPath = '';
let otherPath = '';

const env = () => ({ PERISCOPE_TOKEN: userToken });

function file(name: string, text: string): string {
  const path = join(dataDir, '..', `${tag}-${name}`);
  writeFileSync(path, text);
  return path;
}

async function queryLocal(dir: string, sql: string): Promise<Row[]> {
  return cliJson<Row[]>(['query', '--data', dir, '--format', 'json', sql]);
}

async function query(sql: string): Promise<Row[]> {
  return cliJson<Row[]>(['query', '--server', server!.url, '--format', 'json', sql], env());
}

async function putSpec(yaml: string, source: string): Promise<{ status: number; body: Row }> {
  const res = await fetch(`${server!.url}/v1/spec`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ yaml, source }),
  });
  return { status: res.status, body: (await res.json()) as Row };
}

before(async () => {
  dataDir = tempDir('periscope-fleet-spec-');
  localDir = tempDir('periscope-local-spec-');
  const [http, ex, other] = await Promise.all([
    buildFixture('httpchain'),
    buildFixture('exprs'),
    buildFixture('goroutines'),
  ]);
  // As /proc/PID/exe names them (the fixture cache may be reached through a symlink).
  exprsPath = realpathSync(ex.path);
  otherPath = realpathSync(other.path);
  // A snapshot taken by the CLI on this machine, stored before the server starts: its binary
  // is known to the server only from the store (no agent runs under this hostname).
  const lone = await startTarget(other.path);
  try {
    const r = await cli(['snapshot', '--pid', String(lone.pid), '--data', dataDir, '--no-default-spec']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await lone.kill();
  }
  userToken = await createToken(dataDir, 'user', 'spec-user');
  const agentToken = await createToken(dataDir, 'agent', 'spec-agents');
  server = await startServerProc(dataDir);
  agent = startAgentProc(server.url, agentToken, 'host-s', tag);
  loop = await startTagged(http.path, ['-role', 'loop'], tag, 'host-s');
  targets.push(loop);
  await loop.waitFor(/^handling \/b/);
  exprs = await startTagged(ex.path, [], tag, 'host-s');
  targets.push(exprs);
  await waitForFleet(server.url, userToken, { 'host-s': [loop.pid, exprs.pid] });
});

after(async () => {
  await agent?.stop();
  for (const t of targets.reverse()) await t.kill();
  await server?.proc.stop();
  for (const d of [dataDir, localDir]) if (d) rmSync(d, { recursive: true, force: true });
});

test('the built-in links reach every surface: the local snapshot and its store, and the fleet through the agent', async () => {
  const spec = file('user.yaml', USER_SPEC);
  const local = await cli(['snapshot', '--pid', String(loop.pid), '--spec', spec, '--data', localDir]);
  assert.equal(local.code, 0, local.stderr);
  const sql = 'SELECT link, from_table, to_table, from_process_id = to_process_id AS same FROM links';
  const want = [
    { link: 'http_call', from_table: 'http_client_calls', to_table: 'http_server_conns', same: true },
  ];
  assert.deepEqual(await queryLocal(localDir, sql), want, 'CLI snapshot, store views');

  const set = await cli(['spec', 'set', spec, '--server', server!.url], env());
  assert.equal(set.code, 0, set.stderr);
  const snap = await cliJson<FleetSnapshot>(['snapshot', '--server', server!.url, '--all', '--json'], env());
  assert.ok(
    snap.processes.every((p) => p.ok),
    JSON.stringify(snap.processes),
  );
  assert.deepEqual(
    await query(`${sql} WHERE from_process_id LIKE 'host-s:${loop.pid}'`),
    want,
    'agent, server',
  );
});

test('a mistyped expression: refused by spec set --server at FILE:LINE:COLUMN; forced, the process stays in the next snapshot with what failed', async () => {
  const before = await cli(['spec', 'show', '--server', server!.url], env());
  const spec = file('app.yaml', MISTYPED);
  const refused = await cli(['spec', 'set', spec, '--server', server!.url], env());
  assert.notEqual(refused.code, 0, 'refused: a non-zero exit');
  const lines = refused.stderr.split('\n');
  assert.match(
    lines[0]!,
    new RegExp(`^periscope: ${spec} was not stored: 1 of 3 binaries does not fit \\(1 not checked\\)`),
  );
  assert.equal(
    lines[1],
    `  ${spec}:5:17: main.park: name = srv.Nmae: no field Nmae in main.Server; its fields: Addr, Base, Enabled, ID, Name, Tags, Weight`,
  );
  assert.match(lines[2]!, new RegExp(`^ {6}in ${exprsPath} \\(go\\S+, build \\S+\\) on host-s$`));
  assert.match(
    refused.stderr,
    new RegExp(
      `not checked \\(1\\):\\n {2}${otherPath} .*on ${hostname()}: only in stored snapshots; no connected agent on ${hostname()} has it any more`,
    ),
  );
  assert.equal(
    (await cli(['spec', 'show', '--server', server!.url], env())).stdout,
    before.stdout,
    'nothing stored',
  );

  const forced = await cli(['spec', 'set', spec, '--server', server!.url, '--force'], env());
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /spec version \d+ stored/);
  assert.match(forced.stderr, new RegExp(`warning: does not fit ${exprsPath} \\(go\\S+\\) on host-s`));
  assert.match(
    forced.stderr,
    new RegExp(`warning:   ${spec}:5:17: main\\.park: name = srv\\.Nmae: no field Nmae`),
  );

  const snap = await cliJson<FleetSnapshot>(['snapshot', '--server', server!.url, '--all', '--json'], env());
  const byPid = new Map(snap.processes.map((p) => [p.pid, p]));
  assert.equal(byPid.get(exprs.pid)?.ok, true, 'the process is not dropped');
  assert.equal(byPid.get(exprs.pid)?.captureErrors, 1);
  assert.equal(byPid.get(loop.pid)?.ok, true);
  const errors = await query(
    'SELECT process_id, function, "column", expr, spec_line, spec_column, error FROM capture_errors',
  );
  assert.deepEqual(
    errors.map(({ error: _e, ...r }) => r),
    [
      {
        process_id: `host-s:${exprs.pid}`,
        function: 'main.park',
        column: 'name',
        expr: 'srv.Nmae',
        spec_line: 5,
        spec_column: 17,
      },
    ],
  );
  assert.deepEqual(
    await query('SELECT name, n FROM parked'),
    [{ name: null, n: 4 }],
    'the rest was captured',
  );
  const text = await cli(['snapshot', '--server', server!.url, '--all'], env());
  assert.match(text.stdout, /1 spec entries not captured \(SELECT \* FROM capture_errors\)/);
});

test("a stored snapshot's binary whose process is gone is checked by the agent that still has it", async () => {
  await exprs.kill();
  await waitForFleet(server!.url, userToken, { 'host-s': [loop.pid] });
  const r = await putSpec(MISTYPED.replace('n: n', 'count: cuont'), 'app2.yaml');
  assert.equal(r.status, 422, JSON.stringify(r.body));
  const check = r.body.check as SpecCheckReport;
  const ex = check.binaries.find((b) => b.executable === exprsPath);
  assert.equal(ex?.status, 'does-not-fit');
  assert.equal(ex?.checkedBy, agentIdOf('host-s'));
  assert.equal(ex?.processes, 0, 'no process runs it now');
  assert.deepEqual(
    ex?.problems.map((p) => p.text.split(': ').slice(0, 3).join(': ')),
    ['app2.yaml:5:17: main.park: name = srv.Nmae', 'app2.yaml:6:14: main.park: count = cuont'],
  );
  const lone = check.binaries.find((b) => b.executable === otherPath);
  assert.equal(lone?.status, 'not-checked');
  assert.equal(check.binaries.find((b) => b.processes > 0)?.status, 'fits', 'httpchain fits');
});

test('a function in none of the checked binaries refuses the spec, with the nearest names the agents found', async () => {
  const r = await putSpec('functions:\n  - function: main.handleCc\n    capture: { w: w }\n', 'typo.yaml');
  assert.equal(r.status, 422, JSON.stringify(r.body));
  const check = r.body.check as SpecCheckReport;
  assert.equal(check.fits, false);
  assert.deepEqual(
    check.functionsMissing.map((m) => ({ ...m, nearest: m.nearest[0] })),
    [
      {
        function: 'main.handleCc',
        at: { line: 2, column: 5 },
        nearest: 'main.handleC',
        text: `typo.yaml:2:5: main.handleCc is in none of the ${check.binaries.filter((b) => b.status !== 'not-checked').length} binaries checked; nearest: ${check.functionsMissing[0]!.nearest.join(', ')}`,
      },
    ],
  );
  assert.ok(
    check.binaries.every((b) => b.status !== 'does-not-fit'),
    'a binary without the function is no problem by itself',
  );
  assert.match(
    String((r.body.error as { message?: string } | undefined)?.message),
    /typo\.yaml:2:5: main\.handleCc is in none of the/,
  );
  // A function one binary has is fine, though others lack it (a spec serves many programs).
  const ok = await putSpec('functions:\n  - function: main.handleC\n    capture: { w: w }\n', 'ok.yaml');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test("GET /v1/spec/function: a binary's function, its lines with the variables live at each and their source, read by the agent that has it", async () => {
  const get = async (q: string) => {
    const res = await fetch(`${server!.url}/v1/spec/function?${q}`, {
      headers: { authorization: `Bearer ${userToken}` },
    });
    return { status: res.status, body: (await res.json()) as Row };
  };
  // exprs no longer runs (an earlier test stopped it): its binary is a stored snapshot's,
  // described by the agent on its host from the file it ran from.
  const [row] = await query(`SELECT DISTINCT build_id FROM processes WHERE pid = ${exprs.pid}`);
  const buildId = String(row?.build_id ?? '');
  const got = await get(new URLSearchParams({ buildId, function: 'main.park' }).toString());
  assert.equal(got.status, 200, JSON.stringify(got.body));
  const d = got.body as unknown as FunctionResponse;
  assert.equal(d.function, 'main.park');
  assert.match(d.file, /testdata\/exprs\/main\.go$/);
  const at = (text: string) => {
    const n = Object.entries(d.source ?? {}).find(([, t]) => t.includes(text))?.[0];
    return d.lines.find((l) => l.line === Number(n))?.variables.map((v) => v.name) ?? [];
  };
  assert.match(
    d.source?.[String(d.declLine)] ?? '',
    /^func park\(srv \*Server/,
    'the source, read on the server',
  );
  assert.ok(at('<-block').includes('local'), at('<-block').join(','));
  assert.ok(at('<-block').includes('srv') || d.unavailable.includes('srv'));

  const missing = await get(new URLSearchParams({ buildId, function: 'main.prak' }).toString());
  assert.equal(missing.status, 404);
  assert.match(
    String((missing.body.error as Row).message),
    /no function main\.prak; did you mean main\.park/,
  );
  const unknown = await get(new URLSearchParams({ buildId: 'f00d', function: 'main.park' }).toString());
  assert.equal(unknown.status, 404);
  assert.match(
    String((unknown.body.error as Row).message),
    /no connected agent runs or ran a binary with build ID f00d/,
  );
});
