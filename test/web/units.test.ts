// The web app's DOM-free parts in Node: URLs of every view round-trip, the flame graph's boxes,
// the SQL the goroutines view sends (on a real DuckDB store with a real snapshot), and adding a
// derived table to a spec's YAML keeping its comments.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TraceRecord } from '../../src/probes/trace-records.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import { flameBoxes } from '../../src/web/flame-layout.js';
import {
  filterCondition,
  type GroupFrameRow,
  type GroupRow,
  groupFramesSql,
  groupsSql,
} from '../../src/web/goroutine-sql.js';
import { investigationBody } from '../../src/web/investigation-form.js';
import { probeEntry } from '../../src/web/probe-form.js';
import {
  bucketMs,
  type DurationRow,
  durationsSql,
  type RateRow,
  rateSql,
  type StackRow,
  stacksSql,
} from '../../src/web/probe-sql.js';
import { parseRoute, type Route, routeUrl } from '../../src/web/routes.js';
import {
  capturesOf,
  withCapture,
  withDerivedTable,
  withFunctionTable,
  withLink,
} from '../../src/web/spec-yaml.js';
import { rowsOf } from '../../src/web/sql.js';
import {
  type TraceCountsRow,
  type TraceEventRow,
  type TraceGoroutineRow,
  type TraceRow,
  traceCountsSql,
  traceEventsSql,
  traceGoroutinesSql,
  traceNamesSql,
  traceSql,
  tracesSql,
} from '../../src/web/trace-sql.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import { startTarget, type Target } from '../../support/target.js';

test('every route survives URL and back', () => {
  const routes: Route[] = [
    { view: 'snapshots', search: { label: 'incident=42', program: 'orders' } },
    {
      view: 'goroutines',
      snapshot: 7,
      sort: 'wait',
      goroutine: 'web-1:4242:17',
      filters: {
        fn: 'x y',
        pkg: 'net/http',
        prefix: ['runtime.goexit', 'main.(*s).run'],
        label: 'k=v&w',
        minWaitMs: 5,
      },
    },
    { view: 'diff', a: 3, b: 4, filters: {} },
    { view: 'tables', sql: "SELECT 'a&b' -- ?", snapshot: 2 },
    { view: 'agents' },
    { view: 'probes', minutes: 15 },
    { view: 'probes', probe: 'web_orders', minutes: 60 },
    { view: 'spec' },
    { view: 'spec', program: 'inventory', binary: 'abc/def', fn: 'main.(*s).run', version: 3 },
    { view: 'signin', next: '/snapshots/7?g=a:1:2' },
    { view: 'investigations', closed: false },
    { view: 'investigations', closed: true },
    { view: 'investigation', id: 12 },
    { view: 'traces' },
    { view: 'traces', trace: 'checkout', outcome: 'error' },
    { view: 'trace', request: 'web-1:4242:17:1733367600123456' },
    { view: 'trace', request: 'a/b?c#d' },
  ];
  for (const r of routes) {
    const u = new URL(routeUrl(r), 'http://x');
    assert.deepEqual(parseRoute(u.pathname, u.search), r, routeUrl(r));
  }
  assert.deepEqual(parseRoute('/signin', '?next=//evil.example/'), { view: 'signin', next: '/' });
  assert.equal(parseRoute('/snapshots/abc', '').view, 'not-found');
  // A window the view does not offer, or a name no probe can have, falls back.
  assert.deepEqual(parseRoute('/probes', '?minutes=7&probe=a%27b'), { view: 'probes', minutes: 15 });
  assert.equal(parseRoute('/investigations/web-inv', '').view, 'not-found');
  assert.deepEqual(parseRoute('/traces', '?trace=a%27b&outcome=fine'), { view: 'traces' });
});

