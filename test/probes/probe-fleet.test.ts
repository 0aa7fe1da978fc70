/**
 * Probes end to end, as a user has them: a real `periscope server`, a real `periscope agent`
 * and testdata/probe-values, probes added and removed with the CLI. Events arrive in SQL with
 * the values each call had (every argument of main.handle's i-th call is a function of i),
 * with exact counts; conditions and rate limits show in the counts; a process started after
 * the probe was added gets it; the time to live removes a probe and `probe rm` removes one,
 * and with it the kernel's breakpoint (the code bytes are the binary's again); a probe that
 * costs a spinning process more than its CPU share is switched off and the user told; a
 * SIGKILLed agent leaves no program, link or breakpoint of ours and nothing in tracefs, and
 * the next agent waits before placing probes again. `events --follow` streams new events,
 * events join a snapshot's goroutines, a probe that does not resolve in a binary is reported
 * for it, and an agent on tracefs runs the same probes as far as tracefs can, saying what not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import type { GoBinary } from '../../src/gobinary/go-binary.js';
import { linkExists, programExists } from '../../src/probes/bpf/info.js';
import { groupOf, instanceDir, ourEvents, writeUprobeEvents } from '../../src/probes/tracefs/tracefs.js';
import {
  CLI,
  cli,
  cliJson,
  createToken,
  fleetTag,
  type Proc,
  type ServerProc,
  sleep,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../../support/fleet.js';
import { fixtureBinary } from '../../support/probe-fixture.js';
import type { Target } from '../../support/target.js';
import { readTarget } from './probe-support.js';

type Row = Record<string, unknown>;
const INT3 = 0xcc;
const HOST = 'host-p';
const USERS = ['alice', 'bob', 'carol'];

const tag = fleetTag();
let dataDir = '';
let runtimeDir = '';
let server: ServerProc | undefined;
let agent: Proc | undefined;
let agentToken = '';
let userToken = '';
let path = '';
let bin: GoBinary;
const targets: Target[] = [];

const env = () => ({ PERISCOPE_TOKEN: userToken, PERISCOPE_SERVER: server!.url });
const query = (sql: string) => cliJson<Row[]>(['query', '--format', 'json', sql], env());
const startAgent = (more: string[] = []) =>
  startAgentProc(server!.url, agentToken, HOST, tag, [
    '--runtime-dir',
    runtimeDir,
    '--probe-crash-wait',
    '2',
    ...more,
  ]);

async function command(t: Target, line: string): Promise<string> {
  const since = performance.now();
  t.child.stdin!.write(`${line}\n`);
  return (await t.waitFor(/^done /, 30_000, since)).text;
}

/** Polls `sql` until its rows are `want` (deep equal) or `ms` pass; returns the last rows. */
async function until(sql: string, ok: (rows: Row[]) => boolean, ms = 15_000): Promise<Row[]> {
  const end = Date.now() + ms;
  let rows = await query(sql);
  while (!ok(rows) && Date.now() < end) {
    await sleep(300);
    rows = await query(sql);
  }
  return rows;
}

/** Whether process `pid`'s code of `fn` holds a breakpoint (a uprobe shows as INT3 in /proc/PID/mem). */
function hasBreakpoint(pid: number, fn: string): boolean {
  const f = bin.symtab.pcln.funcByName(fn)!;
  const now = readTarget(pid, f.entry, f.end - f.entry);
  const file = Buffer.from(bin.elf.readAt(f.entry, f.end - f.entry));
  return now.some((b, i) => b === INT3 && file[i] !== INT3);
}

/** Whether process `pid`'s code of `fn` is byte for byte the binary's. */
function codeIsBinarys(pid: number, fn: string): boolean {
  const f = bin.symtab.pcln.funcByName(fn)!;
  return readTarget(pid, f.entry, f.end - f.entry).equals(
    Buffer.from(bin.elf.readAt(f.entry, f.end - f.entry)),
  );
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(50);
  return cond();
}

