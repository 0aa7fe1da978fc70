// `npm start` end to end, as a user runs it: `npm start` in its own process group (a shell's
// foreground job) runs scripts/start.js (server, agent, the demo fleet under load, the starter
// spec, a first snapshot) in a throw-away directory on a free port. The test asks the server
// the demo's questions with the SQL the script prints (demo-guide.js) and checks that the
// answers name the stuck request, its user, the goroutine holding the lock and the failing
// user; runs every `npx periscope` command of README.md as printed and compares the shape of
// its output with the README's; then presses Ctrl-C (SIGINT to the process group) and checks
// that nothing it started is left running or stopped by a tracer.
// (The other ways to stop it are in signals.test.ts.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  type DemoInfo,
  type DemoRun,
  demoProcesses,
  killDemo,
  startDemo,
  tracedDemoProcesses,
  waitDemoGone,
} from '../../support/demo-run.js';
import { ROOT } from '../../support/go-fixtures.js';
import { checkoutPaths, outputShape, readmeCommands } from '../../support/readme-commands.js';

interface Question {
  readonly id: string;
  readonly question: string;
  readonly sql: string;
}
type Row = Record<string, unknown>;

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'periscope-demo-'));
let demo: DemoRun | undefined;
let output = '';
let probeCommands: (url: string) => readonly string[];
let info: DemoInfo;
let questions: readonly Question[];

