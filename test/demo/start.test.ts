// `npm start` end to end: runs scripts/start.js (server, agent, the demo fleet under load,
// the starter spec, a first snapshot) in a throw-away directory on a free port, asks the
// server the demo's questions with the SQL the script prints (demo-guide.js), checks that
// the answers name the stuck request, its user, the goroutine holding the lock and the
// failing user, then stops it with SIGINT and checks that nothing it started is left running
// or stopped by a tracer.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ROOT } from '../../support/go-fixtures.js';

interface Question {
  readonly id: string;
  readonly question: string;
  readonly sql: string;
}
interface DemoInfo {
  readonly server: string;
  readonly userToken: string;
  readonly snapshotId: number;
  readonly pids: Record<string, number>;
}
type Row = Record<string, unknown>;

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'periscope-demo-'));
let start: ChildProcess | undefined;
let output = '';
let info: DemoInfo;
let questions: readonly Question[];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose executable lives under `prefix`, and every process in tracing stop. */
function leftovers(prefix: string): { ours: number[]; traced: number[] } {
  const ours: number[] = [];
  const traced: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/exe`).startsWith(prefix)) ours.push(Number(name));
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 't' && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(dir))
        traced.push(Number(name));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return { ours, traced };
}

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
  ({ QUESTIONS: questions } = (await import(pathToFileURL(join(ROOT, 'scripts', 'demo-guide.js')).href)) as {
    QUESTIONS: readonly Question[];
  });
  start = spawn(
    process.execPath,
    [
      join(ROOT, 'scripts', 'start.js'),
      '--dir',
      dir,
      '--port',
      '0',
      '--stuck-after',
      '2s',
      '--stuck-for',
      '5m',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const child = start;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start was not ready in 150 s:\n${output}`)),
      150_000,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Ctrl-C stops')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`));
    });
  });
  info = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoInfo;
});

after(async () => {
  if (start && start.exitCode === null && start.signalCode === null) start.kill('SIGKILL');
  for (const pid of Object.values(info?.pids ?? {})) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const pid of leftovers(join(dir, 'bin')).ours) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('npm start prints the server, a user token and the commands of every question', () => {
  assert.match(output, new RegExp(`server ${info.server}`));
  assert.match(output, /the agent reports all four demo processes/);
  assert.match(output, new RegExp(`export PERISCOPE_TOKEN=${info.userToken}`));
  for (const q of questions) assert.ok(output.includes(`--server ${info.server} "${q.sql}"`), q.id);
  assert.match(output, /snapshot \d+: 4 processes/);
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

test('a printed command works as printed (periscope query --server)', async () => {
  const q = questions.find((x) => x.id === 'failures');
  assert.ok(q);
  const { stdout } = await run(
    process.execPath,
    [join(ROOT, 'bin', 'periscope.js'), 'query', '--server', info.server, q.sql],
    {
      env: { ...process.env, PERISCOPE_TOKEN: info.userToken },
      timeout: 30_000,
    },
  );
  assert.match(stdout, /carol/);
});

test('SIGINT stops everything: no demo process, agent or server, nothing left in tracing stop', async () => {
  const child = start;
  assert.ok(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise<string>((r) => {
      timer = setTimeout(() => r('timeout'), 30_000);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(code, 0, output);
  assert.match(output, /stopped; nothing is left running/);
  for (const [name, pid] of Object.entries(info.pids))
    assert.ok(!alive(pid), `${name} (pid ${pid}) is still running`);
  const left = leftovers(join(dir, 'bin'));
  assert.deepEqual(left.ours, [], 'demo processes left');
  assert.deepEqual(left.traced, [], 'processes in tracing stop');
});
