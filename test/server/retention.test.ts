/**
 * Retention: processes older than their program's rule are deleted from every table (snapshots
 * left empty go whole), the store file shrinks, snapshot ids are never reused, and each pass
 * is in the audit log; only admins can run a pass.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AuditResponse, CreatedToken, QueryResponse } from '../../src/api/responses.js';
import type { RunningServer } from '../../src/server/server.js';
import { META_FILE, type SnapshotMeta } from '../../src/server/snapshot-meta.js';
import { DB_FILE } from '../../src/store/data-dir.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import { parseRetentionRule } from '../../src/store/retention.js';
import {
  api,
  eventually,
  type RealSnapshot,
  realSnapshot,
  tempDataDir,
  testServer,
} from './server-support.js';

const DAY = 86_400_000;
let real: RealSnapshot;
let server: RunningServer;
let dataDir: string;
let sizeBefore: number;

function input(daysAgo: number) {
  return {
    processes: [
      { hostname: 'host-a', program: 'orders', snapshot: real.snapshot },
      { hostname: 'host-b', program: 'billing', snapshot: real.snapshot },
    ],
    specText: '',
    createdAt: new Date(Date.now() - daysAgo * DAY),
  };
}

/** A probe event of `process` recorded `daysAgo` days ago. */
function event(process: string, daysAgo: number, n: number) {
  return {
    probe: 'p',
    process,
    timeUs: (Date.now() - daysAgo * DAY) * 1000,
    goroutine: 1,
    thread: 1,
    site: { kind: 'entry', function: 'main.f' },
    values: { n },
  };
}

before(async () => {
  real = await realSnapshot();
  dataDir = tempDataDir();
  const store = await DuckDBStore.open(dataDir);
  for (let i = 0; i < 12; i++) await store.addSnapshot(input(40)); // ids 1..12
  await store.addSnapshot(input(10)); // 13
  await store.addSnapshot(input(0)); // 14
  // Probe events: of host-a's process (program orders, kept 7 days), and of a process never
  // snapshotted (no program: the `*` rule, 30 days).
  const ordersProcess = `host-a:${real.snapshot.pid}`;
  await store.addProbeBatch({
    agentId: 'agent-a',
    events: [
      event(ordersProcess, 10, 1),
      event(ordersProcess, 1, 2),
      event('host-c:1', 40, 3),
      event('host-c:1', 10, 4),
    ],
    counts: [],
    histograms: [],
    notices: [
      { probe: 'p', process: 'host-c:1', timeUs: (Date.now() - 40 * DAY) * 1000, kind: 'k', message: 'm' },
    ],
  });
  // Request traces, by the same rules: host-a's trace of 10 days ago goes (orders: 7 days) with
  // its event, host-c's stays (30 days), and host-c's counts of 40 days ago go.
  const trace = (process: string, days: number, id: string) => ({
    trace: 'work',
    requestId: id,
    process,
    goroutine: 1,
    startUs: (Date.now() - days * DAY) * 1000 - 5,
    endUs: (Date.now() - days * DAY) * 1000,
    durationNs: 5000,
    outcome: 'error' as const,
    start: {},
    end: {},
    goroutines: [1],
    events: [
      {
        probe: 'start',
        timeUs: (Date.now() - days * DAY) * 1000 - 5,
        goroutine: 1,
        function: 'main.f',
        values: {},
      },
    ],
    eventsDropped: 0,
  });
  const tc = (process: string, days: number) => ({
    trace: 'work',
    process,
    startUs: (Date.now() - days * DAY) * 1000 - 1e6,
    endUs: (Date.now() - days * DAY) * 1000,
    requests: 1,
    kept: 1,
    dropped: 0,
    overRate: 0,
    overMemory: 0,
    eventsDropped: 0,
    unfinished: 0,
  });
  await store.addTraceBatch({
    agentId: 'agent-a',
    traces: [trace(ordersProcess, 10, 'a'), trace('host-c:1', 10, 'c')],
    counts: [tc('host-c:1', 40), tc('host-c:1', 10)],
  });
  store.close();
  // The fleet snapshot index, as the orchestrator writes it for snapshots taken through a server.
  const meta = (id: number) => ({
    snapshotId: id,
    requestId: `r${id}`,
    selector: 'program=orders',
    requestedBy: 'alice',
    captureSkewMs: 0,
    durationMs: 1,
    processes: ['host-a', 'host-b'].map((hostname) => ({
      key: `${hostname}/${real.snapshot.pid}`,
      agentId: hostname,
      hostname,
      pid: real.snapshot.pid,
      executable: 'x',
      ok: true,
    })),
  });
  writeFileSync(
    join(dataDir, META_FILE),
    Array.from({ length: 14 }, (_, i) => `${JSON.stringify(meta(i + 1))}\n`).join(''),
  );
  sizeBefore = statSync(join(dataDir, DB_FILE)).size;
  server = await testServer(dataDir, {
    retention: { rules: ['orders=7d', '*=30d'].map(parseRetentionRule) },
    log: () => undefined,
  });
});