before(async () => {
  dataDir = tempDir('periscope-probes-');
  runtimeDir = join(dataDir, 'run');
  bin = await fixtureBinary();
  path = bin.path;
  userToken = await createToken(dataDir, 'user', 'probe-user');
  agentToken = await createToken(dataDir, 'agent', 'probe-agent');
  server = await startServerProc(dataDir);
  agent = startAgent();
  targets.push(await startTagged(path, [], tag, HOST));
  await waitForFleet(server.url, userToken, { [HOST]: [targets[0]!.pid] });
  const spec = join(dataDir, 'spec.yaml');
  writeFileSync(spec, `programs:\n  - name: pv\n    match: { env.FLEET_AGENT: "^${tag}:${HOST}$" }\n`);
  const set = await cli(['spec', 'set', spec], env());
  assert.equal(set.code, 0, set.stderr);
});

after(async () => {
  await agent?.stop();
  for (const t of targets) await t.kill();
  await server?.proc.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('probe add: events arrive in SQL with each call’s values; conditions and rate limits show in the counts', async () => {
  const add = (args: string[]) =>
    cli(['probe', 'add', ...args, '--program', 'pv', '--function', 'main.handle'], env());
  for (const args of [
    [
      'calls',
      '--capture',
      'user',
      '--capture',
      'n',
      '--capture',
      'id=req.ID',
      '--capture',
      'tags=len(req.Tags)',
    ],
    ['big', '--capture', 'n', '--if', 'n >= 50'],
    ['limited', '--capture', 'n', '--rate', '1', '--burst', '5'],
  ]) {
    const r = await add(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^probe ${args[0]} added: spec version \\d+`));
  }
  const t = targets[0]!;
  await agent!.waitFor(new RegExp(`attached .*limited.* to process ${t.pid}`), 30_000);
  assert.match(await command(t, 'handle 70'), /^done handle 70/);
  const rows = await until(
    'SELECT n, "user", id, tags, process_id FROM calls ORDER BY n',
    (r) => r.length >= 70,
  );
  assert.deepEqual(
    rows,
    Array.from({ length: 70 }, (_, i) => ({
      n: i,
      user: USERS[i % 3],
      id: i * 7,
      tags: i % 4,
      process_id: `${HOST}:${t.pid}`,
    })),
  );
  const counts = await until(
    'SELECT probe, sum(hits)::INT AS hits, sum(events)::INT AS events, sum(rejected)::INT AS rejected, sum(rate_limited)::INT AS rate_limited FROM probe_counts GROUP BY probe ORDER BY probe',
    (r) => r.length === 3 && r.every((x) => x.hits === 70),
  );
  assert.deepEqual(counts, [
    { probe: 'big', hits: 70, events: 20, rejected: 50, rate_limited: 0 },
    { probe: 'calls', hits: 70, events: 70, rejected: 0, rate_limited: 0 },
    { probe: 'limited', hits: 70, events: 5, rejected: 0, rate_limited: 65 },
  ]);
  assert.deepEqual(
    await query('SELECT n FROM big ORDER BY n'),
    Array.from({ length: 20 }, (_, i) => ({ n: 50 + i })),
  );
  const list = await cliJson<{
    probes: { name: string; totals: { hits: number }; binaries: { attached: string[] }[] }[];
  }>(['probe', 'list', '--json'], env());
  assert.deepEqual(
    list.probes.map((p) => [p.name, p.binaries.flatMap((b) => b.attached)]),
    ['calls', 'big', 'limited'].map((n) => [n, [`${HOST}:${t.pid}`]]),
  );
  const ev = await cli(['events', '--probe', 'calls', '--last', '2'], env());
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(
    ev.stdout.split('\n')[1]!,
    /calls {2}host-p:\d+ {2}g\d+ {2}main\.handle {2}user="alice" {2}n=69 {2}id=483 {2}tags=1$/,
  );
});

test('a process started after the probe was added gets it', async () => {
  const late = await startTagged(path, [], tag, HOST);
  targets.push(late);
  await agent!.waitFor(new RegExp(`attached .*calls.* to process ${late.pid}`), 30_000);
  // `events --follow` prints the new events as they are stored.
  const follow = spawn(
    process.execPath,
    [CLI, 'events', '--probe', 'calls', '--follow', '--json', '--last', '1'],
    {
      env: { ...process.env, ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const followed: { process: string; values: { n: number } }[] = [];
  createInterface({ input: follow.stdout }).on('line', (l) => followed.push(JSON.parse(l)));
  try {
    assert.ok(await waitFor(() => followed.length >= 1, 20_000), 'events --follow printed the latest event');
    await command(late, 'handle 10');
    assert.ok(await waitFor(() => followed.length >= 11, 20_000), `followed ${followed.length - 1} of 10`);
  } finally {
    follow.kill();
  }
  assert.deepEqual(
    followed.slice(1).map((e) => [e.process, e.values.n]),
    Array.from({ length: 10 }, (_, i) => [`${HOST}:${late.pid}`, i]),
  );
  const rows = await until(
    `SELECT count(*)::INT AS n FROM calls WHERE process_id = '${HOST}:${late.pid}'`,
    (r) => r[0]?.n === 10,
  );
  assert.deepEqual(rows, [{ n: 10 }]);
  // Events join snapshot tables on process and goroutine: the calls ran on the goroutine that
  // reads the fixture's commands, which a snapshot finds waiting for the next one.
  const snap = await cli(['snapshot', '--select', 'program=pv'], env());
  assert.equal(snap.code, 0, snap.stderr);
  assert.deepEqual(
    await query(
      `SELECT count(*)::INT AS n FROM calls c JOIN goroutines g USING (process_id, goroutine_id) WHERE c.process_id = '${HOST}:${late.pid}'`,
    ),
    [{ n: 10 }],
  );
  // --follow --count N: the latest event, then new ones until N were printed; then it exits.
  const counted = spawn(
    process.execPath,
    [CLI, 'events', '--probe', 'calls', '--follow', '--count', '3', '--json', '--last', '1'],
    { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: { values: { n: number } }[] = [];
  createInterface({ input: counted.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
  const exit = new Promise<number | null>((resolve) => counted.on('exit', (code) => resolve(code)));
  try {
    assert.ok(await waitFor(() => lines.length >= 1, 20_000), 'events --count printed the latest event');
    await command(late, 'handle 4');
    assert.equal(await Promise.race([exit, sleep(20_000).then(() => 'still running')]), 0);
  } finally {
    counted.kill();
  }
  assert.deepEqual(
    lines.map((e) => e.values.n),
    [9, 0, 1],
  );
});

test('probe rm removes the probe: the code bytes are the binary’s again and no event follows', async () => {
  for (const name of ['big', 'limited']) {
    const r = await cli(['probe', 'rm', name], env());
    assert.equal(r.code, 0, r.stderr);
  }
  const r = await cli(['probe', 'rm', 'calls'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^probe calls removed: spec version \d+/);
  for (const t of targets)
    assert.ok(
      await waitFor(() => codeIsBinarys(t.pid, 'main.handle')),
      `process ${t.pid}: main.handle restored`,
    );
  const before = await query('SELECT count(*)::INT AS n FROM probe_events');
  await command(targets[0]!, 'handle 5');
  await sleep(1500);
  assert.deepEqual(await query('SELECT count(*)::INT AS n FROM probe_events'), before);
});

test('durations land in probe_durations; the time to live removes the probe', async () => {
  const t = targets[0]!;
  const r = await cli(
    ['probe', 'add', 'timed', '--program', 'pv', '--function', 'main.sleepy', '--duration', '--ttl', '10s'],
    env(),
  );
  assert.equal(r.code, 0, r.stderr);
  const since = performance.now();
  await agent!.waitFor(new RegExp(`attached .*timed.* to process ${t.pid}`), 30_000);
  assert.match(await command(t, 'sleepy 3 10'), /^done sleepy 3/);
  const rows = await until(
    "SELECT sum(count)::INT AS n, min(lt_ns)::BIGINT AS lt FROM probe_durations WHERE probe = 'timed'",
    (x) => x[0]?.n === 3,
  );
  assert.equal(rows[0]?.n, 3);
  // 10 ms sleeps: every one in a log2 bucket whose upper bound is above 10 ms.
  assert.ok(Number(rows[0]?.lt) > 10_000_000, `bucket bound ${rows[0]?.lt}`);
  await agent!.waitFor(/timed: its time to live ended; removing it/, 30_000, since);
  assert.ok(await waitFor(() => codeIsBinarys(t.pid, 'main.sleepy')), 'main.sleepy restored');
  const list = await cliJson<{ probes: { name: string; expired: boolean }[] }>(
    ['probe', 'list', '--json'],
    env(),
  );
  assert.deepEqual(
    list.probes.filter((p) => p.name === 'timed').map((p) => p.expired),
    [true],
  );
  assert.equal((await cli(['probe', 'rm', 'timed'], env())).code, 0);
});

test('the circuit breaker switches off a probe that costs a process more than its CPU share, and says so', async () => {
  const t = targets[0]!;
  const r = await cli(
    [
      'probe',
      'add',
      'hot',
      '--program',
      'pv',
      '--function',
      'main.small',
      '--capture',
      'a',
      '--max-cpu',
      '1%',
    ],
    env(),
  );
  assert.equal(r.code, 0, r.stderr);
  await agent!.waitFor(new RegExp(`attached .*hot.* to process ${t.pid}`), 30_000);
  assert.ok(hasBreakpoint(t.pid, 'main.small'));
  const since = performance.now();
  assert.match(await command(t, 'spin 6000'), /^done spin/);
  await agent!.waitFor(/hot switched off on process \d+: it cost the process/, 10_000, since);
  assert.ok(await waitFor(() => codeIsBinarys(t.pid, 'main.small')), 'main.small restored');
  const list = await cli(['probe', 'list'], env());
  assert.match(
    list.stdout,
    new RegExp(`hot: switched off on ${HOST}:${t.pid}: it cost the process [\\d.]+% of its CPU time`),
  );
  const notices = await until(
    "SELECT kind, process_id FROM probe_notices WHERE probe = 'hot'",
    (x) => x.length > 0,
  );
  assert.deepEqual(notices, [{ kind: 'circuit-breaker', process_id: `${HOST}:${t.pid}` }]);
  assert.equal((await cli(['probe', 'rm', 'hot'], env())).code, 0);
});

test('a probe that does not resolve in a binary is refused, and when forced, probe list says where and why', async () => {
  const args = ['probe', 'add', 'gone', '--program', 'pv', '--function', 'main.nosuch', '--capture', 'n'];
  const refused = await cli(args, env());
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /has no function main\.nosuch/);
  const forced = await cli([...args, '--force'], env());
  assert.equal(forced.code, 0, forced.stderr);
  let text = '';
  const end = Date.now() + 30_000;
  while (!/gone: not on /.test(text) && Date.now() < end) {
    await sleep(300);
    text = (await cli(['probe', 'list'], env())).stdout;
  }
  assert.match(text, /gone: not on \S+ .*has no function main\.nosuch/);
  assert.equal((await cli(['probe', 'rm', 'gone'], env())).code, 0);
});

test('a SIGKILLed agent leaves no program, link, breakpoint or tracefs event of ours; the next agent waits before placing probes', async () => {
  const t = targets[0]!;
  const r = await cli(
    ['probe', 'add', 'crash', '--program', 'pv', '--function', 'main.handle', '--capture', 'n'],
    env(),
  );
  assert.equal(r.code, 0, r.stderr);
  const line = await agent!.waitFor(
    new RegExp(`attached .*crash.* to process ${t.pid} \\(programs ([\\d,]+), links ([\\d,-]+)\\)`),
    30_000,
  );
  const m = /programs ([\d,]+), links ([\d,-]+)/.exec(line.text)!;
  const programs = m[1]!.split(',').map(Number);
  const links = m[2] === '-' ? [] : m[2]!.split(',').map(Number);
  assert.ok(programs.length > 0 && programs.every(programExists), `programs ${programs} exist`);
  assert.ok(links.every(linkExists), `links ${links} exist`);
  assert.ok(hasBreakpoint(t.pid, 'main.handle'), 'the probe is in the code');
  agent!.signal('SIGKILL');
  await agent!.exitStatus();
  assert.ok(
    await waitFor(() => !programs.some(programExists) && !links.some(linkExists)),
    'no program or link of the killed agent remains',
  );
  assert.ok(await waitFor(() => codeIsBinarys(t.pid, 'main.handle')), 'main.handle restored');
  assert.deepEqual(ourEvents(agent!.pid), [], 'no tracefs event of the killed agent');
  assert.match(await command(t, 'handle 3'), /^done handle 3/, 'the target runs on');
  const since = performance.now();
  agent = startAgent(['--probe-max-event-bytes', '256', '--probe-max-events', '20']);
  await agent.waitFor(
    /stopped without removing them .*waiting 2 s before placing probes again/,
    30_000,
    since,
  );
  await agent.waitFor(new RegExp(`attached .*crash.* to process ${t.pid}`), 30_000, since);
  // This agent sends at most 20 events a second per process: the rest are counted as dropped.
  assert.match(await command(t, 'handle 50'), /^done handle 50/);
  const sent = await until(
    "SELECT (SELECT count(*) FROM crash)::INT AS stored, (SELECT sum(agent_dropped) FROM probe_counts WHERE probe = 'crash')::INT AS dropped",
    (r) => Number(r[0]?.stored) + Number(r[0]?.dropped) >= 50,
  );
  const { stored, dropped } = sent[0] as { stored: number; dropped: number };
  assert.equal(stored + dropped, 50, `stored ${stored} + dropped ${dropped}`);
  assert.ok(stored >= 20 && stored <= 22, `stored ${stored}: the budget of 20 a second`);
  // This agent takes events of at most 256 bytes: a probe with larger ones is refused, with the sizes.
  const big = await cli(
    [
      'probe',
      'add',
      'wide',
      '--program',
      'pv',
      '--function',
      'main.handle',
      '--capture',
      'req',
      '--capture',
      'user',
    ],
    env(),
  );
  assert.equal(big.code, 0, big.stderr);
  let text = '';
  const end = Date.now() + 30_000;
  while (!/wide: not on /.test(text) && Date.now() < end) {
    await sleep(300);
    text = (await cli(['probe', 'list'], env())).stdout;
  }
  assert.match(
    text,
    /wide: not on \S+ .*its events are \d+ bytes, over the agent's limit of 256 bytes per event/,
  );
  assert.equal((await cli(['probe', 'rm', 'wide'], env())).code, 0);
  const rm = await cli(['probe', 'rm', 'crash'], env());
  assert.equal(rm.code, 0, rm.stderr);
  assert.ok(await waitFor(() => codeIsBinarys(t.pid, 'main.handle')), 'main.handle restored after rm');
});

test('where eBPF is not used, probes run on tracefs: stale events of ours are removed at start, names are captured, what tracefs cannot do is said', async (ctx) => {
  const t = targets[0]!;
  await agent!.stop();
  // What a crashed tracefs agent leaves: an event in its group (defined, not enabled). A pid
  // that is not running (above the kernel's pid_max) owns it. A running process's group (this
  // test process stands for another agent on the machine) is left alone.
  const f = bin.symtab.pcln.funcByName('main.handle')!;
  const off = bin.elf.addressToFileOffset(f.entry)!;
  const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
  const site = `${path}:0x${Number(off).toString(16)}`;
  writeUprobeEvents(`p:${groupOf()}/another_agents ${site}`);
  let since = performance.now();
  try {
    // Every agent removes a dead agent's leftovers when it starts, also one that another test
    // file running side by side starts meanwhile: then this agent finds nothing to remove (the
    // leftover is gone all the same). So the leftover is made again and this agent started
    // again, up to 5 times, until it is this agent that removed it.
    for (let attempt = 1; ; attempt++) {
      writeUprobeEvents(`p:${groupOf(deadPid)}/stale_leftover ${site}`);
      assert.ok(ourEvents(deadPid).includes('stale_leftover'));
      since = performance.now();
      agent = startAgentProc(server!.url, agentToken, HOST, tag, [
        '--runtime-dir',
        runtimeDir,
        '--probes',
        'tracefs',
      ]);
      const said = await agent.waitFor(/probes: tracefs: /, 30_000, since);
      assert.deepEqual(ourEvents(deadPid), [], `the leftover is gone (${said.text})`);
      if (/removed [1-9]\d* tracefs probe\(s\) a previous agent left/.test(said.text)) {
        ctx.diagnostic(`the leftover removed by this agent in attempt ${attempt}`);
        break;
      }
      assert.ok(attempt < 5, `another agent removed the leftover first, ${attempt} times: ${said.text}`);
      await agent.stop(); // still starting: it may die of the SIGTERM, with nothing placed yet
    }
    assert.deepEqual(ourEvents(), ['another_agents'], "a running agent's events are not touched");
  } finally {
    writeUprobeEvents(`-:${groupOf()}/another_agents`);
  }
  const add = (args: string[]) =>
    cli(['probe', 'add', ...args, '--program', 'pv', '--function', 'main.handle'], env());
  const tfCaptures = ['user', 'n', 'id=req.ID', 'x=req.Where.X', 'who=req.User', 'l=len(xs)'];
  assert.equal((await add(['tf', ...tfCaptures.flatMap((c) => ['--capture', c])])).code, 0);
  assert.equal((await add(['tfc', '--capture', 'n', '--if', 'n > 3'])).code, 0);
  await agent.waitFor(new RegExp(`attached .*tf.* to process ${t.pid}`), 30_000, since);
  // tfc's refusal ends the re-attachment its arrival caused (calls during it are not seen).
  await agent.waitFor(new RegExp(`tfc not attached to process ${t.pid}`), 30_000, since);
  assert.ok(hasBreakpoint(t.pid, 'main.handle'));
  assert.match(await command(t, 'handle 12'), /^done handle 12/);
  const rows = await until(
    // In the order of the calls (n = 0..11, one after another). Not ORDER BY n: in full-suite
    // runs the column was sometimes typed JSON, which sorts 10 before 2 (noted, not yet found).
    `SELECT n, "user", id, x, who, l FROM tf WHERE process_id = '${HOST}:${t.pid}' ORDER BY seq`,
    (r) => r.length >= 12,
  );
  // Fields through pointers: req.Where is nil when i % 5 == 0 (an error, as on eBPF).
  assert.deepEqual(
    rows,
    Array.from({ length: 12 }, (_, i) => ({
      n: i,
      user: USERS[i % 3],
      id: i * 7,
      x: i % 5 === 0 ? null : i,
      who: USERS[i % 3],
      l: null,
    })),
  );
  const errs = await query(
    "SELECT errors->>'req.Where.X' AS nil, errors->>'len(xs)' AS e, goroutine_id > 0 AS g FROM probe_events WHERE probe = 'tf' ORDER BY seq LIMIT 1",
  );
  assert.equal(errs[0]?.nil, 'nil pointer dereference');
  assert.match(String(errs[0]?.e), /tracefs can only capture a variable, its fields/);
  assert.equal(errs[0]?.g, true);
  const list = await cli(['probe', 'list'], env());
  assert.match(list.stdout, /tfc: not on .*tracefs uprobe_events here \(no eBPF\), which has no conditions/);
  assert.match(list.stdout, /probes run on tracefs/);
  const agentPid = agent.pid;
  assert.ok(ourEvents(agentPid).length > 0);
  assert.ok(existsSync(instanceDir(agentPid)), 'the agent reads its events in its own instance');
  // tracefs probes are tied to no fd: the agent removes them before it exits.
  assert.equal(await agent.stop(), 0);
  assert.deepEqual(ourEvents(agentPid), [], 'no tracefs event of the agent left after it exits');
  assert.ok(!existsSync(instanceDir(agentPid)), 'nor its tracing instance');
  for (const x of targets) assert.ok(codeIsBinarys(x.pid, 'main.handle'), `process ${x.pid}: restored`);
  for (const name of ['tf', 'tfc']) assert.equal((await cli(['probe', 'rm', name], env())).code, 0);
});
