/**
 * Redaction with the real binaries: testdata/secrets holds a struct with a Password field, a
 * local apiToken and an http.Header with Authorization in a parked goroutine's frame. Taken
 * by the one-shot CLI (`snapshot --pid`) and through `periscope server` + `periscope agent`,
 * the secrets are replaced by the mark before they leave the process that read them: not in
 * the CLI's output, not in any message the agent sent (recorded by a relay, inflated), not in
 * any file of either store, while visible values of the same frame are in each of them (so
 * each search would find a secret that was there). A user's names and types add to the
 * rules; a non-admin's spec that turns redaction off is refused, an admin's is stored, and
 * then the secrets do cross the wire (the search finds them).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
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
import type { Target } from '../../support/target.js';
import { WsRecorder } from './ws-recorder.js';

type Row = Record<string, unknown>;

const SPEC = `functions:
  - function: main.serve
    table: served
    capture:
      acct: acct
      header: header
      token: apiToken
      auth: header["Authorization"]
      auth_len: len(header["Authorization"])
      by_var: header[which]
      key_value: acct.Key.Value
      ctx: main.reqCtx
      note: note
`;

const USER_RULES = `${SPEC}redaction:
  names: [ssn]
  types: [main.Secret]
`;

// Off for one program, which the agent applies to the processes matching its rule.
const OFF = `programs:
  - name: vault
    match: { executable: "/secrets$" }
${SPEC}redaction:
  off: [vault]
`;

const nonce = randomBytes(6).toString('hex');
/** Every secret of the fixture contains this; nothing visible does. */
const SECRET = `SECRET-${nonce}`;
const VISIBLE = `visible-user-${nonce}`;
/** The secrets the default rules redact (SSN and Key only a user's rules do), pprof label included. */
const DEFAULT_SECRETS = [
  `pw-${SECRET}`,
  `tok-${SECRET}`,
  `authz-${SECRET}`,
  `ctx-${SECRET}`,
  `label-tok-${SECRET}`,
];

const tag = fleetTag();
let dataDir = '';
let localDir = '';
let server: ServerProc | undefined;
let agent: Proc | undefined;
let relay: WsRecorder | undefined;
let target: Target | undefined;
let userToken = '';
let adminToken = '';

