/**
 * The fleet, end to end with the real binaries: one `periscope server` (temp data directory,
 * tokens made with the CLI), three `periscope agent`s with distinct --hostname, each restricted
 * with --match to its share of the processes: the HTTP chain A -> B -> C and the gRPC pair
 * spread across them. One `periscope snapshot --server … --all`, then one SQL query through
 * the links (`periscope query --server … --format json`) that follows A's blocked goroutine to
 * B's handler to C's goroutine stuck on the lock, checked against each process's own stacks.
 * Then faults: a process exiting between prepare and capture, an agent SIGKILLed mid-snapshot.
 * Last, Go's own goroutine dump (SIGQUIT) confirms the goroutine ids the chain named.
 *
 * To hold a snapshot between its two phases without any hook in the server or the agents,
 * one agent is SIGSTOPped: the server waits for its `prepared` (prepare everywhere, then
 * capture everywhere), while the other agents have prepared; the test acts (kills a process,
 * kills an agent) and SIGCONTs the held agent. The server's --agent-timeout is raised so that
 * the held agent is not taken for hung meanwhile (test/fleet/hung-agent.test.ts is about that).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parseGoroutineDump } from '../../src/goruntime/goroutines/stack-dump.js';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import {
  agentIdOf,
  cli,
  cliJson,
  createToken,
  exited,
  type FleetSnapshot,
  fleetTag,
  type ListedAgent,
  type Proc,
  procState,
  type ServerProc,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import type { Target } from '../../support/target.js';
import { goroutineIn } from '../links/link-join.js';
import { buildGrpcPair, buildHttpChain, GRPC_VARIANTS } from '../links/variants.js';

type Row = Record<string, unknown>;

// From every goroutine of A waiting in main.callB, follow the links hop by hop; for each hop
// the host, pid, goroutine, its wait reason and the main.* functions on its stack.
const CHAIN_SQL = `
WITH RECURSIVE chain(hop, process_id, goroutine_id, link) AS (
  SELECT 0, process_id, goroutine_id, NULL::VARCHAR FROM frames WHERE function = 'main.callB'
  UNION ALL
  SELECT c.hop + 1, l.to_process_id, l.to_goroutine_id, l.link
  FROM chain c JOIN links l ON l.from_process_id = c.process_id AND l.from_goroutine_id = c.goroutine_id
  WHERE c.hop < 10
)
SELECT c.hop, c.link, p.hostname, p.pid, c.goroutine_id, g.status, g.wait_reason,
  (SELECT list(f.function ORDER BY f.depth) FROM frames f
    WHERE f.process_id = c.process_id AND f.goroutine_id = c.goroutine_id) AS functions
FROM chain c JOIN processes p ON p.process_id = c.process_id
  JOIN goroutines g ON g.process_id = c.process_id AND g.goroutine_id = c.goroutine_id
ORDER BY c.hop`;

const GRPC_SQL = `
SELECT l.link, pf.hostname AS client_host, l.from_goroutine_id AS client_goroutine,
  pt.hostname AS server_host, l.to_goroutine_id AS server_goroutine, s.method
FROM links l
  JOIN processes pf ON pf.process_id = l.from_process_id
  JOIN processes pt ON pt.process_id = l.to_process_id
  JOIN grpc_server_streams s ON s.process_id = l.to_process_id AND s.goroutine_id = l.to_goroutine_id
WHERE l.link LIKE 'grpc%'
ORDER BY s.method`;

const PROCESSES_SQL = `SELECT hostname, pid, error, goroutine_count FROM processes ORDER BY hostname, pid`;

const HOSTS = ['host-a', 'host-b', 'host-c'] as const;
type Host = (typeof HOSTS)[number];

const tag = fleetTag();
let dataDir = '';
let server: ServerProc | undefined;
let userToken = '';
let agentToken = '';
const agents = new Map<Host, Proc>();
const targets: Target[] = [];
let a: Target;
let b: Target;
let c: Target;
let grpcServer: Target;
let grpcClient: Target;
let exprsPath = '';
/** The chain's goroutines as the first fleet snapshot stored them (hop order). */
let storedChain: Row[] = [];