test('the add-a-probe form makes a probes entry, or says what to fix', () => {
  const base = {
    name: 'logins',
    program: 'api',
    at: 'function',
    where: ' main.(*Server).login ',
    captures: 'user=req.User\n\nlen(req.Items)\nok = a == b\n',
    condition: 'req.User == "alice"',
    rate: '100/s',
    ttl: '30m',
    duration: true,
  } as const;
  assert.deepEqual(probeEntry(base), {
    name: 'logins',
    program: 'api',
    function: 'main.(*Server).login',
    capture: { user: 'req.User', len_req_items: 'len(req.Items)', ok: 'a == b' },
    condition: 'req.User == "alice"',
    rateLimit: 100,
    duration: true,
    ttl: '30m',
  });
  assert.deepEqual(
    probeEntry({
      ...base,
      at: 'line',
      where: 'main.go:42',
      captures: '',
      condition: '',
      rate: '',
      ttl: '',
      duration: false,
    }),
    {
      name: 'logins',
      program: 'api',
      line: 'main.go:42',
    },
  );
  assert.equal((probeEntry({ ...base, stack: true }) as Record<string, unknown>).stack, true);
  assert.match(String(probeEntry({ ...base, name: '9x' })), /Name/);
  assert.match(String(probeEntry({ ...base, captures: 'a=x\na=y' })), /column a is given twice/);
  assert.match(String(probeEntry({ ...base, rate: '-1' })), /Rate/);
  assert.match(String(probeEntry({ ...base, ttl: 'soon' })), /Time to live/);
  assert.match(String(probeEntry({ ...base, where: '' })), /function/);
});

test('the probes view’s SQL: hit rate per bucket and durations over the window, from the real probe tables', async () => {
  const nowUs = Date.now() * 1000;
  const counts = (process: string, endUs: number, hits: number) => ({
    probe: 'web_calls',
    process,
    startUs: endUs - 1_000_000,
    endUs,
    hits,
    matched: hits,
    events: hits - 1,
    rejected: 1,
    conditionErrors: 0,
    rateLimited: 0,
    ringFull: 0,
    agentDropped: 0,
    durations: hits,
    durationSumNs: 0,
    costNs: 0,
    cpuNs: 0,
  });
  await store.addProbeBatch({
    agentId: 'a1',
    events: [],
    // Two processes in one bucket, and one interval older than the window.
    counts: [
      counts('h:1', nowUs - 30_000_000, 5),
      counts('h:2', nowUs - 30_000_000, 7),
      counts('h:1', nowUs - 1_200_000_000, 100),
    ],
    histograms: [
      {
        probe: 'web_calls',
        process: 'h:1',
        startUs: nowUs - 31_000_000,
        endUs: nowUs - 30_000_000,
        buckets: [
          [1024, 3],
          [4096, 1],
        ],
      },
      {
        probe: 'web_calls',
        process: 'h:2',
        startUs: nowUs - 31_000_000,
        endUs: nowUs - 30_000_000,
        buckets: [[1024, 2]],
      },
      {
        probe: 'other',
        process: 'h:2',
        startUs: nowUs - 31_000_000,
        endUs: nowUs - 30_000_000,
        buckets: [[1024, 50]],
      },
    ],
    notices: [],
  });
  const rate = rowsOf<RateRow>(await store.query(rateSql('web_calls', 15), { latest: true }));
  assert.equal(rate.length, 1);
  assert.deepEqual([rate[0]?.hits, rate[0]?.events, rate[0]?.dropped], [12, 10, 2]);
  assert.equal((rate[0]?.t ?? 0) % bucketMs(15), 0);
  assert.ok(Math.abs((rate[0]?.now ?? 0) - Date.now()) < 60_000);
  // A window of an hour holds the older interval too.
  assert.equal(rowsOf<RateRow>(await store.query(rateSql('web_calls', 60), { latest: true })).length, 2);
  const durations = rowsOf<DurationRow>(await store.query(durationsSql('web_calls', 15), { latest: true }));
  assert.deepEqual(durations, [
    { lt_ns: 1024, n: 5 },
    { lt_ns: 4096, n: 1 },
  ]);
  assert.equal(rowsOf(await store.query(rateSql("x'; --", 15), { latest: true })).length, 0);
});

