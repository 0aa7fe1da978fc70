/**
 * Standing investigations on three `periscope server` processes sharing one PostgreSQL and one
 * file:// object store, with real agents and Go fixtures: linkpair on host-a (A's agent) for
 * scheduled snapshots, traced-service on host-b and host-c (B's and C's agents) whose
 * main.check a probe of the spec watches. Every server arms every investigation; PostgreSQL
 * decides which firing happens: a schedule added on B ticks once per period fleet-wide (not
 * once per server); a probe investigation added on A fires on B's agent's events; with
 * "at most 2" it fires exactly twice though events arrive at B and at C; closed on B it stops
 * on every server; any server shows the same firings; one name added on two servers at once is
 * stored once; C killed mid-firing (its webhook hanging) leaves a firing the others mark, and
 * the schedules go on once per period.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FiringView, InvestigationView } from '../../src/api/investigation-views.js';
import {
  cli,
  cliJson,
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

const tag = fleetTag();
const fleet = new ScaledOutServers('inv');
let a: ServerProc | undefined;
let b: ServerProc | undefined;
let c: ServerProc | undefined;
const agents: Proc[] = [];
const targets: Target[] = [];
/** traced-service's port per host. */
const ports: Record<string, number> = {};
let admin = '';

const spec = () => `programs:
  - name: lp
    match: { env.FLEET_AGENT: "^${tag}:", executable: "linkpair$" }
  - name: svc
    match: { env.FLEET_AGENT: "^${tag}:", executable: "traced-service$" }
probes:
  - name: checks
    program: svc
    function: main.check
    capture: { user: user }
`;

before(async () => {
  await fleet.start();
  admin = await fleet.token('admin', 'admin');
  const agentToken = await fleet.token('agent', 'agent');
  [a, b, c] = await fleet.startServers(['a', 'b', 'c']);
  // The spec (with the probe) is stored before the agents connect: each gets its probes on hello.
  const file = join(tempDir('periscope-inv-spec-'), 'spec.yaml');
  writeFileSync(file, spec());
  const set = await cli(['spec', 'set', file, '--server', a!.url], { PERISCOPE_TOKEN: admin });
  assert.equal(set.code, 0, set.stderr);
  const want: Record<string, number[]> = {};
  const linkpair = await startTagged((await buildFixture('linkpair')).path, [], tag, 'host-a');
  targets.push(linkpair);
  want['host-a'] = [linkpair.pid];
  const svc = (await buildFixture('traced-service')).path;
  for (const host of ['host-b', 'host-c']) {
    const t = await startTagged(svc, [], tag, host);
    targets.push(t);
    want[host] = [t.pid];
    ports[host] = Number(/port (\d+)/.exec(t.lines.find((l) => l.text.startsWith('ready'))!.text)![1]);
  }
  for (const [host, s] of [
    ['host-a', a!],
    ['host-b', b!],
    ['host-c', c!],
  ] as const)
    agents.push(
      startAgentProc(s.url, agentToken, host, tag, ['--runtime-dir', tempDir(`periscope-inv-run-${host}-`)]),
    );
  for (const [i, host] of [
    [1, 'host-b'],
    [2, 'host-c'],
  ] as const)
    await agents[i]!.waitFor(new RegExp(`attached .*checks.* to process ${want[host]![0]}`), 90_000);
  try {
    for (const s of [a!, b!, c!]) await waitForFleet(s.url, admin, want);
  } catch (e) {
    const logs = [...agents.map((x) => x.lines), a!.proc.lines].map((ls) => ls.map((l) => l.text).join('\n'));
    throw new Error(`${(e as Error).message}\n${logs.join('\n----\n')}`);
  }
});

after(async () => {
  for (const ag of agents) await ag.stop();
  for (const t of targets) await t.kill();
  await fleet.close();
});

