/**
 * `periscope store migrate` round trip: a real embedded store (two snapshots of the linkpair, the
 * second imported from an export; a spec with a function table, derived table and link; a token; an investigation
 * with a firing and its report) copied into
 * PostgreSQL + a file object store; a scaled-out store answers the same queries with the same
 * rows. A second run copies nothing; a target holding other data is refused untouched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSharedTokens, SharedStore } from '../../../src/store/shared/shared-store.js';
import type { QueryScope, SnapshotInput } from '../../../src/store/store.js';
import { TokenStore } from '../../../src/store/tokens.js';
import { cli, freshDataDir, inputOf, openStore, startFixture, takeSnapshot } from '../store-support.js';
import { freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

const SPEC = `functions:
  - function: main.call
    table: client_calls
    capture:
      local: local
      remote: remote
      id: id
  - function: main.handle
    table: server_handlers
    capture:
      local: local
      remote: remote
      id: id
derived:
  - name: call_pairs
    sql: >
      SELECT c.snapshot_id, c.goroutine_id AS client_goroutine, h.goroutine_id AS server_goroutine
      FROM client_calls c JOIN server_handlers h
        ON c.snapshot_id = h.snapshot_id AND c.local = h.remote AND c.remote = h.local
links:
  - name: tcp
    from: { table: client_calls, columns: [local, remote] }
    to: { table: server_handlers, columns: [remote, local] }
`;

const QUERIES = [
  'SELECT snapshot_id, labels, process_count, failed_processes, goroutine_count, spec_version FROM snapshots ORDER BY snapshot_id',
  'SELECT snapshot_id, process_id, program, error FROM processes ORDER BY ALL',
  'SELECT snapshot_id, goroutine_id, status, top_function, stack_id FROM goroutines ORDER BY ALL',
  'SELECT count(*), sum(line) FROM frames',
  'SELECT count(*) FROM stacks',
  'SELECT snapshot_id, goroutine_id, id FROM client_calls ORDER BY ALL',
  'SELECT snapshot_id, client_goroutine, server_goroutine FROM call_pairs ORDER BY ALL',
  'SELECT from_goroutine_id, to_goroutine_id FROM links ORDER BY ALL',
  'SELECT version, author, yaml FROM spec_versions ORDER BY version',
  'SELECT snapshot_id, original_snapshot_id, path, format, imported_at FROM raw.imports',
  'SELECT investigation_id, name, owner, question, definition, created_at FROM investigations',
  'SELECT firing_id, investigation_id, fired_at, trigger, detail, snapshot_id, report_rows FROM investigation_firings',
  'SELECT firing_id, snapshot_id, query, row_number, row FROM investigation_reports',
  'SELECT seq, probe, process_id, agent_id, "time", goroutine_id, captures, errors FROM probe_events ORDER BY seq',
  'SELECT probe, process_id, start_time, end_time, hits, events FROM probe_counts',
  'SELECT probe, lt_ns, count FROM probe_durations ORDER BY lt_ns',
  'SELECT "time", probe, kind, message FROM probe_notices',
  'SELECT request_id, process_id, start_time, duration_ms, outcome, error, goroutines FROM traces',
  'SELECT request_id, seq, probe, function, captures FROM trace_events ORDER BY seq',
  'SELECT trace, requests, kept, dropped FROM trace_counts',
];
const SCOPES: QueryScope[] = [{ all: true }, { latest: true }, { snapshot: 1 }];

let pg: TestPostgres;
const dataDir = freshDataDir();
let token = '';
const want = new Map<string, unknown>();

before(async () => {
  pg = await startTestPostgres();
  const t = await startFixture('linkpair');
  let inputs: SnapshotInput[];
  try {
    const snap = takeSnapshot(t.pid, SPEC);
    inputs = [0, 1].map((i) => ({
      ...inputOf(snap, SPEC, { run: String(i) }),
      createdAt: new Date(Date.UTC(2026, 0, 1 + i)),
      ...(i === 1 ? { failed: [{ hostname: 'h2', pid: 7, error: 'gone' }] } : {}),
    }));
  } finally {
    t.kill();
  }
  const embedded = await openStore(dataDir);
  try {
    await embedded.setSpec(SPEC, 'tester', 'spec.yaml');
    await embedded.addSnapshot(inputs[0]!);
    // Snapshot 2 imported (from another store's export), so that it has an import record.
    const other = await openStore(freshDataDir());
    const exported = join(mkdtempSync(join(tmpdir(), 'periscope-export-')), 'snap.duckdb');
    try {
      await other.setSpec(SPEC, 'tester', 'spec.yaml');
      await other.exportSnapshot(await other.addSnapshot(inputs[1]!), 'duckdb', exported);
    } finally {
      other.close();
    }
    assert.deepEqual(await embedded.importSnapshot(exported), {
      snapshotId: 2,
      originalId: 1,
      specVersionsImported: 0,
    });
    const inv = await embedded.addInvestigation({
      name: 'calls',
      owner: 'tester',
      question: 'who calls?',
      notes: '',
      definition: '{"every":"5m"}',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    const firing = await embedded.addFiring({
      investigationId: inv,
      investigation: 'calls',
      firedAt: '2026-01-02T00:00:00.000Z',
      trigger: 'schedule',
      detail: { due: 'now' },
      traceKept: false,
    });
    await embedded.patchFiring(firing, { snapshotId: 2, reportRows: 1 });
    await embedded.addReportRows([
      {
        firingId: firing,
        investigationId: inv,
        snapshotId: 2,
        query: 'SELECT 1 AS one',
        rowNumber: 0,
        row: { one: 1 },
      },
    ]);
    // Probe data (five events in two batches, the processes' facts) and a request trace.
    const event = (seq: number) => ({
      probe: 'calls',
      process: 'h:1',
      timeUs: 1_767_225_600_000_000 + seq,
      goroutine: seq,
      thread: 1,
      site: { kind: 'entry', function: 'main.call' },
      values: { n: seq },
      ...(seq === 5 ? { errors: { m: 'nil map' } } : {}),
    });
    const facts = [
      { processId: 'h:1', hostname: 'h', pid: 1, program: 'linkpair', executable: '/bin/linkpair' },
    ];
    const none = { counts: [], histograms: [], notices: [] };
    await embedded.addProbeBatch({ agentId: 'a1', events: [1, 2, 3].map(event), ...none });
    await embedded.addProbeBatch({
      agentId: 'a1',
      processes: facts,
      events: [event(4), event(5)],
      counts: [
        {
          probe: 'calls',
          process: 'h:1',
          startUs: 1_767_225_600_000_000,
          endUs: 1_767_225_601_000_000,
          hits: 9,
          matched: 2,
          events: 2,
          rejected: 7,
          conditionErrors: 0,
          rateLimited: 0,
          ringFull: 0,
          agentDropped: 0,
          durations: 0,
          durationSumNs: 0,
          costNs: 3,
          cpuNs: 4,
        },
      ],
      histograms: [
        {
          probe: 'calls',
          process: 'h:1',
          startUs: 1_767_225_600_000_000,
          endUs: 1_767_225_601_000_000,
          buckets: [
            [512, 1],
            [1024, 2],
          ],
        },
      ],
      notices: [
        { probe: 'calls', process: 'h:1', timeUs: 1_767_225_600_000_000, kind: 'attached', message: 'ok' },
      ],
    });
    await embedded.addTraceBatch({
      agentId: 'a1',
      traces: [
        {
          trace: 'slow',
          requestId: 'h:1:7:1',
          process: 'h:1',
          goroutine: 7,
          startUs: 1_767_225_600_000_000,
          endUs: 1_767_225_600_500_000,
          durationNs: 500_000_000,
          outcome: 'error',
          error: 'boom',
          start: {},
          end: { err: 'boom' },
          goroutines: [7, 8],
          events: [
            {
              probe: 'start',
              timeUs: 1_767_225_600_000_000,
              goroutine: 7,
              function: 'main.serve',
              values: {},
            },
            {
              probe: 'db',
              timeUs: 1_767_225_600_100_000,
              goroutine: 8,
              function: 'main.db',
              values: { q: 'x' },
            },
          ],
          eventsDropped: 0,
        },
      ],
      counts: [
        {
          trace: 'slow',
          process: 'h:1',
          startUs: 1_767_225_600_000_000,
          endUs: 1_767_225_601_000_000,
          requests: 5,
          kept: 1,
          dropped: 4,
          overRate: 0,
          overMemory: 0,
          eventsDropped: 0,
          unfinished: 0,
        },
      ],
    });
    for (const scope of SCOPES)
      for (const sql of QUERIES)
        want.set(`${JSON.stringify(scope)} ${sql}`, (await embedded.query(sql, scope)).rows);
  } finally {
    embedded.close();
  }
  token = new TokenStore(dataDir).create('user', 'migrated').token;
});

after(() => pg?.stop());

const migrate = (store: string, objects: string) =>
  cli('store', 'migrate', '--data', dataDir, '--store', store, '--objects', objects, '--json');

test('store migrate: the scaled-out store answers the same queries; a second run copies nothing', async () => {
  const url = pg.database('migrated');
  const objects = freshObjectsUrl();
  const first = await migrate(url, objects);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /snapshot 1: 1 processes, \d+ bytes of objects \(1\/2\)/);
  assert.match(first.stderr, /snapshot 2: 2 processes/);
  assert.deepEqual(JSON.parse(first.stdout), {
    specVersions: { copied: 1, present: 0 },
    snapshots: { copied: 2, present: 0 },
    fleetMeta: 0,
    tokens: { copied: 1, present: 0 },
    investigations: { copied: 1, firingsCopied: 1 },
    probes: { events: 5, rows: 9, traces: 1, copied: true },
  });
  assert.match(
    first.stderr,
    /probe data: 5 events, 9 rows of counts, histograms, notices and facts, 1 request traces copied/,
  );
  const again = await migrate(url, objects);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout), {
    specVersions: { copied: 0, present: 1 },
    snapshots: { copied: 0, present: 2 },
    fleetMeta: 0,
    tokens: { copied: 0, present: 1 },
    investigations: { copied: 0, firingsCopied: 0 },
    probes: { events: 5, rows: 9, traces: 1, copied: false },
  });
  const shared = await SharedStore.open({
    store: url,
    objects,
    cacheDir: mkdtempSync(join(tmpdir(), 'periscope-cache-')),
  });
  try {
    for (const scope of SCOPES)
      for (const sql of QUERIES) {
        const key = `${JSON.stringify(scope)} ${sql}`;
        const got = (await shared.query(sql, scope)).rows;
        assert.deepEqual(got, want.get(key), key);
        assert.ok(got.length > 0, `${key} has rows`);
      }
    // Probe events keep their seqs (the target had none); the processes' facts came along.
    assert.deepEqual(
      (await shared.probeEvents({ after: 0, limit: 10 })).map((e) => [e.seq, e.values.n]),
      [1, 2, 3, 4, 5].map((i) => [i, i]),
    );
    const visible = await shared.visibleProbeProcesses([[{ key: 'program', op: '=', value: 'linkpair' }]]);
    assert.ok(visible.has('h:1'), `the probe process's facts: ${[...visible].join(', ')}`);
    // The id sequence was moved past the migrated snapshots.
    const t = await startFixture('linkpair');
    try {
      const id = await shared.addSnapshot(inputOf(takeSnapshot(t.pid, SPEC), SPEC));
      assert.equal(id, 3);
      assert.equal(
        await shared.addInvestigation({
          name: 'later',
          owner: 'tester',
          question: '',
          notes: '',
          definition: '{}',
          createdAt: new Date().toISOString(),
        }),
        2,
        'the investigation ids moved past the migrated one',
      );
    } finally {
      t.kill();
    }
  } finally {
    shared.close();
  }
  const tokens = await openSharedTokens(url);
  try {
    assert.equal(
      tokens.verify(token)?.name,
      'migrated',
      'the token of the data directory works on the shared store',
    );
  } finally {
    tokens.close();
  }
});

test('store migrate: a target holding other data is refused before anything is copied', async () => {
  const url = pg.database('other');
  const objects = freshObjectsUrl();
  const other = await SharedStore.open({
    store: url,
    objects,
    cacheDir: mkdtempSync(join(tmpdir(), 'periscope-cache-')),
  });
  try {
    await other.setSpec('functions: []\n', 'someone', 'other.yaml');
  } finally {
    other.close();
  }
  const r = await migrate(url, objects);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /already holds other data: spec version 1 differs; migrate into an empty schema/);
  const after = await SharedStore.open({
    store: url,
    objects,
    cacheDir: mkdtempSync(join(tmpdir(), 'periscope-cache-')),
  });
  try {
    assert.deepEqual(await after.listSnapshots(), [], 'nothing copied');
    assert.equal((await after.specLog()).length, 1);
  } finally {
    after.close();
  }
});