after(async () => {
  await server.close();
  await real.target.kill();
});

test('a pass at start deletes what the rules no longer keep, per program, and the store shrinks', async (t) => {
  const admin = server.firstTokens?.admin ?? '';
  let entry: AuditResponse['entries'][number] | undefined;
  await eventually(
    async () => {
      const r = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit?action=retention.delete');
      entry = r.body.entries[0];
      return entry !== undefined;
    },
    60_000,
    'the retention pass',
  );
  assert.equal(entry?.actor.name, 'server');
  assert.deepEqual(entry?.details.snapshotIds, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(entry?.details.trimmedSnapshotIds, [13]);
  assert.equal(entry?.details.processes, 12 * 2 + 1);
  // The fleet snapshot index keeps only what the store kept, rewritten whole (no temporary left).
  const index = readFileSync(join(dataDir, META_FILE), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SnapshotMeta);
  assert.deepEqual(
    index.map((m) => [m.snapshotId, m.processes.map((p) => p.hostname)]),
    [
      [13, ['host-b']],
      [14, ['host-a', 'host-b']],
    ],
  );
  assert.deepEqual(
    readdirSync(dataDir).filter((f) => f.startsWith(META_FILE)),
    [META_FILE],
  );
  const rows = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select snapshot_id, program from processes order by 1, 2',
    all: true,
  });
  assert.equal(rows.status, 200, rows.text);
  assert.deepEqual(rows.body.rows, [
    [13, 'billing'],
    [14, 'billing'],
    [14, 'orders'],
  ]);
  // Probe data: by its own time and its process's program's rule.
  assert.equal(entry?.details.probeRows, 3 + 3);
  const traces = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select (select list(request_id order by request_id) from traces), (select list(request_id) from trace_events), (select count(*)::INT from trace_counts)',
  });
  assert.deepEqual(traces.body.rows, [[['c'], ['c'], 1]]);
  const events = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', {
    sql: "select process_id, captures->>'n' as n from probe_events order by n",
  });
  assert.deepEqual(events.body.rows, [
    [`host-a:${real.snapshot.pid}`, '2'],
    ['host-c:1', '4'],
  ]);
  const notices = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', {
    sql: 'select count(*) from probe_notices',
  });
  assert.deepEqual(notices.body.rows, [[0]]);
  // Nothing of a deleted process is left in any per-snapshot table.
  for (const table of ['goroutines', 'frames', 'captured', 'capture_errors', 'link_notes']) {
    const left = await api<QueryResponse>(server.url, admin, 'POST', '/v1/query', {
      sql: `select count(*) from ${table} where snapshot_id < 13 or (snapshot_id = 13 and process_id like 'host-a:%')`,
      all: true,
    });
    assert.deepEqual(left.body.rows, [[0]], table);
  }
  const listed = await api<{ snapshots: { snapshotId: number; processes: number }[] }>(
    server.url,
    admin,
    'GET',
    '/v1/snapshots',
  );
  assert.deepEqual(
    listed.body.snapshots.map((s) => [s.snapshotId, s.processes]),
    [
      [14, 2],
      [13, 1],
    ],
  );
  // The file holds what a store of the surviving data alone holds: the deleted space is gone.
  const ref = tempDataDir();
  const refStore = await DuckDBStore.open(ref);
  const old = input(10);
  await refStore.addSnapshot({ ...old, processes: old.processes.slice(1) });
  await refStore.addSnapshot(input(0));
  await refStore.addProbeBatch({
    agentId: 'agent-a',
    events: [event(`host-a:${real.snapshot.pid}`, 1, 2), event('host-c:1', 10, 4)],
    counts: [],
    histograms: [],
    notices: [],
  });
  refStore.close();
  const refSize = statSync(join(ref, DB_FILE)).size;
  const before = Number(entry?.details.bytesBefore);
  const afterBytes = Number(entry?.details.bytesAfter);
  t.diagnostic(`store ${before} → ${afterBytes} bytes; a store of the surviving data alone: ${refSize}`);
  assert.ok(before >= sizeBefore * 0.9, `${before} vs ${sizeBefore}`);
  assert.ok(afterBytes < before * 0.8, `compacted ${before} → ${afterBytes} bytes`);
  assert.ok(
    afterBytes <= refSize * 1.25,
    `compacted to ${afterBytes}, a fresh store of the rest is ${refSize}`,
  );
  assert.equal(statSync(join(dataDir, DB_FILE)).size, afterBytes);
});