async function call<T>(s: ServerProc, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${path} on ${s.url}: ${r.status} ${text}`);
  return JSON.parse(text) as T;
}

const add = (s: ServerProc, body: unknown) => call<InvestigationView>(s, 'POST', '/v1/investigations', body);
const show = (s: ServerProc, id: number) => call<InvestigationView>(s, 'GET', `/v1/investigations/${id}`);
const close = (s: ServerProc, id: number) =>
  call<InvestigationView>(s, 'POST', `/v1/investigations/${id}/close`, {});

/** Firings of an investigation as PostgreSQL holds them, oldest first. */
function firingsInPg(id: number): { id: number; process: string; trigger: string }[] {
  const out = fleet.pg.psql(
    `SELECT firing_id || ' ' || coalesce(process_id, '-') || ' ' || trigger FROM periscope.investigation_firings WHERE investigation_id = ${id} ORDER BY firing_id`,
  );
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [id, process, trigger] = l.split(' ');
      return { id: Number(id), process: process!, trigger: trigger! };
    });
}

/** A request to host's traced-service for `user` (main.check runs once). */
async function request(host: string, user: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${ports[host]}/work?user=${user}`);
  await r.text();
}

/** The probe events of `user` the server of `s` stored (its own agents' only). */
async function eventsOn(s: ServerProc, user: string): Promise<number> {
  const rows = await cliJson<{ n: number }[]>(
    [
      'query',
      '--server',
      s.url,
      '--format',
      'json',
      `SELECT count(*) AS n FROM checks WHERE "user" = '${user}'`,
    ],
    { PERISCOPE_TOKEN: admin },
  );
  return Number(rows[0]?.n ?? 0);
}