function file(name: string, text: string): string {
  const path = join(dataDir, '..', `${tag}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** The bytes of every file under `dir`, as latin1 text (to search for ASCII strings). */
function filesText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? filesText(p) : readFileSync(p).toString('latin1');
  }
  return out;
}

function mark(rule: string, type: string): Row {
  return { '…': 'redacted', rule, type };
}

/** A cell as a value: the table's JSON text of an object or array parsed, a string as it is. */
function json(v: unknown): unknown {
  return typeof v === 'string' && /^[[{]/.test(v) ? JSON.parse(v) : v;
}

async function served(args: readonly string[], env: Record<string, string> = {}): Promise<Row> {
  const rows = await cliJson<Row[]>(
    [
      'query',
      ...args,
      '--format',
      'json',
      'SELECT acct, header, token, auth, auth_len, by_var, key_value, ctx, note FROM served ORDER BY snapshot_id DESC LIMIT 1',
    ],
    env,
  );
  assert.equal(rows.length, 1, JSON.stringify(rows));
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, json(v)]));
}

/** The pprof labels of the goroutine in main.serve, in the latest snapshot. */
async function servedLabels(args: readonly string[], env: Record<string, string> = {}): Promise<unknown> {
  const rows = await cliJson<Row[]>(
    [
      'query',
      ...args,
      '--format',
      'json',
      "SELECT g.labels FROM goroutines g JOIN frames f USING (snapshot_id, process_id, goroutine_id) WHERE f.function = 'main.serve' ORDER BY g.snapshot_id DESC LIMIT 1",
    ],
    env,
  );
  assert.equal(rows.length, 1, JSON.stringify(rows));
  return json(rows[0]!.labels);
}

/** The labels under the default rules (`customer_ssn` too under the user's). */
function expectedLabels(ssn: 'visible' | 'redacted'): Row {
  return {
    session_token: JSON.stringify({ '…': 'redacted', rule: 'token' }),
    customer_ssn:
      ssn === 'visible' ? `label-ssn-${SECRET}` : JSON.stringify({ '…': 'redacted', rule: 'ssn' }),
    tenant: `visible-tenant-${nonce}`,
  };
}

/** What every redacted capture of SPEC holds under the default rules. */
function assertDefaultMarks(row: Row, ssnAndKey: 'visible' | 'redacted'): void {
  const acct = (row.acct as { value: Row }).value;
  assert.equal(acct.User, VISIBLE);
  assert.equal(acct.Visits, 7);
  assert.deepEqual(acct.Password, mark('password', 'string'));
  if (ssnAndKey === 'visible') {
    assert.equal(acct.SSN, `ssn-${SECRET}`);
    assert.deepEqual(acct.Key, { Value: `typed-${SECRET}` });
    assert.equal(row.key_value, `typed-${SECRET}`);
  } else {
    assert.deepEqual(acct.SSN, mark('ssn', 'string'));
    assert.deepEqual(acct.Key, mark('main.Secret', 'main.Secret'));
    // Reached through a field of the secret type, not named by the expression.
    assert.deepEqual(row.key_value, mark('main.Secret', 'main.Secret'));
  }
  assert.deepEqual(row.header, {
    Authorization: mark('authorization', '[]string'),
    Accept: [`visible-accept-${nonce}`],
  });
  assert.deepEqual(row.token, mark('token', 'string'));
  assert.deepEqual(row.auth, mark('authorization', '[]string'));
  assert.deepEqual(row.auth_len, mark('authorization', 'int'));
  // The key held in a variable: matched by its value while evaluating.
  assert.deepEqual(row.by_var, mark('authorization', '[]string'));
  assert.equal(row.note, `visible-note-${nonce}`);
  // A context value under a key whose value names a secret; the other key's value shows.
  const chain = (row.ctx as { chain: { key?: unknown; value?: unknown }[] }).chain;
  assert.deepEqual(
    chain.filter((l) => l.key !== undefined).map((l) => l.value),
    [{ type: 'string', value: `visible-request-${nonce}` }, mark('token', 'interface {}')],
  );
}

before(async () => {
  dataDir = tempDir('periscope-redact-');
  localDir = tempDir('periscope-redact-local-');
  const fixture = await buildFixture('secrets');
  userToken = await createToken(dataDir, 'user', 'redact-user');
  adminToken = await createToken(dataDir, 'admin', 'redact-admin');
  const agentToken = await createToken(dataDir, 'agent', 'redact-agents');
  server = await startServerProc(dataDir);
  relay = await WsRecorder.start(server.url);
  agent = startAgentProc(relay.url, agentToken, 'host-r', tag);
  target = await startTagged(fixture.path, [nonce], tag, 'host-r');
  await waitForFleet(server.url, userToken, { 'host-r': [target.pid] });
});

after(async () => {
  await agent?.stop();
  await target?.kill();
  await relay?.close();
  await server?.proc.stop();
  for (const d of [dataDir, localDir]) if (d) rmSync(d, { recursive: true, force: true });
});

test('the one-shot CLI: the secrets are marked, and neither its output nor its store holds them', async () => {
  const spec = file('spec.yaml', SPEC);
  const r = await cli([
    'snapshot',
    '--pid',
    String(target!.pid),
    '--spec',
    spec,
    '--data',
    localDir,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(VISIBLE), 'the visible value is in the output');
  for (const s of DEFAULT_SECRETS) assert.ok(!r.stdout.includes(s), `${s} is not in the output`);
  assertDefaultMarks(await served(['--data', localDir]), 'visible');
  assert.deepEqual(await servedLabels(['--data', localDir]), expectedLabels('visible'));
  const stored = filesText(localDir);
  assert.ok(
    stored.includes(VISIBLE),
    'the visible value is in the store files (the search can find a value)',
  );
  for (const s of DEFAULT_SECRETS) assert.ok(!stored.includes(s), `${s} is not in the store files`);
});

test('through the server and the agent: marked in the stored rows, absent from the wire and from the server store', async () => {
  const env = { PERISCOPE_TOKEN: userToken };
  const set = await cli(['spec', 'set', file('spec.yaml', SPEC), '--server', server!.url], env);
  assert.equal(set.code, 0, set.stderr);
  const from = relay!.messages.length;
  const snap = await cliJson<FleetSnapshot>(['snapshot', '--server', server!.url, '--all', '--json'], env);
  assert.ok(snap.processes.length === 1 && snap.processes.every((p) => p.ok), JSON.stringify(snap.processes));
  assertDefaultMarks(await served(['--server', server!.url], env), 'visible');
  assert.deepEqual(await servedLabels(['--server', server!.url], env), expectedLabels('visible'));
  const wire = relay!.messages.slice(from).join('\n');
  assert.ok(wire.includes('"captured"') && wire.includes(VISIBLE), 'the relay saw the snapshot');
  for (const s of DEFAULT_SECRETS) assert.ok(!wire.includes(s), `${s} did not cross the wire`);
  const stored = filesText(dataDir);
  assert.ok(stored.includes(VISIBLE), 'the visible value is in the server store files');
  for (const s of DEFAULT_SECRETS) assert.ok(!stored.includes(s), `${s} is not in the server store files`);
});

test("a user's names and types add to the rules", async () => {
  const env = { PERISCOPE_TOKEN: userToken };
  const set = await cli(['spec', 'set', file('rules.yaml', USER_RULES), '--server', server!.url], env);
  assert.equal(set.code, 0, set.stderr);
  const from = relay!.messages.length;
  const snap = await cliJson<FleetSnapshot>(['snapshot', '--server', server!.url, '--all', '--json'], env);
  assert.ok(snap.processes.length === 1 && snap.processes.every((p) => p.ok), JSON.stringify(snap.processes));
  assertDefaultMarks(await served(['--server', server!.url], env), 'redacted');
  assert.deepEqual(await servedLabels(['--server', server!.url], env), expectedLabels('redacted'));
  const wire = relay!.messages.slice(from).join('\n');
  assert.ok(wire.includes(VISIBLE));
  assert.ok(!wire.includes(SECRET), 'no secret crossed the wire');
});

test("turning redaction off for a program: refused from a user token, stored from an admin token (then the program's secrets do cross)", async () => {
  const put = (token: string) =>
    fetch(`${server!.url}/v1/spec`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ yaml: OFF, source: 'off.yaml' }),
    });
  const before = await cli(['spec', 'show', '--server', server!.url], { PERISCOPE_TOKEN: userToken });
  const refused = await put(userToken);
  assert.equal(refused.status, 403);
  const body = (await refused.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'forbidden');
  assert.match(
    body.error.message,
    /only an admin token may turn redaction off: .*redaction\.off adds "vault"/,
  );
  const viaCli = await cli(['spec', 'set', file('off.yaml', OFF), '--server', server!.url], {
    PERISCOPE_TOKEN: userToken,
  });
  assert.notEqual(viaCli.code, 0);
  assert.match(viaCli.stderr, /only an admin token may turn redaction off/);
  assert.equal(
    (await cli(['spec', 'show', '--server', server!.url], { PERISCOPE_TOKEN: userToken })).stdout,
    before.stdout,
    'nothing stored',
  );

  const stored = await put(adminToken);
  assert.equal(stored.status, 200, await stored.text());
  const from = relay!.messages.length;
  const snap = await cliJson<FleetSnapshot>(['snapshot', '--server', server!.url, '--all', '--json'], {
    PERISCOPE_TOKEN: userToken,
  });
  assert.ok(snap.processes.length === 1 && snap.processes.every((p) => p.ok), JSON.stringify(snap.processes));
  const row = await served(['--server', server!.url], { PERISCOPE_TOKEN: userToken });
  assert.equal(row.token, `tok-${SECRET}`);
  assert.equal(
    ((await servedLabels(['--server', server!.url], { PERISCOPE_TOKEN: userToken })) as Row).session_token,
    `label-tok-${SECRET}`,
  );
  assert.ok(
    relay!.messages.slice(from).join('\n').includes(`pw-${SECRET}`),
    'the search finds a secret on the wire',
  );

  // Back on: a user may remove what an admin turned off (it only redacts more).
  const back = await cli(['spec', 'set', file('spec.yaml', SPEC), '--server', server!.url], {
    PERISCOPE_TOKEN: userToken,
  });
  assert.equal(back.code, 0, back.stderr);
});
