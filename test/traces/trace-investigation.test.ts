/**
 * Standing investigations on real request traces (issue 16's proof): a real server, a real
 * `periscope agent` and testdata/traced-service (support/traced-fleet.ts, the setup of
 * trace-fleet.test.ts). A `slow` trigger snapshots the process while the slow request is still
 * in flight, and that snapshot holds the request's goroutine (the signal's id) asleep in the
 * handler (with `over` above the trace's `slower_than`, a request that ended before `over` does
 * not fire it); an `error` trigger fires for the failing user's requests only, at most its
 * `maxFires`, its firings record request ids that are rows of `traces`, and its report
 * (which reads `traces`) names the failing user. Across a server restart on the same data
 * directory (the agent reconnects by itself) an error trigger keeps its firings and report and
 * fires up to its `maxFires` in total, not that many more.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { InvestigationView } from '../../src/api/investigation-views.js';
import { cli } from '../../support/fleet.js';
import { startTracedFleet, svcProgram, type TracedFleet } from '../../support/traced-fleet.js';
import { api } from '../server/server-support.js';

let f: TracedFleet;

async function add(body: unknown): Promise<void> {
  const r = await api<InvestigationView>(f.server.url, f.userToken, 'POST', '/v1/investigations', body);
  assert.equal(r.status, 201, r.text);
}

async function show(name: string): Promise<InvestigationView> {
  const r = await api<InvestigationView>(f.server.url, f.userToken, 'GET', `/v1/investigations/${name}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

before(async () => {
  f = (await startTracedFleet('host-i')).fleet;
  const spec = join(f.dataDir, 'spec.yaml');
  writeFileSync(
    spec,
    `${svcProgram(f)}traces:
  - name: work
    program: svc
    function: main.handle
    start: { user: user }
    error: r0
    keep: [error, { slower_than: 300ms }]
`,
  );
  const set = await cli(['spec', 'set', spec], f.env());
  assert.equal(set.code, 0, set.stderr);
  await f.agent.waitFor(new RegExp(`attached .*work:start.* to process ${f.target.pid}`), 60_000);
});

after(async () => {
  await f?.close();
});

test('a slow trigger snapshots the process while the request is in flight; its goroutine waits in the handler', async () => {
  // `over` above the trace's slower_than: the agent's notice comes at 300 ms, the firing at 1.5 s
  // unless the request ended before (its kept trace reaches the server within ~250 ms).
  await add({
    name: 'slow-work',
    triggers: [{ slow: { trace: 'work', over: '1500ms' } }],
    report: [
      {
        name: 'handlers',
        sql: "SELECT g.goroutine_id, g.wait_reason FROM goroutines g JOIN frames f USING (snapshot_id, process_id, goroutine_id) WHERE f.function = 'main.handle'",
      },
    ],
  });
  const before = f.signals.length;
  assert.equal((await f.request('alice', 0)).status, 200);
  // Slow past slower_than, ended long before `over`: noticed, kept, never fires the trigger.
  assert.equal((await f.request('slow', 400)).status, 200);
  const r = await f.request('slow', 3500);
  assert.equal(r.status, 200);
  await f.server.investigations.idle();
  const slow = f.signals.slice(before).filter((s) => s.kind === 'slow');
  assert.equal(slow.length, 2, JSON.stringify(f.signals.slice(before)));
  const signal = slow[1]!;
  const inv = await show('slow-work');
  assert.equal(inv.fires, 1, JSON.stringify(inv.firings));
  const firing = inv.firings![0]!;
  assert.equal(firing.error, undefined);
  assert.equal(firing.requestId, signal.requestId);
  assert.equal(firing.goroutine, signal.goroutine);
  assert.ok(firing.snapshotId !== undefined);
  const snap = ['--snapshot', String(firing.snapshotId)];
  // The request's goroutine is in the snapshot, asleep in main.handle: it was still in flight.
  const frames = await f.query(
    `SELECT g.wait_reason, list(f.function ORDER BY f.depth) AS functions FROM goroutines g JOIN frames f USING (snapshot_id, process_id, goroutine_id) WHERE g.goroutine_id = ${signal.goroutine} AND g.process_id = '${signal.process}' GROUP BY 1`,
    snap,
  );
  assert.equal(frames.length, 1, JSON.stringify(frames));
  const functions = frames[0]!.functions as string[];
  assert.ok(functions.includes('main.handle'), JSON.stringify(functions));
  assert.ok(functions.includes('time.Sleep'), JSON.stringify(functions));
  assert.equal(frames[0]!.wait_reason, 'sleep');
  const report = await f.query(
    `SELECT row->>'goroutine_id' AS g, row->>'wait_reason' AS wait FROM investigation_reports WHERE firing_id = ${firing.id}`,
    ['--all'],
  );
  assert.deepEqual(report, [{ g: String(signal.goroutine), wait: 'sleep' }]);
  // The request is kept (slow), under the same id the firing recorded.
  const kept = await f.until(
    `SELECT outcome FROM traces WHERE request_id = '${signal.requestId}'`,
    (x) => x.length > 0,
  );
  assert.deepEqual(kept, [{ outcome: 'slow' }]);
});

test("an error trigger fires for the failing user's requests only, at most maxFires, and reports from traces", async () => {
  await add({
    name: 'denied',
    triggers: [{ error: { trace: 'work' } }],
    snapshot: 'none',
    limits: { maxFires: 2, minInterval: '0s' },
    report: [
      {
        name: 'by-user',
        sql: "SELECT start_values->>'user' AS \"user\", count(*)::INT AS errors FROM traces WHERE trace = 'work' AND outcome = 'error' GROUP BY 1",
      },
    ],
  });
  for (const user of ['alice', 'mallory', 'bob', 'mallory', 'alice', 'mallory', 'mallory'])
    assert.equal((await f.request(user)).status, user === 'mallory' ? 403 : 200);
  await f.until("SELECT 1 FROM traces WHERE trace = 'work' AND outcome = 'error'", (x) => x.length === 4);
  const keptErrors = () => f.signals.filter((s) => s.kind === 'kept' && s.outcome === 'error').length;
  for (let i = 0; i < 50 && keptErrors() < 4; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(keptErrors(), 4);
  await f.server.investigations.idle();
  const inv = await show('denied');
  assert.equal(inv.fires, 2, 'four failing requests, maxFires 2');
  // Each firing's request is a kept trace of the failing user.
  const fired = await f.query(
    "SELECT f.request_id, t.start_values->>'user' AS \"user\", t.outcome FROM investigation_firings f JOIN traces t USING (request_id) WHERE f.investigation = 'denied' ORDER BY f.fired_at",
    ['--all'],
  );
  assert.equal(fired.length, 2, JSON.stringify(fired));
  assert.ok(
    fired.every((x) => x.user === 'mallory' && x.outcome === 'error'),
    JSON.stringify(fired),
  );
  assert.deepEqual(
    fired.map((x) => x.request_id),
    inv.firings!.map((x) => x.requestId).reverse(),
  );
  const report = await f.query(
    "SELECT DISTINCT r.row->>'user' AS \"user\" FROM investigation_reports r JOIN investigation_firings f USING (firing_id) WHERE f.investigation = 'denied'",
    ['--all'],
  );
  assert.deepEqual(report, [{ user: 'mallory' }]);
});

test('an error trigger survives a server restart: its firings and report stay, and it fires up to its limit in total', async () => {
  await add({
    name: 'across-restart',
    triggers: [{ error: { trace: 'work' } }],
    snapshot: 'none',
    limits: { maxFires: 3, minInterval: '0s' },
    report: [
      {
        name: 'users',
        sql: "SELECT DISTINCT start_values->>'user' AS \"user\" FROM traces WHERE outcome = 'error'",
      },
    ],
  });
  const errors = async () =>
    Number(
      (await f.query("SELECT count(*) AS n FROM traces WHERE trace = 'work' AND outcome = 'error'"))[0]!.n,
    );
  const waitErrors = async (n: number) => {
    await f.until(
      "SELECT count(*) AS n FROM traces WHERE trace = 'work' AND outcome = 'error'",
      (x) => Number(x[0]!.n) >= n,
    );
    // The server hears a kept trace when it stores it; its firing may still be under way.
    await f.server.investigations.idle();
  };
  const first = await errors();
  assert.equal((await f.request('mallory')).status, 403);
  await waitErrors(first + 1);
  const before = await show('across-restart');
  assert.equal(before.fires, 1, JSON.stringify(before.firings));
  const report = `SELECT r.row->>'user' AS "user" FROM investigation_reports r WHERE r.firing_id = ${before.firings![0]!.id}`;
  // The firing is counted when it is reserved; its report is written when its actions are done
  // (idle() may have been asked before the firing began): a bounded wait for it.
  let rows = await f.query(report, ['--all']);
  for (let end = Date.now() + 20_000; rows.length === 0 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 200));
    rows = await f.query(report, ['--all']);
  }
  assert.deepEqual(rows, [{ user: 'mallory' }]);

  await f.restartServer();
  const kept = await show('across-restart');
  assert.equal(kept.state, 'open');
  assert.equal(kept.fires, 1);
  assert.deepEqual(kept.firings, before.firings);
  for (let i = 0; i < 4; i++) assert.equal((await f.request('mallory')).status, 403);
  await waitErrors(first + 5);
  const after = await show('across-restart');
  assert.equal(after.fires, 3, 'one before the restart and two after: maxFires 3 in total');
  assert.equal(after.firings!.length, 3);
  assert.deepEqual(
    after.firings!.at(-1),
    before.firings![0],
    'the firing from before the restart is still there',
  );
  assert.deepEqual(await f.query(report, ['--all']), [{ user: 'mallory' }]);
});