/** Runs SQL on the server's latest snapshot (POST /v1/query) and returns the rows as objects. */
async function askSql(sql: string): Promise<Row[]> {
  const res = await fetch(`${info.server}/v1/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  const body = (await res.json()) as { columns: { name: string }[]; rows: unknown[][]; warnings: string[] };
  assert.equal(res.status, 200, `${sql}: ${JSON.stringify(body)}`);
  assert.deepEqual(body.warnings, [], `${sql}: warnings`);
  return body.rows.map((r) => Object.fromEntries(body.columns.map((c, i) => [c.name, r[i]])));
}

/** Asks one of the questions npm start prints, with its SQL. */
async function ask(id: string): Promise<Row[]> {
  const q = questions.find((x) => x.id === id);
  assert.ok(q, `no question ${id}`);
  return askSql(q.sql);
}

before(async () => {
  ({ QUESTIONS: questions, probeCommands } = (await import(
    pathToFileURL(join(ROOT, 'scripts', 'demo-guide.js')).href
  )) as {
    QUESTIONS: readonly Question[];
    probeCommands: (url: string) => readonly string[];
  });
  demo = await startDemo(dir, ['--stuck-after', '2s', '--stuck-for', '5m']);
  output = demo.output();
  info = demo.info;
});

after(() => {
  killDemo(dir);
  rmSync(dir, { recursive: true, force: true });
});

test('npm start prints the server, a user token and the commands of every question', () => {
  assert.match(output, new RegExp(`server ${info.server}`));
  assert.match(output, /the agent reports all four demo processes/);
  assert.match(output, new RegExp(`export PERISCOPE_TOKEN=${info.userToken}`));
  for (const q of questions) assert.ok(output.includes(`--server ${info.server} "${q.sql}"`), q.id);
  assert.match(output, /snapshot \d+: 4 processes/);
  // The probe walkthrough as printed, and as the README shows it (whose commands the README
  // test below runs against this demo).
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const c of probeCommands(info.server)) assert.ok(output.includes(c), `npm start does not print: ${c}`);
  for (const c of probeCommands('http://127.0.0.1:7070'))
    assert.ok(readme.includes(`$ ${c}`), `README lacks: ${c}`);
});

test('the answers name the stuck request, its user, the lock holder and the failing user', async () => {
  // In flight: dave's order of the stuck item is the oldest request, in all four services.
  const inFlight = await ask('in-flight');
  const stuck = inFlight.filter((r) => r.item === 'sku-13');
  assert.deepEqual(stuck.map((r) => r.service).sort(), ['gateway', 'inventory', 'loadgen', 'orders']);
  const stuckId = stuck[0]?.request_id;
  assert.ok(stuck.every((r) => r.user_id === 'dave' && r.request_id === stuckId));
  const perUser = await ask('per-user');
  const daves = perUser.find((r) => r.user_id === 'dave');
  assert.equal(daves?.oldest_request, stuckId);
  assert.ok(Number(daves?.oldest_ms) >= 1000, `stuck for ${daves?.oldest_ms} ms`);

  // The lock: every waiter on sync.Mutex.Lock is held up by the stuck request's goroutine.
  const waits = await ask('lock');
  assert.ok(waits.length >= 1, 'nobody waits for the lock');
  const holder = inFlight.find((r) => r.request_id === stuckId && r.service === 'inventory');
  assert.ok(holder);
  for (const w of waits) {
    assert.equal(w.holder_request, stuckId);
    assert.equal(w.holder_user, 'dave');
    assert.equal(w.holder_item, 'sku-13');
    assert.equal(w.holder_function, 'main.(*inventoryServer).writeLedger');
    assert.notEqual(w.waiting_user, 'dave');
  }
  assert.deepEqual(
    await askSql(
      `SELECT goroutine_id FROM in_flight_requests WHERE service = 'inventory' AND request_id = '${stuckId}'`,
    ),
    [{ goroutine_id: waits[0]?.holder_goroutine }],
  );

  // The oldest request: dave's, asleep in writeLedger with the lock held. (Go's mutex lets a
  // newcomer take the lock before a woken waiter, so once in a while a request that was
  // already waiting when dave's took the lock is older: then it waits for dave's.)
  const waiting = new Set(waits.map((w) => w.waiting_request));
  const oldest = perUser[0]?.oldest_request;
  assert.ok(
    oldest === stuckId || waiting.has(oldest),
    `the oldest request ${oldest} is neither stuck nor waiting`,
  );
  const doing = await ask('stuck');
  const inv = doing.find((r) => r.service === 'inventory');
  assert.equal(inv?.request_id, oldest);
  const stack = await ask('stuck-stack');
  if (oldest === stuckId) {
    assert.equal(inv?.wait_reason, 'sleep');
    assert.equal(inv?.app_function, 'main.(*inventoryServer).writeLedger');
    const ledger = stack.find((r) => r.function === 'main.(*inventoryServer).writeLedger');
    assert.match(String(ledger?.captured), new RegExp(`request_id="${stuckId}".*stuck_item="sku-13"`));
  } else {
    assert.equal(inv?.wait_reason, 'sync.Mutex.Lock');
    assert.ok(stack.some((r) => r.function === 'main.(*inventoryServer).reserve'));
  }
  const holderStack = await ask('holder-stack');
  assert.ok(holderStack.some((r) => r.function === 'time.Sleep'));

  // Through the links: alice's request goes loadgen -> gateway -> orders -> inventory.
  const path = await ask('path');
  assert.deepEqual(
    path.map((r) => r.program),
    ['loadgen', 'gateway', 'orders', 'inventory'],
  );
  assert.deepEqual(
    path.map((r) => r.link),
    [null, 'http_call', 'grpc_awaiting_headers', 'grpc_awaiting_headers'],
  );
  assert.equal(path[3]?.wait_reason, 'sync.Mutex.Lock');

  // Failures: all of carol's.
  const failures = await ask('failures');
  assert.deepEqual(
    failures.map((r) => r.user_id),
    ['carol'],
  );
  assert.ok(Number(failures[0]?.failures) >= 1);
  assert.match(String(failures[0]?.last_error), /no billing account for user "carol"/);
});

test('every npx periscope command of README.md works as printed; its output has the README’s shape', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const commands = readmeCommands(readme);
  assert.ok(commands.length >= 10, `only ${commands.length} commands found in README.md`);
  // The README's server is npm start's default address; this demo runs on a free port.
  const urls = new Set(commands.flatMap((c) => [...c.command.matchAll(/--server (\S+)/g)].map((m) => m[1])));
  assert.deepEqual([...urls], ['http://127.0.0.1:7070']);
  const runOne = async (c: (typeof commands)[number]): Promise<void> => {
    const command = c.command.replaceAll('http://127.0.0.1:7070', info.server);
    const where = `README.md:${c.line}: ${c.command}`;
    // Request ids and snapshot ids differ from run to run (and a second npm start keeps the
    // first run's snapshots): a command that names one works only in the run it was copied from.
    assert.doesNotMatch(c.command, /req-\d+|--snapshot \d+/, `${where}: names a value of one run`);
    const r = await run('sh', ['-c', command], {
      cwd: ROOT,
      env: { ...process.env, PERISCOPE_TOKEN: info.userToken },
      timeout: 60_000,
      maxBuffer: 16 << 20,
    }).catch((e: { code?: number; stdout?: string; stderr?: string }) =>
      assert.fail(`${where}\nexit ${e.code}: ${e.stderr}${e.stdout}`),
    );
    assert.doesNotMatch(r.stderr, /warning/i, `${where}\n${r.stderr}`);
    if (c.shown === undefined) return;
    const want = outputShape(c.shown);
    const got = outputShape(r.stdout.split('\n'));
    const both = `${where}\nREADME:\n${c.shown.join('\n')}\nnow:\n${r.stdout}`;
    assert.deepEqual(got.columns, want.columns, `columns differ: ${both}`);
    if (want.columns === undefined) assert.equal(got.rows, want.rows, `lines differ: ${both}`);
    else if (want.rows > 0) assert.ok(got.rows > 0, `no rows: ${both}`);
  };
  // Queries first, three at a time; then, one after the other in the README's order, the
  // commands that add a snapshot or a spec version and those from a `probe add` to its
  // `probe rm` (its events and its table exist only after it was added).
  const inProbe = new Set<(typeof commands)[number]>();
  let probing = false;
  for (const c of commands) {
    if (/periscope probe add\b/.test(c.command)) probing = true;
    if (probing) inProbe.add(c);
    if (/periscope probe rm\b/.test(c.command)) probing = false;
  }
  const changes = (c: (typeof commands)[number]): boolean =>
    inProbe.has(c) || /periscope (snapshot|spec set)\b/.test(c.command);
  assert.ok(inProbe.size >= 3, 'README.md walks through a probe on the demo');
  const queries = commands.filter((c) => !changes(c));
  for (let i = 0; i < queries.length; i += 3) await Promise.all(queries.slice(i, i + 3).map(runOne));
  for (const c of commands.filter(changes)) await runOne(c);
});

test('README.md shows no absolute path of a checkout', () => {
  assert.deepEqual(checkoutPaths(readFileSync(join(ROOT, 'README.md'), 'utf8'), ROOT), []);
});

test('Ctrl-C (SIGINT to npm start’s process group) stops everything, nothing left in tracing stop', async () => {
  assert.ok(demo?.npm.pid);
  assert.ok(demoProcesses(dir).length >= 7, 'the demo is not running');
  process.kill(-demo.npm.pid, 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    demo.exited,
    new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), 60_000);
    }),
  ]);
  clearTimeout(timer);
  assert.deepEqual(await waitDemoGone(dir, 30_000), [], demo.output());
  assert.deepEqual(exited, { code: 0, signal: null }, demo.output());
  await demo.closed; // the script's last lines, read by now
  assert.match(demo.output(), /npm start: stopped; nothing is left running/);
  for (const [name, pid] of Object.entries(info.pids))
    assert.ok(!demoProcesses(dir).includes(pid), `${name} (pid ${pid}) is still running`);
  assert.deepEqual(tracedDemoProcesses(dir), [], 'processes in tracing stop');
});