test("the probes view's stacks: a probe's events' distinct stacks counted in the database, in the window", async () => {
  const nowUs = Date.now() * 1000;
  const event = (timeUs: number, fns: string[] | undefined, probe = 'web_stacks') => ({
    probe,
    process: 'h:1',
    timeUs,
    goroutine: 7,
    thread: 1,
    site: { kind: 'entry', function: 'main.f' },
    ...(fns ? { stack: fns.map((f, i) => ({ function: f, file: 'main.go', line: 10 + i })) } : {}),
    values: {},
  });
  const a = ['main.f', 'main.handle', 'main.main'];
  const b = ['main.f', 'main.other', 'main.main'];
  await store.addProbeBatch({
    agentId: 'a1',
    events: [
      event(nowUs - 5_000_000, a),
      event(nowUs - 4_000_000, a),
      event(nowUs - 3_000_000, a),
      // An entry probe's stack starts at the caller: the probed function is put innermost.
      event(nowUs - 3_000_000, a.slice(1)),
      event(nowUs - 2_000_000, b),
      event(nowUs - 2_000_000, undefined),
      event(nowUs - 2_000_000, a, 'another'),
      event(nowUs - 1_200_000_000, b),
    ],
    counts: [],
    histograms: [],
    notices: [],
  });
  const rows = rowsOf<StackRow>(await store.query(stacksSql('web_stacks', 15), { latest: true }));
  assert.deepEqual(
    rows.map((r) => [[...r.functions], r.n]),
    [
      [a, 4],
      [b, 1],
    ],
  );
  assert.equal(rowsOf<StackRow>(await store.query(stacksSql('web_stacks', 60), { latest: true }))[1]?.n, 2);
});

test('flame boxes: widths are shares of goroutines, children under their parent, narrow ones left out', () => {
  const boxes = flameBoxes(
    [
      { functions: ['c', 'b', 'root'], count: 3 },
      { functions: ['d', 'b', 'root'], count: 1 },
      { functions: ['e', 'root'], count: 4 },
      { functions: ['tiny', 'root'], count: 0.001 },
    ],
    0.01,
  );
  const at = (name: string) => boxes.find((b) => b.name === name);
  assert.equal(at('root')?.width, 8.001 / 8.001);
  assert.deepEqual(at('c')?.path, ['root', 'b', 'c']);
  assert.equal(at('c')?.depth, 2);
  assert.ok(Math.abs((at('b')?.width ?? 0) - 4 / 8.001) < 1e-9);
  // e and b are equal (4): ordered by name, b first at x=0, e after it.
  assert.equal(at('b')?.x, 0);
  assert.ok(Math.abs((at('e')?.x ?? 0) - 4 / 8.001) < 1e-9);
  assert.ok((at('d')?.x ?? 0) >= (at('c')?.x ?? 0) + (at('c')?.width ?? 0) - 1e-9, 'siblings do not overlap');
  assert.equal(at('tiny'), undefined);
});

test('flame boxes: a big snapshot draws only boxes wide enough to see (the cost of its first view)', () => {
  // 512 stacks as testdata/manystacks parks them: nine levels of left/right calls.
  const stacks = Array.from({ length: 512 }, (_, i) => ({
    functions: [
      'main.park',
      ...Array.from({ length: 9 }, (_, l) => ((i >> l) & 1 ? 'main.right' : 'main.left')).reverse(),
      'main.serve',
      'runtime.goexit',
    ],
    count: 20,
  }));
  const boxes = flameBoxes(stacks);
  assert.ok(boxes.every((b) => b.width >= 0.004));
  // The two outer frames, then the levels down to 1/128 of the graph (2 + 4 + … + 128 boxes);
  // every box were 1,536.
  assert.equal(boxes.length, 2 + 254);
  assert.ok(boxes.some((b) => b.depth === 8 && Math.abs(b.width - 1 / 128) < 1e-9));
});

