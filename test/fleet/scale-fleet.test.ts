/**
 * One fleet across three `periscope server` processes on one PostgreSQL and one S3-compatible
 * object store (a real SeaweedFS), with the real binaries: agents spread over the servers (host-c's given C's and A's
 * URLs, in that order). Any server lists every agent with its server; a fleet
 * snapshot requested on A captures the processes of B's and C's agents too, and B queries it.
 * C stopped and killed while a snapshot is in flight: its process fails with an error naming
 * C, the rest is stored, nothing of C is visible; its agent reconnects to A and the next
 * snapshot captures everything again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  agentIdOf,
  cli,
  cliJson,
  type FleetSnapshot,
  fleetTag,
  type Proc,
  type ServerProc,
  sleep,
  startAgentProc,
  startTagged,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import type { Target } from '../../support/target.js';
import { ScaledOutServers } from './scaled-out-servers.js';

const tag = fleetTag();
const fleet = new ScaledOutServers('scale-fleet');
let a: ServerProc | undefined;
let b: ServerProc | undefined;
let c: ServerProc | undefined;
const agents: Proc[] = [];
const targets: Target[] = [];
const tok = { agent: '', admin: '' };
const want: Record<string, number[]> = {};
/** The snapshots taken before C is killed (C stored a part of each). */
const takenBefore: number[] = [];

interface AgentRow {
  readonly id: string;
  readonly hostname: string;
  readonly connected: boolean;
  readonly server?: string;
  readonly serverUrl?: string;
}

before(async () => {
  await fleet.start({ s3: true });
  // The tokens are in PostgreSQL: every server accepts them, so an agent may land on any.
  tok.agent = await fleet.token('agent', 'agent');
  tok.admin = await fleet.token('admin', 'admin');
  [a, b, c] = await fleet.startServers(['a', 'b', 'c']);
  const { path } = await buildFixture('linkpair');
  for (const host of ['host-a', 'host-a', 'host-b', 'host-c']) {
    const t = await startTagged(path, [], tag, host);
    targets.push(t);
    want[host] = [...(want[host] ?? []), t.pid];
  }
  agents.push(startAgentProc(a!.url, tok.agent, 'host-a', tag));
  agents.push(startAgentProc(b!.url, tok.agent, 'host-b', tag));
  agents.push(startAgentProc(`${c!.url},${a!.url}`, tok.agent, 'host-c', tag));
  // Every server sees the whole fleet (its own agents and the others' from PostgreSQL).
  for (const s of [a!, b!, c!]) await waitForFleet(s.url, tok.admin, want);
});

after(async () => {
  for (const ag of agents) await ag.stop();
  for (const t of targets) t.kill();
  await fleet.close();
});