const env = () => ({ PERISCOPE_TOKEN: userToken });

async function snapshotAll(...labels: string[]): Promise<FleetSnapshot> {
  const args = [
    'snapshot',
    '--server',
    server!.url,
    '--all',
    ...labels.flatMap((l) => ['--label', l]),
    '--json',
  ];
  const r = await cli(args, env(), 300_000); // past the server's prepare and capture timeouts
  // Exit 3: stored, but some processes were not captured (what the fault tests cause).
  if (r.code !== 0 && r.code !== 3)
    throw new Error(`periscope ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as FleetSnapshot;
}

async function query(sql: string, snapshotId: number): Promise<Row[]> {
  return cliJson<Row[]>(
    ['query', '--server', server!.url, '--snapshot', String(snapshotId), '--format', 'json', sql],
    env(),
  );
}

/** Waits until C's handler goroutine is parked on the mutex (it prints before it locks). */
async function lockedInC(pid: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = snapshotProcess(pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
    if (s.goroutines.some((g) => g.waitReason === 'sync.Mutex.Lock')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('C never blocked on the mutex');
}

function byPid(snap: FleetSnapshot): Map<number, FleetSnapshot['processes'][number]> {
  return new Map(snap.processes.map((p) => [p.pid, p]));
}

/** What each agent logged about its snapshot requests (how long each prepare took), for failure messages. */
function requestLog(): string {
  return [...agents]
    .map(
      ([h, p]) =>
        `${h}: ${JSON.stringify(p.lines.filter((l) => / request /.test(l.text)).map((l) => l.text))}`,
    )
    .join('\n');
}

/** The agent's log lines about a prepared request that arrived at or after `since`. */
function prepared(agent: Proc, since: number): Promise<unknown> {
  return agent.waitFor(/^\S+ request \S+: prepared \d+ of \d+ processes/, 180_000, since);
}

before(async () => {
  dataDir = tempDir('periscope-fleet-');
  const [http, grpc, exprs] = await Promise.all([
    buildHttpChain('local'),
    buildGrpcPair(GRPC_VARIANTS.at(-1)!, 'local'),
    buildFixture('exprs'),
  ]);
  exprsPath = exprs.path;
  userToken = await createToken(dataDir, 'user', 'fleet-user');
  agentToken = await createToken(dataDir, 'agent', 'fleet-agents');
  // Bounds, not targets: at load 30 on 2 cores an agent's first prepare (loading two Go binaries
  // at ~7% of a core) took over 30 s, and every process failed for a reason this file does not test.
  server = await startServerProc(dataDir, '127.0.0.1:0', [
    '--prepare-timeout',
    '180000',
    '--capture-timeout',
    '60000',
    '--agent-timeout',
    '120000',
  ]);
  assert.ok(
    !server.proc.lines.some((l) => /First start/.test(l.text)),
    'tokens existed, so no first tokens are printed',
  );
  for (const h of HOSTS) agents.set(h, startAgentProc(server.url, agentToken, h, tag));

  // GOTRACEBACK=all: on SIGQUIT (the last test) Go prints every goroutine.
  const dump = { GOTRACEBACK: 'all' };
  c = await startTagged(http.path, ['-role', 'c'], tag, 'host-c', dump);
  targets.push(c);
  const cAddr = /listening (\S+)/.exec(c.lines[0]!.text)![1]!;
  b = await startTagged(http.path, ['-role', 'b', '-next', cAddr], tag, 'host-b', dump);
  targets.push(b);
  const bAddr = /listening (\S+)/.exec(b.lines[0]!.text)![1]!;
  a = await startTagged(http.path, ['-role', 'a', '-next', bAddr], tag, 'host-a', dump);
  targets.push(a);
  await b.waitFor(/^handling \/b/);
  await c.waitFor(/^handling \/c/);
  grpcServer = await startTagged(grpc.path, ['server'], tag, 'host-b');
  targets.push(grpcServer);
  const gAddr = /listening (\S+)/.exec(grpcServer.lines[0]!.text)![1]!;
  grpcClient = await startTagged(grpc.path, ['client', gAddr, 'both'], tag, 'host-a');
  targets.push(grpcClient);
  await lockedInC(c.pid);

  await waitForFleet(server.url, userToken, {
    'host-a': [a.pid, grpcClient.pid],
    'host-b': [b.pid, grpcServer.pid],
    'host-c': [c.pid],
  });
});

after(async () => {
  for (const p of agents.values()) await p.stop();
  for (const t of targets.reverse()) await t.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('one snapshot of three agents; one SQL query through the links follows A -> B -> C across hostnames', async () => {
  const snap = await snapshotAll('test=fleet');
  assert.deepEqual(snap.labels, { test: 'fleet' });
  const results = byPid(snap);
  assert.deepEqual(
    [a, b, c, grpcServer, grpcClient].map((t) => [
      results.get(t.pid)?.hostname,
      results.get(t.pid)?.ok,
      results.get(t.pid)?.error?.message,
    ]),
    [
      ['host-a', true, undefined],
      ['host-b', true, undefined],
      ['host-c', true, undefined],
      ['host-b', true, undefined],
      ['host-a', true, undefined],
    ],
    requestLog(),
  );
  assert.equal(snap.processes.length, 5);
  for (const p of snap.processes) {
    assert.equal(p.agentId, agentIdOf(p.hostname), 'each agent reports under its --hostname');
    assert.ok(p.pauseNs! > 0 && p.goroutines! > 0, JSON.stringify(p));
  }
  assert.ok(snap.captureSkewMs >= 0 && snap.captureSkewMs < 5000, `skew ${snap.captureSkewMs} ms`);

  // The oracle: each process's own stacks, read directly (these goroutines block forever, so
  // their ids are the ones the fleet snapshot saw).
  const own = new Map<number, ProcessSnapshot>(
    [a, b, c].map((t) => [t.pid, snapshotProcess(t.pid, { pauseCapMs: TEST_PAUSE_CAP_MS })]),
  );
  const gA = goroutineIn(own.get(a.pid)!, 'main.callB');
  const gB = goroutineIn(own.get(b.pid)!, 'main.handleB');
  const gC = goroutineIn(own.get(c.pid)!, 'main.handleC');
  assert.equal(gC.waitReason, 'sync.Mutex.Lock');

  const chain = await query(CHAIN_SQL, snap.snapshotId);
  assert.deepEqual(
    chain.map((r) => [r.hop, r.link, r.hostname, r.pid, r.goroutine_id]),
    [
      [0, null, 'host-a', a.pid, gA.id],
      [1, 'http_call', 'host-b', b.pid, gB.id],
      [2, 'http_call', 'host-c', c.pid, gC.id],
    ],
    JSON.stringify(chain),
  );
  const fns = chain.map((r) => r.functions as string[]);
  assert.ok(fns[0]!.includes('main.callB') && fns[0]!.includes('net/http.(*persistConn).roundTrip'));
  assert.ok(fns[1]!.includes('main.handleB') && fns[1]!.includes('net/http.(*conn).serve'));
  assert.ok(fns[1]!.includes('main.callNext'));
  assert.equal(chain[2]!.status, 'waiting');
  assert.equal(chain[2]!.wait_reason, 'sync.Mutex.Lock');
  assert.ok(fns[2]!.includes('main.handleC') && fns[2]!.includes('sync.(*Mutex).Lock'), fns[2]!.join(' '));
  storedChain = chain;

  // The same two hops from B's point of view, through `periscope links --server`.
  const links = await cliJson<Row[]>(
    [
      'links',
      '--server',
      server!.url,
      '--snapshot',
      String(snap.snapshotId),
      '--goroutine',
      `host-b:${b.pid}:${gB.id}`,
      '--format',
      'json',
    ],
    env(),
  );
  const ends = links
    .filter((r) => r.link === 'http_call')
    .map((r) => [r.direction, r.other_process_id, r.other_goroutine_id])
    .sort();
  assert.deepEqual(
    ends,
    [
      ['->', `host-c:${c.pid}`, gC.id],
      ['<-', `host-a:${a.pid}`, gA.id],
    ],
    JSON.stringify(links),
  );

  const grpcOwn = [grpcClient, grpcServer].map((t) =>
    snapshotProcess(t.pid, { pauseCapMs: TEST_PAUSE_CAP_MS }),
  );
  const pairs = await query(GRPC_SQL, snap.snapshotId);
  assert.deepEqual(
    pairs.map((r) => [
      r.link,
      r.client_host,
      r.client_goroutine,
      r.server_host,
      r.server_goroutine,
      r.method,
    ]),
    [
      [
        'grpc_awaiting_headers',
        'host-a',
        goroutineIn(grpcOwn[0]!, 'main.callUnary').id,
        'host-b',
        goroutineIn(grpcOwn[1]!, 'main.(*server).blockUnary').id,
        '/periscope.test.Pair/Block',
      ],
      [
        'grpc_awaiting_messages',
        'host-a',
        goroutineIn(grpcOwn[0]!, 'main.callStream').id,
        'host-b',
        goroutineIn(grpcOwn[1]!, 'main.(*server).blockStream').id,
        '/periscope.test.Pair/Chat',
      ],
    ],
  );

  // Searchable by its label.
  const found = await cli(
    [
      'query',
      '--server',
      server!.url,
      '--all',
      '--format',
      'json',
      `SELECT snapshot_id FROM snapshots WHERE labels->>'test' = 'fleet'`,
    ],
    env(),
  );
  assert.deepEqual(JSON.parse(found.stdout), [{ snapshot_id: snap.snapshotId }], found.stderr);
});

test('a process that exits between prepare and capture: PROCESS_MISSING for it, the others stored', async () => {
  const victim = await startTagged(exprsPath, [], tag, 'host-a');
  targets.push(victim);
  await waitForFleet(server!.url, userToken, {
    'host-a': [a.pid, grpcClient.pid, victim.pid],
    'host-b': [b.pid, grpcServer.pid],
    'host-c': [c.pid],
  });
  const held = agents.get('host-b')!;
  held.signal('SIGSTOP');
  let snapP: Promise<FleetSnapshot> | undefined;
  try {
    const since = performance.now();
    snapP = snapshotAll('test=fleet-exit');
    await prepared(agents.get('host-a')!, since); // the victim is prepared ...
    await victim.kill(); // ... and gone before the server can send capture (it waits for host-b)
    assert.match(await exited(victim.pid), /^(gone|Z|X)$/, 'the victim has exited');
  } finally {
    held.signal('SIGCONT');
  }
  const snap = await snapP;
  const results = byPid(snap);
  assert.equal(results.get(victim.pid)?.ok, false);
  assert.equal(
    results.get(victim.pid)?.error?.kind,
    'PROCESS_MISSING',
    JSON.stringify(results.get(victim.pid)),
  );
  for (const t of [a, b, c, grpcServer, grpcClient])
    assert.equal(results.get(t.pid)?.ok, true, JSON.stringify(snap.processes));

  const rows = await query(PROCESSES_SQL, snap.snapshotId);
  const victimRow = rows.find((r) => r.pid === victim.pid);
  assert.match(String(victimRow?.error), /^PROCESS_MISSING: /);
  assert.equal(victimRow?.hostname, 'host-a');
  assert.equal(rows.filter((r) => r.error === null && Number(r.goroutine_count) > 0).length, 5);
  // Nothing else lost: the links of that snapshot still follow the whole chain.
  const chain = await query(CHAIN_SQL, snap.snapshotId);
  assert.deepEqual(
    chain.map((r) => r.hostname),
    ['host-a', 'host-b', 'host-c'],
  );
});

test('an agent SIGKILLed mid-snapshot: AGENT_DISCONNECTED for its processes, the others stored, no target left stopped', async () => {
  // The previous test's victim has exited; until host-a's discovery has reported that, a
  // snapshot would still ask for it (PROCESS_MISSING, a second failed process).
  await waitForFleet(server!.url, userToken, {
    'host-a': [a.pid, grpcClient.pid],
    'host-b': [b.pid, grpcServer.pid],
    'host-c': [c.pid],
  });
  const held = agents.get('host-b')!;
  const doomed = agents.get('host-c')!;
  held.signal('SIGSTOP');
  let snapP: Promise<FleetSnapshot> | undefined;
  try {
    const since = performance.now();
    snapP = snapshotAll('test=fleet-agent-killed');
    await prepared(doomed, since); // host-c has prepared C and waits for the capture
    doomed.signal('SIGKILL');
    assert.equal(await doomed.exitStatus(), 'SIGKILL');
  } finally {
    held.signal('SIGCONT');
  }
  const snap = await snapP;
  const results = byPid(snap);
  assert.equal(results.get(c.pid)?.ok, false);
  assert.equal(results.get(c.pid)?.error?.kind, 'AGENT_DISCONNECTED', JSON.stringify(results.get(c.pid)));
  for (const t of [a, b, grpcServer, grpcClient])
    assert.equal(results.get(t.pid)?.ok, true, JSON.stringify(results.get(t.pid)));
  for (const t of targets.filter((x) => !x.exited()))
    assert.match(procState(t.pid), /^[RSD]$/, `pid ${t.pid} is running or sleeping, not stopped`);

  const rows = await query(PROCESSES_SQL, snap.snapshotId);
  assert.match(String(rows.find((r) => r.pid === c.pid)?.error), /^AGENT_DISCONNECTED: /);
  assert.equal(rows.filter((r) => r.error === null).length, 4);

  const listed = await cliJson<ListedAgent[]>(['agents', '--server', server!.url, '--json'], env());
  assert.deepEqual(listed.map((x) => [x.hostname, x.id, x.connected]).sort(), [
    ['host-a', agentIdOf('host-a'), true],
    ['host-b', agentIdOf('host-b'), true],
    ['host-c', agentIdOf('host-c'), false],
  ]);
  // The earlier snapshots are all still there.
  const all = await cliJson<Row[]>(
    [
      'query',
      '--server',
      server!.url,
      '--all',
      '--format',
      'json',
      `SELECT labels->>'test' AS test, process_count, failed_processes FROM snapshots ORDER BY snapshot_id`,
    ],
    env(),
  );
  assert.deepEqual(all, [
    { test: 'fleet', process_count: 5, failed_processes: 0 },
    { test: 'fleet-exit', process_count: 5, failed_processes: 1 },
    { test: 'fleet-agent-killed', process_count: 4, failed_processes: 1 },
  ]);
});

test("Go's own goroutine dump (SIGQUIT) names the goroutines the stored chain followed", async (t) => {
  if (storedChain.length !== 3) return t.skip('the first test did not store a chain');
  // Once one of them is gone, the others' calls would return: stop all three, queue the
  // SIGQUIT, then let them run: each takes its signal (and Go freezes the world to dump)
  // before any of its goroutines runs again.
  for (const x of [a, b, c]) process.kill(x.pid, 'SIGSTOP');
  for (const x of [a, b, c]) process.kill(x.pid, 'SIGQUIT');
  for (const x of [a, b, c]) process.kill(x.pid, 'SIGCONT');
  const dumps = await Promise.all(
    [a, b, c].map(async (x) => {
      await x.exitStatus();
      const text = x.lines
        .filter((l) => l.text.startsWith('stderr: '))
        .map((l) => l.text.slice('stderr: '.length))
        .join('\n');
      return parseGoroutineDump(text);
    }),
  );
  const find = (i: number, fn: string) => {
    const gs = dumps[i]!.filter((g) => g.frames.some((f) => f.function === fn));
    assert.equal(gs.length, 1, `one goroutine in ${fn}`);
    return gs[0]!;
  };
  const dA = find(0, 'main.callB');
  const dB = find(1, 'main.handleB');
  const dC = find(2, 'main.handleC');
  assert.equal(dC.state, 'sync.Mutex.Lock');
  assert.deepEqual(
    storedChain.map((r) => r.goroutine_id),
    [dA.id, dB.id, dC.id],
  );
});