test('a derived table is added to the spec text, comments kept; the same name is replaced', () => {
  const yaml = '# my spec\nversion: 1\nderived:\n  # first\n  - name: a\n    sql: SELECT 1\n';
  const out = withDerivedTable(yaml, 'b', 'SELECT 2\n');
  assert.match(out, /# my spec/);
  assert.match(out, /# first/);
  assert.match(out, /- name: b\n\s+sql: SELECT 2\n/);
  assert.equal(withDerivedTable(out, 'b', 'SELECT 3').match(/name: b/g)?.length, 1);
  assert.match(withDerivedTable('', 'c', 'SELECT 4'), /derived:\n\s+- name: c/);
  assert.throws(() => withDerivedTable('- a\n', 'c', 'SELECT 1'), /not a YAML map/);
});

let target: Target;
let store: DuckDBStore;

before(async () => {
  const { path } = await buildFixture('goroutines');
  target = await startTarget(path, [], {}, /^ready/);
  store = await DuckDBStore.open(mkdtempSync(join(tmpdir(), 'periscope-web-units-')));
  const snap = await snapshotProcess(target.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
  await store.addSnapshot({ processes: [{ hostname: 'h', snapshot: snap }], specText: '' });
});

after(async () => {
  store?.close();
  await target?.kill();
});

test('the goroutines view’s SQL groups and filters a real snapshot in the database', async () => {
  const scope = { latest: true } as const;
  type G = GroupRow;
  const all = rowsOf<G>(await store.query(groupsSql({}, 'count'), scope));
  const total = all[0]?.total ?? 0;
  assert.equal(
    all.reduce((s, g) => s + g.goroutines, 0),
    total,
  );
  const count = Number((await store.query('SELECT count(*) FROM goroutines', scope)).rows[0]?.[0]);
  assert.equal(total, count);
  // Functions are innermost first, the same as the group's frames (loaded when it is opened); a
  // stack prefix (outermost first) taken from a group keeps that group.
  const big = all[0];
  assert.ok(big?.functions?.length);
  const frames = rowsOf<GroupFrameRow>(await store.query(groupFramesSql(big?.stack_id ?? ''), scope));
  assert.deepEqual(
    frames.map((f) => f.function),
    big?.functions,
  );
  const outer = [...(big?.functions ?? [])].reverse();
  const byPrefix = rowsOf<G>(await store.query(groupsSql({ prefix: outer }, 'count'), scope));
  assert.ok(byPrefix.some((g) => g.stack_id === big?.stack_id));
  assert.ok(byPrefix.every((g) => (g.functions?.length ?? 0) >= outer.length));
  // A group is named by the program's own innermost frame, with its file:line; groups parked in
  // the runtime only (no frame of main) are named by their innermost frame outside it.
  for (const g of all) {
    const fns = g.functions ?? [];
    const own = fns.find((x) => x.startsWith('main.'));
    if (own) assert.equal(g.head_function, own, fns.join(' < '));
    else assert.ok(fns.includes(g.head_function ?? ''), fns.join(' < '));
    assert.match(g.head_place ?? '', /\.(go|s):\d+$/);
  }
  const head = frames[(big?.functions ?? []).indexOf(big?.head_function ?? '')];
  assert.equal(big?.head_place, `${head?.file}:${head?.line}`);
  // Function text: case-insensitive, every group has a frame containing it.
  const fn = outer.at(-1)?.slice(-6).toUpperCase() ?? '';
  const byFn = rowsOf<G>(await store.query(groupsSql({ fn }, 'wait'), scope));
  assert.ok(byFn.length > 0);
  assert.ok(byFn.every((g) => (g.functions ?? []).some((f) => f.toUpperCase().includes(fn))));
  // Quotes in filter text are data, not SQL.
  const quoted = await store.query(
    groupsSql({ fn: "x'); DROP TABLE t; --", label: 'a"b=c\'d' }, 'count'),
    scope,
  );
  assert.equal(quoted.rows.length, 0);
  assert.equal(filterCondition({}), 'true');
});

test("an edit of the spec is an insertion into the user's text: a folded SQL block keeps its line breaks", () => {
  const yaml = `version: 1
functions:
  - function: main.f # the lock
    table: t
    capture:
      a: x.A
derived:
  - name: d
    sql: >
      SELECT a,
             count(*) AS n
      FROM t
      GROUP BY a
`;
  const added = withCapture(yaml, { fn: 'main.f', table: 't', column: 'b', expr: 'x.B' });
  assert.equal(added, yaml.replace('      a: x.A\n', '      a: x.A\n      b: x.B\n'));
  const replaced = withCapture(yaml, { fn: 'main.f', table: 't', column: 'a', expr: 'x["k"]' });
  assert.equal(replaced, yaml.replace('a: x.A', 'a: x["k"]'));
  const entry = withCapture(yaml, { fn: 'main.g', table: 'u', column: 'c', expr: 'y' });
  assert.equal(
    entry,
    yaml.replace(
      '      a: x.A\n',
      '      a: x.A\n  - function: main.g\n    table: u\n    capture:\n      c: y\n',
    ),
  );
  const table = withDerivedTable(yaml, 'e', 'SELECT 1\nFROM t');
  assert.equal(table, `${yaml}  - name: e\n    sql: |-\n      SELECT 1\n      FROM t\n`);
  // What an insertion cannot do (a flow map) is the library's edit, the same spec.
  const flow = withCapture('functions:\n  - function: main.f\n    table: t\n    capture: { a: x }\n', {
    fn: 'main.f',
    table: 't',
    column: 'b',
    expr: 'y',
  });
  assert.deepEqual(capturesOf(flow, 'main.f'), [
    { table: 't', column: 'a', expr: 'x' },
    { table: 't', column: 'b', expr: 'y' },
  ]);
});

test('an entry without table: is the table the parser names it: listed so, and a capture joins it', () => {
  const yaml = 'functions:\n  - function: main.(*S).handle\n    capture:\n      a: x\n';
  assert.deepEqual(capturesOf(yaml, 'main.(*S).handle'), [
    { table: 'main_s_handle', column: 'a', expr: 'x' },
  ]);
  const out = withCapture(yaml, { fn: 'main.(*S).handle', table: 'main_s_handle', column: 'b', expr: 'y' });
  assert.equal(out.match(/- function:/g)?.length, 1, out);
  assert.deepEqual(capturesOf(out, 'main.(*S).handle'), [
    { table: 'main_s_handle', column: 'a', expr: 'x' },
    { table: 'main_s_handle', column: 'b', expr: 'y' },
  ]);
});

test('a capture is added to the entry of its function and table, or as a new entry; comments kept', () => {
  const yaml =
    'version: 1\nfunctions:\n  # the lock\n  - function: main.f\n    table: t\n    capture:\n      a: x.A\n';
  const out = withCapture(yaml, { fn: 'main.f', table: 't', column: 'b', expr: 'x.B' });
  assert.match(out, /# the lock/);
  assert.deepEqual(capturesOf(out, 'main.f'), [
    { table: 't', column: 'a', expr: 'x.A' },
    { table: 't', column: 'b', expr: 'x.B' },
  ]);
  // The same column again replaces its expression; another table is another entry.
  const again = withCapture(out, { fn: 'main.f', table: 't', column: 'b', expr: 'x.C' });
  assert.equal(capturesOf(again, 'main.f').find((c) => c.column === 'b')?.expr, 'x.C');
  const other = withCapture(again, { fn: 'main.f', table: 'u', column: 'c', expr: 'y' });
  assert.equal(other.match(/function: main.f/g)?.length, 2);
  assert.deepEqual(
    capturesOf(withCapture('', { fn: 'main.g', table: 'v', column: 'd', expr: 'z' }), 'main.g'),
    [{ table: 'v', column: 'd', expr: 'z' }],
  );
  assert.throws(
    () => withCapture('- a\n', { fn: 'f', table: 't', column: 'c', expr: 'e' }),
    /not a YAML map/,
  );
});

test("the traces view's SQL on a real store: filters, one trace's events in time order, its goroutines' snapshot", async () => {
  const nowUs = Date.now() * 1000;
  const proc = `h:${target.pid}`;
  const trace = (requestId: string, outcome: TraceRecord['outcome'], startUs: number, endUs: number) =>
    ({
      trace: requestId.startsWith('pay') ? 'pay' : 'work',
      requestId,
      process: proc,
      goroutine: 1,
      startUs,
      endUs,
      durationNs: (endUs - startUs) * 1000,
      outcome,
      ...(outcome === 'error' ? { error: "user 'x' not found" } : {}),
      start: { user: 'ann' },
      end: { err: null },
      goroutines: [1, 987654],
      // Stored out of time order: the view reads them by time.
      events: [
        { probe: 'start', timeUs: startUs, goroutine: 1, function: 'main.work', values: { user: 'ann' } },
        { probe: 'end', timeUs: endUs, goroutine: 1, function: 'main.work', values: { err: null } },
        {
          probe: 'step',
          timeUs: startUs + 10,
          goroutine: 1,
          function: 'main.step',
          values: { n: { a: [1, 2] } },
        },
      ],
      eventsDropped: 0,
    }) satisfies TraceRecord;
  await store.addTraceBatch({
    agentId: 'a1',
    traces: [
      // Around the snapshot the suite took at its start, and long before it.
      trace("work'1", 'error', nowUs - 600_000_000, nowUs + 60_000_000),
      trace('pay1', 'slow', nowUs - 900_000_000, nowUs - 800_000_000),
    ],
    counts: [],
  });
  const all = { all: true } as const;
  const list = rowsOf<TraceRow>(await store.query(tracesSql({}), all));
  assert.deepEqual(
    list.map((t) => t.request_id),
    ["work'1", 'pay1'],
  );
  assert.deepEqual(list[0]?.start_values, { user: 'ann' });
  assert.equal(list[0]?.error, "user 'x' not found");
  assert.ok(Math.abs(Date.parse(list[1]?.end_time ?? '') - (nowUs - 800_000_000) / 1000) < 1000);
  assert.deepEqual(
    rowsOf<TraceRow>(await store.query(tracesSql({ trace: 'pay' }), all)).map((t) => t.request_id),
    ['pay1'],
  );
  assert.deepEqual(
    rowsOf<TraceRow>(await store.query(tracesSql({ trace: 'work', outcome: 'slow' }), all)).length,
    0,
  );
  assert.deepEqual(
    rowsOf<{ trace: string }>(await store.query(traceNamesSql(), all)).map((t) => t.trace),
    ['pay', 'work'],
  );
  assert.equal(rowsOf<TraceRow>(await store.query(traceSql("work'1"), all))[0]?.outcome, 'error');
  const events = rowsOf<TraceEventRow>(await store.query(traceEventsSql("work'1"), all));
  assert.deepEqual(
    events.map((e) => e.probe),
    ['start', 'step', 'end'],
  );
  assert.deepEqual(events[1]?.captures, { n: { a: [1, 2] } });
  // Goroutine 1 is in the snapshot taken while the request ran; the other is in none; the
  // earlier request ran before any snapshot.
  const snapshot = Number((await store.query('SELECT max(snapshot_id) FROM snapshots', all)).rows[0]?.[0]);
  assert.deepEqual(rowsOf<TraceGoroutineRow>(await store.query(traceGoroutinesSql("work'1"), all)), [
    { goroutine_id: 1, snapshot_id: snapshot },
    { goroutine_id: 987654, snapshot_id: null },
  ]);
  assert.deepEqual(
    rowsOf<TraceGoroutineRow>(await store.query(traceGoroutinesSql('pay1'), all)).map((g) => g.snapshot_id),
    [null, null],
  );
});

test('a function table and a link are added to the spec text as insertions; the same table or link name is replaced', () => {
  const yaml =
    '# mine\nfunctions:\n  - function: main.f # f\n    table: t\n    capture:\n      a: x.A\nlinks:\n  - name: l\n    from: { table: t, columns: [a] }\n    to: { table: t, columns: [a] }\n';
  const ft = withFunctionTable(yaml, { fn: 'main.g', table: 'u', capture: { b: 'y.B', c: 'y.C' } });
  assert.equal(
    ft,
    yaml.replace(
      '      a: x.A\n',
      '      a: x.A\n  - function: main.g\n    table: u\n    capture:\n      b: y.B\n      c: y.C\n',
    ),
  );
  const again = withFunctionTable(ft, { fn: 'main.h', table: 'u', capture: { d: 'z' } });
  // A second table on a function another table captures on: a second entry, the first kept.
  const second = withFunctionTable(yaml, { fn: 'main.f', table: 'v', capture: { d: 'z' } });
  assert.equal(second.match(/function: main.f/g)?.length, 2);
  assert.match(second, /table: t\n/);
  assert.match(second, /table: v\n {4}capture:\n {6}d: z\n/);
  assert.equal(again.match(/table: u/g)?.length, 1);
  assert.match(again, /function: main.h/);
  const link = withLink(yaml, {
    name: 'm',
    from: { table: 't', columns: ['a', 'b'] },
    to: { table: 'u', columns: ['b', 'a'] },
  });
  assert.equal(
    link,
    `${yaml}  - name: m\n    from:\n      table: t\n      columns:\n        - a\n        - b\n    to:\n      table: u\n      columns:\n        - b\n        - a\n`,
  );
  assert.equal(
    withLink(link, {
      name: 'm',
      from: { table: 't', columns: ['a'] },
      to: { table: 'u', columns: ['a'] },
    }).match(/name: m/g)?.length,
    1,
  );
  assert.match(
    withLink('version: 1\n', {
      name: 'n',
      from: { table: 't', columns: ['a'] },
      to: { table: 'u', columns: ['a'] },
    }),
    /links:\n\s+- name: n/,
  );
});

test('the add-an-investigation form: each trigger as the body of POST /v1/investigations; what the form gets wrong refused', () => {
  const base = {
    name: 'inv-1',
    question: ' why? ',
    trigger: 'schedule',
    every: '5m',
    select: 'program=api',
    probe: '',
    where: '',
    trace: '',
    over: '',
    snapshot: '',
    maxFires: '3',
    minInterval: '',
    reports: 'n=SELECT count(*) FROM goroutines\n\nw = SELECT 1',
  } as const;
  assert.deepEqual(investigationBody(base), {
    name: 'inv-1',
    question: 'why?',
    triggers: [{ schedule: { every: '5m', select: 'program=api' } }],
    report: [
      { name: 'n', sql: 'SELECT count(*) FROM goroutines' },
      { name: 'w', sql: 'SELECT 1' },
    ],
    limits: { maxFires: 3 },
  });
  const probe = investigationBody({
    ...base,
    trigger: 'probe',
    probe: 'p',
    where: 'qty > 1',
    reports: '',
    maxFires: '',
  });
  assert.deepEqual(probe, {
    name: 'inv-1',
    question: 'why?',
    triggers: [{ probe: { name: 'p', where: 'qty > 1' } }],
  });
  const slow = investigationBody({
    ...base,
    trigger: 'slow',
    trace: 't',
    over: '2s',
    snapshot: 'process',
    reports: '',
  });
  assert.deepEqual((slow as { triggers: unknown }).triggers, [{ slow: { trace: 't', over: '2s' } }]);
  assert.equal((slow as { snapshot: unknown }).snapshot, 'process');
  assert.deepEqual((investigationBody({ ...base, trigger: 'error' }) as { triggers: unknown }).triggers, [
    { error: {} },
  ]);
  assert.match(String(investigationBody({ ...base, name: 'a b' })), /Name/);
  assert.match(String(investigationBody({ ...base, every: '' })), /Every/);
  assert.match(String(investigationBody({ ...base, maxFires: '0' })), /At most/);
  assert.match(String(investigationBody({ ...base, reports: 'SELECT 1' })), /NAME=SQL/);
});

test("the traces view's counts: per trace, summed over processes and the intervals of the last hour", async () => {
  const nowUs = Date.now() * 1000;
  const c = (trace: string, process: string, endUs: number, n: number) => ({
    trace,
    process,
    startUs: endUs - 10_000_000,
    endUs,
    requests: n,
    kept: 1,
    dropped: n - 1,
    overRate: 0,
    overMemory: 0,
    eventsDropped: 2,
    unfinished: 1,
  });
  await store.addTraceBatch({
    agentId: 'a1',
    traces: [],
    counts: [
      c('cnt_a', 'h:1', nowUs - 60_000_000, 5),
      c('cnt_a', 'h:2', nowUs - 1_200_000_000, 7),
      // Two hours ago: not in the last hour.
      c('cnt_a', 'h:1', nowUs - 7_200_000_000, 100),
      c('cnt_b', 'h:1', nowUs - 60_000_000, 3),
    ],
  });
  const rows = rowsOf<TraceCountsRow>(await store.query(traceCountsSql(), { all: true })).filter((r) =>
    r.trace.startsWith('cnt_'),
  );
  assert.deepEqual(rows, [
    {
      trace: 'cnt_a',
      requests: 12,
      kept: 2,
      dropped: 10,
      over_rate: 0,
      over_memory: 0,
      events_dropped: 4,
      unfinished: 2,
    },
    {
      trace: 'cnt_b',
      requests: 3,
      kept: 1,
      dropped: 2,
      over_rate: 0,
      over_memory: 0,
      events_dropped: 2,
      unfinished: 1,
    },
  ]);
});