async function agentsOn(s: ServerProc): Promise<AgentRow[]> {
  const r = await fetch(`${s.url}/v1/agents`, { headers: { authorization: `Bearer ${tok.admin}` } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { agents: AgentRow[] }).agents;
}

function snapshotOn(s: ServerProc): Promise<FleetSnapshot> {
  return cliJson<FleetSnapshot>(['snapshot', '--server', s.url, '--all', '--json'], {
    PERISCOPE_TOKEN: tok.admin,
  });
}

function queryOn(s: ServerProc, sql: string, scope: string[] = []): Promise<Record<string, unknown>[]> {
  return cliJson<Record<string, unknown>[]>(['query', '--server', s.url, '--format', 'json', ...scope, sql], {
    PERISCOPE_TOKEN: tok.admin,
  });
}

test('any server lists every agent of the fleet with the server it is connected to', async () => {
  const byHost = (list: AgentRow[]) =>
    Object.fromEntries(list.filter((x) => x.connected).map((x) => [x.hostname, x.serverUrl]));
  const expected = { 'host-a': a!.url, 'host-b': b!.url, 'host-c': c!.url };
  for (const s of [a!, b!, c!]) assert.deepEqual(byHost(await agentsOn(s)), expected, `listed on ${s.url}`);
  const servers = new Set((await agentsOn(b!)).map((x) => x.server));
  assert.equal(servers.size, 3, 'three distinct server ids');
});

test('a fleet snapshot requested on A captures the processes of the agents on B and C; B and C query it', async (t) => {
  const snap = await snapshotOn(a!);
  assert.equal(snap.processes.length, 4);
  for (const p of snap.processes) assert.ok(p.ok, `${p.hostname} ${p.pid}: ${JSON.stringify(p.error)}`);
  assert.deepEqual(new Set(snap.processes.map((p) => p.hostname)), new Set(['host-a', 'host-b', 'host-c']));
  for (const s of [b!, c!]) {
    const rows = await queryOn(
      s,
      `SELECT hostname, count(DISTINCT process_id) AS n FROM goroutines JOIN processes USING (snapshot_id, process_id) WHERE snapshot_id = ${snap.snapshotId} GROUP BY hostname ORDER BY hostname`,
    );
    assert.deepEqual(
      rows.map((r) => [r.hostname, Number(r.n)]),
      [
        ['host-a', 2],
        ['host-b', 1],
        ['host-c', 1],
      ],
      `goroutines of every process, on ${s.url}`,
    );
  }
  const [row] = await queryOn(
    b!,
    `SELECT process_count FROM snapshots WHERE snapshot_id = ${snap.snapshotId}`,
  );
  assert.equal(Number(row!.process_count), 4);
  // Capture skew across servers vs within one (host-a's two processes share agent and server);
  // a measurement, never a pass/fail bound.
  const skews: string[] = [];
  for (let i = 0; i < 5; i++) {
    const s = i === 0 ? snap : await snapshotOn(i % 2 ? b! : c!);
    takenBefore.push(s.snapshotId);
    const starts = s.processes.map((p) => [p.hostname, Date.parse(p.startedAt ?? '')] as const);
    const within = starts.filter(([h]) => h === 'host-a').map(([, v]) => v);
    skews.push(`across ${s.captureSkewMs} ms, within A ${Math.max(...within) - Math.min(...within)} ms`);
  }
  t.diagnostic(`capture skew (5 fleet snapshots): ${skews.join('; ')}`);
});

test('a server killed mid-snapshot: its process fails naming it, the rest is stored, its agent moves on', async () => {
  const before = Number(fleet.pg.psql('SELECT count(*) FROM periscope.fleet_requests').trim());
  // C hangs (stopped), a snapshot starts on A that includes C's agent, then C is killed.
  c!.proc.signal('SIGSTOP');
  const pending = cli(['snapshot', '--server', a!.url, '--all', '--json'], { PERISCOPE_TOKEN: tok.admin });
  for (
    let i = 0;
    Number(fleet.pg.psql('SELECT count(*) FROM periscope.fleet_requests').trim()) === before;
    i++
  ) {
    assert.ok(i < 400, 'the request never reached PostgreSQL');
    await sleep(25);
  }
  c!.proc.signal('SIGKILL');
  const taken = await pending;
  assert.equal(taken.code, 3, `exit 3: some processes captured, some not; ${taken.stderr}`);
  const snap = JSON.parse(taken.stdout) as FleetSnapshot;
  const byHost = new Map(snap.processes.map((p) => [p.hostname, p]));
  for (const h of ['host-a', 'host-b']) assert.ok(byHost.get(h)?.ok, `${h} captured`);
  const lost = byHost.get('host-c');
  assert.equal(lost?.ok, false);
  assert.equal(lost?.error?.kind, 'TIMEOUT');
  assert.match(
    lost?.error?.message ?? '',
    new RegExp(`server \\S+ \\(${c!.url.replace(/[.]/g, '\\.')}\\).*stopped during the snapshot`),
  );
  // What was stored is visible on B; C's process is listed as failed, with no rows of its own.
  const rows = await queryOn(
    b!,
    `SELECT p.hostname, p.error IS NULL AS ok, (SELECT count(*) FROM goroutines g WHERE g.snapshot_id = p.snapshot_id AND g.process_id = p.process_id) AS g FROM processes p WHERE p.snapshot_id = ${snap.snapshotId} ORDER BY hostname, ok`,
  );
  assert.deepEqual(
    rows.map((r) => [r.hostname, r.ok, Number(r.g) > 0]),
    [
      ['host-a', true, true],
      ['host-a', true, true],
      ['host-b', true, true],
      ['host-c', false, false],
    ],
  );
  // Nothing stored before is lost with C: every earlier snapshot still has its four processes' rows.
  const [kept] = await queryOn(
    b!,
    `SELECT count(DISTINCT snapshot_id) AS s, count(DISTINCT process_id) AS p FROM goroutines WHERE snapshot_id IN (${takenBefore.join(',')})`,
    ['--all'],
  );
  assert.deepEqual([Number(kept!.s), Number(kept!.p)], [takenBefore.length, 4]);
  // host-c's agent reconnects to the next of its servers, A; the next snapshot (on B) takes it again.
  await waitForFleet(b!.url, tok.admin, want, 60_000);
  const moved = (await agentsOn(b!)).find((x) => x.id === agentIdOf('host-c') && x.connected);
  assert.equal(moved?.serverUrl, a!.url);
  const again = await snapshotOn(b!);
  assert.equal(again.processes.filter((p) => p.ok).length, 4, JSON.stringify(again.processes));
});