async function until(what: string, ms: number, cond: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('a schedule added on B is taken once per period across the three servers, and every server shows the same firings', async (t) => {
  const everyS = 3;
  const inv = await add(b!, {
    name: 'linkpair-3s',
    triggers: [{ schedule: { every: `${everyS}s`, select: 'program=lp' } }],
    report: [{ name: 'goroutines', sql: 'SELECT count(*) AS n FROM goroutines' }],
  });
  // Its SQL condition is checked once per tick, by the server that took the tick.
  const cond = await add(c!, {
    name: 'linkpair-when',
    triggers: [
      { schedule: { every: `${everyS}s`, select: 'program=lp' } },
      { sql: 'SELECT count(*) > 0 FROM goroutines' },
    ],
  });
  const started = Date.now();
  // A and C learn of it (NOTIFY, or their next look) and arm it too.
  for (const s of [a!, c!])
    await until(`${s.url} to know it`, 10_000, async () => (await show(s, inv.id)).state === 'open');
  await sleep(15_000);
  await close(a!, inv.id);
  await close(a!, cond.id);
  const windowS = (Date.now() - started) / 1000;
  await sleep(3000); // firings under way finish
  const firings = firingsInPg(inv.id);
  const snapshots = Number(
    fleet.pg
      .psql(`SELECT count(*) FROM periscope.snapshots WHERE labels ->> 'schedule' = 'linkpair-3s'`)
      .trim(),
  );
  const most = Math.floor(windowS / everyS) + 1;
  assert.ok(firings.length >= 2, `it ticked: ${firings.length} firings in ${windowS} s`);
  assert.ok(
    firings.length <= most,
    `at most one tick per ${everyS} s over ${windowS.toFixed(1)} s (${most}), not one per server: ${firings.length}`,
  );
  // One scheduled snapshot per tick; a tick under way at the close took its snapshot but fires no more.
  assert.ok(
    snapshots >= firings.length && snapshots <= firings.length + 1 && snapshots <= most,
    `one scheduled snapshot per tick, by the server that fired it: ${snapshots} snapshots, ${firings.length} firings`,
  );
  assert.ok(firings.every((f) => f.trigger === 'schedule'));
  t.diagnostic(
    `${firings.length} firings and ${snapshots} snapshots in ${windowS.toFixed(1)} s, every ${everyS} s, three servers`,
  );
  const onCondition = firingsInPg(cond.id);
  assert.ok(
    onCondition.length >= 1 && onCondition.length <= most && onCondition.every((f) => f.trigger === 'sql'),
    `the condition fired at most once per tick: ${onCondition.length}`,
  );
  const conditionSnapshots = fleet.pg
    .psql(
      `SELECT detail ->> 'snapshotId' FROM periscope.investigation_firings WHERE investigation_id = ${cond.id}`,
    )
    .trim()
    .split('\n');
  assert.equal(new Set(conditionSnapshots).size, onCondition.length, 'never twice over one snapshot');
  // The same firings, reports and count on every server.
  const shown = await Promise.all([a!, b!, c!].map((s) => show(s, inv.id)));
  const strip = (v: InvestigationView) => ({
    state: v.state,
    fires: v.fires,
    firings: (v.firings ?? []).map((f: FiringView) => [f.id, f.snapshotId, f.reportRows]),
  });
  assert.equal(shown[0]!.fires, firings.length);
  assert.ok((shown[0]!.firings ?? []).every((f) => f.reportRows === 1 && f.snapshotId !== undefined));
  for (const v of shown.slice(1)) assert.deepEqual(strip(v), strip(shown[0]!));
});

test('added on A, a probe investigation fires on the events of B’s agent', async () => {
  const inv = await add(a!, {
    name: 'bob-first',
    triggers: [{ probe: { name: 'checks', where: '"user" = \'bob\'' } }],
    snapshot: 'none',
    limits: { maxFires: 1 },
  });
  await until('B to know it', 10_000, async () => (await show(b!, inv.id)).state === 'open');
  await request('host-b', 'bob');
  await until('the firing on B’s event', 30_000, () => firingsInPg(inv.id).length === 1);
  assert.match(firingsInPg(inv.id)[0]!.process, /^host-b:/, 'fired by the event of B’s agent');
});

test('"at most 2" holds across servers when events that could fire it arrive at B and at C', async () => {
  const inv = await add(a!, {
    name: 'dave-two',
    triggers: [{ probe: { name: 'checks', where: '"user" = \'dave\'' } }],
    snapshot: 'none',
    limits: { maxFires: 2, minInterval: '0s' },
  });
  for (const s of [b!, c!])
    await until(`${s.url} to know it`, 10_000, async () => (await show(s, inv.id)).state === 'open');
  // Each server alone would fire twice on its own three events.
  const before = { b: await eventsOn(b!, 'dave'), c: await eventsOn(c!, 'dave') };
  for (let i = 0; i < 3; i++) await Promise.all([request('host-b', 'dave'), request('host-c', 'dave')]);
  await until('the events stored on B and C', 30_000, async () => {
    return (await eventsOn(b!, 'dave')) >= before.b + 3 && (await eventsOn(c!, 'dave')) >= before.c + 3;
  });
  await sleep(3000); // both servers looked at them
  const firings = firingsInPg(inv.id);
  assert.equal(firings.length, 2, `exactly its limit across servers: ${JSON.stringify(firings)}`);
  for (const s of [a!, b!, c!]) assert.equal((await show(s, inv.id)).fires, 2, `fires on ${s.url}`);
});

test('closed on B, an investigation stops on every server', async () => {
  const inv = await add(a!, {
    name: 'any-checks',
    triggers: [{ probe: { name: 'checks', where: '"user" = \'carol\'' } }],
    snapshot: 'none',
    limits: { maxFires: 0, minInterval: '0s' },
  });
  await until('C to know it', 10_000, async () => (await show(c!, inv.id)).state === 'open');
  await request('host-c', 'carol');
  await until('the firing on C’s event', 30_000, () => firingsInPg(inv.id).length === 1);
  await close(b!, inv.id);
  for (const s of [a!, c!])
    await until(`${s.url} to see it closed`, 10_000, async () => (await show(s, inv.id)).state === 'closed');
  const before = { b: await eventsOn(b!, 'carol'), c: await eventsOn(c!, 'carol') };
  for (let i = 0; i < 3; i++) await Promise.all([request('host-b', 'carol'), request('host-c', 'carol')]);
  await until('the events stored on B and C', 30_000, async () => {
    return (await eventsOn(b!, 'carol')) >= before.b + 3 && (await eventsOn(c!, 'carol')) >= before.c + 3;
  });
  await sleep(3000);
  assert.equal(firingsInPg(inv.id).length, 1, 'no firing after the close, on any server');
});

test('one name, added on A and on B at the same moment: one is stored, the other refused with 409', async () => {
  const body = {
    name: 'twice',
    triggers: [{ probe: { name: 'checks', where: '"user" = \'erin\'' } }],
    snapshot: 'none',
  };
  const statuses = await Promise.all(
    [a!, b!].map(async (s) => {
      const r = await fetch(`${s.url}/v1/investigations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, text: await r.text() };
    }),
  );
  assert.deepEqual(statuses.map((x) => x.status).sort(), [201, 409], JSON.stringify(statuses));
  const refused = JSON.parse(statuses.find((x) => x.status === 409)!.text) as { error: { message: string } };
  assert.match(refused.error.message, /^an open investigation is named "twice"; close it first/);
  // PostgreSQL itself keeps one open per name, whichever server (or client) inserts.
  assert.equal(
    fleet.pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'investigations_open_name'").trim(),
    '1',
  );
  assert.throws(() =>
    fleet.pg.psql(
      "INSERT INTO periscope.investigations (name, owner, question, notes, definition, created_at) VALUES ('twice', 'x', '', '', '{}', now())",
    ),
  );
  assert.equal(
    fleet.pg.psql("SELECT count(*) FROM periscope.investigations WHERE name = 'twice'").trim(),
    '1',
  );
});

test('a server killed mid-firing: the firing says so, and the others go on ticking once per period', async () => {
  // A webhook that never answers holds C's firing under way (C's agent's event fires it).
  const held: ServerResponse[] = [];
  const hook = createServer((_req, res) => held.push(res));
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  try {
    const hung = await add(a!, {
      name: 'frank-hook',
      triggers: [{ probe: { name: 'checks', where: '"user" = \'frank\'' } }],
      snapshot: 'none',
      limits: { maxFires: 1 },
      webhook: { url: hookUrl, timeout: '120s', retries: 1 },
    });
    const everyS = 2;
    const inv = await add(a!, {
      name: 'survivor',
      triggers: [{ schedule: { every: `${everyS}s`, select: 'program=lp' } }],
    });
    await until('C to know them', 10_000, async () => (await show(c!, hung.id)).state === 'open');
    await request('host-c', 'frank');
    await until('C’s firing to call the webhook', 30_000, () => held.length === 1);
    const [firing] = firingsInPg(hung.id);
    assert.match(firing!.process, /^host-c:/);
    const underWay = () =>
      fleet.pg
        .psql(`SELECT server FROM periscope.investigation_firings_under_way WHERE firing_id = ${firing!.id}`)
        .trim();
    assert.match(underWay(), new RegExp(`:${c!.port}/`), 'under way on C');
    await until('two ticks', 30_000, () => firingsInPg(inv.id).length >= 2);
    // C may also hold a tick of the schedule (claimed, snapshot under way): dying there loses that tick only.
    c!.proc.signal('SIGKILL');
    const killed = Date.now();
    const before = firingsInPg(inv.id).length;
    await until('ticks after C died', 40_000, () => firingsInPg(inv.id).length >= before + 3);
    await close(b!, inv.id);
    const windowS = (Date.now() - killed) / 1000;
    await sleep(2000);
    const after = firingsInPg(inv.id).length - before;
    assert.ok(
      after <= Math.floor(windowS / everyS) + 2,
      `${after} ticks in ${windowS.toFixed(1)} s after C died`,
    );
    // Once C has been silent for 30 s, A or B marks its unfinished firing.
    await until('the firing marked', 60_000, () => underWay() === '');
    const shown = (await show(b!, hung.id)).firings?.[0];
    assert.match(shown?.error ?? '', new RegExp(`^server \\S+:${c!.port}/\\S+ stopped during this firing`));
    assert.equal(shown?.webhook, undefined, 'its webhook never answered');
  } finally {
    for (const res of held) res.destroy();
    hook.closeAllConnections();
    await new Promise<void>((r) => hook.close(() => r()));
  }
});
