/**
 * Probe events across servers, end to end: two `periscope server` processes on one PostgreSQL
 * and one S3-compatible object store (a real SeaweedFS), a real agent connected to A only with testdata/probe-values, a
 * probe added through A. A long-poll of `GET /v1/events` waiting on B is answered with the
 * events A's agent sent; the probe's table, `probe_events` and `probe_counts` on B show every
 * call with its values, the same rows A shows.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EventsResponse } from '../../src/api/responses.js';
import {
  cli,
  cliJson,
  fleetTag,
  type Proc,
  type ServerProc,
  sleep,
  startAgentProc,
  startTagged,
  waitForFleet,
} from '../../support/fleet.js';
import { fixtureBinary } from '../../support/probe-fixture.js';
import type { Target } from '../../support/target.js';
import { ScaledOutServers, type SharedServerProc } from './scaled-out-servers.js';

type Row = Record<string, unknown>;
const HOST = 'host-ps';
const USERS = ['alice', 'bob', 'carol'];

const tag = fleetTag();
const fleet = new ScaledOutServers('probe-shared');
let a: SharedServerProc | undefined;
let b: ServerProc | undefined;
let agent: Proc | undefined;
let target: Target | undefined;
let user = '';

const query = (s: ServerProc, sql: string) =>
  cliJson<Row[]>(['query', '--server', s.url, '--format', 'json', sql], { PERISCOPE_TOKEN: user });

before(async () => {
  await fleet.start({ s3: true });
  const agentToken = await fleet.token('agent', 'agent-ps');
  user = await fleet.token('admin', 'admin-ps');
  [a, b] = await fleet.startServers(['a', 'b']);
  const dataA = a.dataDir;
  const bin = await fixtureBinary();
  target = await startTagged(bin.path, [], tag, HOST);
  agent = startAgentProc(a.url, agentToken, HOST, tag, ['--runtime-dir', join(dataA, 'run')]);
  await waitForFleet(a.url, user, { [HOST]: [target.pid] });
  const spec = join(dataA, 'spec.yaml');
  writeFileSync(spec, `programs:\n  - name: pv\n    match: { env.FLEET_AGENT: "^${tag}:${HOST}$" }\n`);
  const set = await cli(['spec', 'set', spec, '--server', a.url], { PERISCOPE_TOKEN: user });
  assert.equal(set.code, 0, set.stderr);
});

after(async () => {
  await agent?.stop();
  await target?.kill();
  await fleet.close();
});

test('events of an agent on server A: B’s long-poll wakes with them, and B’s probe tables show every call as A’s do', async () => {
  const add = await cli(
    [
      'probe',
      'add',
      'calls',
      '--capture',
      'user',
      '--capture',
      'n',
      '--program',
      'pv',
      '--function',
      'main.handle',
      '--server',
      a!.url,
    ],
    { PERISCOPE_TOKEN: user },
  );
  assert.equal(add.code, 0, add.stderr);
  await agent!.waitFor(new RegExp(`attached .*calls.* to process ${target!.pid}`), 30_000);
  // A long-poll on B, waiting before any event exists.
  const polled = fetch(`${b!.url}/v1/events?probe=calls&wait=30000`, {
    headers: { authorization: `Bearer ${user}` },
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as EventsResponse,
    at: performance.now(),
  }));
  await sleep(300);
  const since = performance.now();
  target!.child.stdin!.write('handle 30\n');
  await target!.waitFor(/^done /, 30_000, since);
  const done = performance.now();
  const got = await polled;
  assert.equal(got.status, 200);
  assert.ok(got.body.events.length > 0, 'B answered the long-poll with events');
  assert.ok(
    got.body.events.every((e) => e.probe === 'calls' && e.process === `${HOST}:${target!.pid}`),
    JSON.stringify(got.body.events[0]),
  );
  console.log(
    `# B's long-poll answered ${(got.at - done).toFixed(0)} ms after the fixture's 30 calls were done`,
  );
  const want = Array.from({ length: 30 }, (_, i) => ({ n: i, user: USERS[i % 3] }));
  const end = Date.now() + 15_000;
  let rows = await query(b!, 'SELECT n, "user" FROM calls ORDER BY n');
  while (rows.length < 30 && Date.now() < end) {
    await sleep(300);
    rows = await query(b!, 'SELECT n, "user" FROM calls ORDER BY n');
  }
  assert.deepEqual(rows, want, 'the probe table on B');
  const sql =
    'SELECT seq, probe, process_id, agent_id, goroutine_id, captures FROM probe_events ORDER BY seq';
  assert.deepEqual(await query(b!, sql), await query(a!, sql), 'probe_events: the same rows on A and B');
  const counts = 'SELECT sum(hits)::INT AS hits, sum(events)::INT AS events FROM probe_counts';
  const endCounts = Date.now() + 15_000;
  let c = await query(b!, counts);
  while (c[0]?.hits !== 30 && Date.now() < endCounts) {
    await sleep(300);
    c = await query(b!, counts);
  }
  assert.deepEqual(c, [{ hits: 30, events: 30 }], 'probe_counts on B');
  // The CLI's `events` reads B's cursor: the same events, in seq order.
  const ev = await cli(['events', '--probe', 'calls', '--last', '2', '--server', b!.url], {
    PERISCOPE_TOKEN: user,
  });
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(
    ev.stdout.split('\n')[1]!,
    /calls {2}host-ps:\d+ {2}g\d+ {2}main\.handle {2}user="carol" {2}n=29/,
  );
});