test('only an admin runs a pass on demand; it is recorded', async () => {
  const admin = server.firstTokens?.admin ?? '';
  const user = (await api<CreatedToken>(server.url, admin, 'POST', '/v1/tokens', { role: 'user' })).body;
  assert.equal((await api(server.url, user.token, 'POST', '/v1/retention', {})).status, 403);
  const r = await api<{ processes: number }>(server.url, admin, 'POST', '/v1/retention', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.processes, 0);
  const audit = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit?action=retention.delete');
  assert.equal(audit.body.entries.at(-1)?.actor.name, 'first-admin');
});

test('snapshot ids are not reused after retention deleted the newest', async () => {
  const dir = tempDataDir();
  const store = await DuckDBStore.open(dir);
  try {
    await store.addSnapshot(input(2));
    await store.addSnapshot(input(2));
    const gone = await store.applyRetention([parseRetentionRule('*=1d')]);
    assert.deepEqual(gone.snapshotIds, [1, 2]);
    assert.equal(await store.addSnapshot(input(0)), 3);
  } finally {
    store.close();
  }
  assert.throws(() => parseRetentionRule('orders=7'), /is not PROGRAM=AGE/);
});

test('queries that arrive during a compaction wait for it and succeed', async () => {
  const dir = tempDataDir();
  const store = await DuckDBStore.open(dir, { noExternalAccess: true });
  try {
    for (let i = 0; i < 4; i++) await store.addSnapshot(input(5));
    await store.addSnapshot(input(0));
    await store.applyRetention([parseRetentionRule('*=1d')]);
    const [sizes, ...answers] = await Promise.all([
      store.compact(),
      ...[1, 2, 3].map(() =>
        store.query('select count(distinct snapshot_id) from goroutines', { all: true }),
      ),
      store.listSnapshots(),
    ]);
    assert.ok(sizes.after <= sizes.before, `${sizes.before} → ${sizes.after}`);
    for (const a of answers.slice(0, 3))
      assert.deepEqual((a as unknown as { rows: unknown[][] }).rows, [[1]]);
    assert.deepEqual(
      (answers[3] as unknown as { snapshotId: number }[]).map((s) => s.snapshotId),
      [5],
    );
  } finally {
    store.close();
  }
});
