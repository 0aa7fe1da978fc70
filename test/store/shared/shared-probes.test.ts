/**
 * Probe events and request traces in the scaled-out store, with a real PostgreSQL and a
 * file:// object store: batches stored through server A are read on server B through the same
 * tables as the embedded store shows (compared with a real embedded store given the same
 * batches); event seqs are one fleet-wide order in which a follower never meets a lower seq;
 * a program-limited token sees the same processes on every server; a failed flush is retried,
 * then refused with its reason, never half visible; a restarted cache keeps what it loaded.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DuckDBStore } from '../../../src/store/duckdb-store.js';
import { FileObjects } from '../../../src/store/file-objects.js';
import type { ObjectStore } from '../../../src/store/object-store.js';
import type { ProcessFilter } from '../../../src/store/process-filter.js';
import { SharedStore } from '../../../src/store/shared/shared-store.js';
import type { ProbeBatchInput, Store } from '../../../src/store/store.js';
import type { TraceBatchInput } from '../../../src/store/trace-store.js';
import { freshDataDir, openStore } from '../store-support.js';
import {
  BILLING,
  callsCount,
  callsHistogram,
  callsSpec,
  FACTS,
  followSeqs,
  ORDERS,
  storeOpener,
  traceCount,
} from './probe-batch-support.js';
import { freshCacheDir, freshObjectsUrl, startTestPostgres, type TestPostgres } from './shared-support.js';

const SPEC = callsSpec('n: n, who: req.User');

const ONLY_ORDERS: ProcessFilter = [[{ key: 'program', op: '=', value: 'orders' }]];
const FAST = { intervalMs: 100 };

let pg: TestPostgres;

before(async () => {
  pg = await startTestPostgres();
});

after(() => pg?.stop());

/** Batch `i` of agent `agent`: `n` events of probe calls (values from i), counts, a histogram, a notice. */
function probeBatch(agent: string, i: number, n = 3, process = ORDERS): ProbeBatchInput {
  const t0 = 1_700_000_000_000_000 + i * 1000;
  return {
    agentId: agent,
    processes: FACTS,
    events: Array.from({ length: n }, (_, k) => ({
      probe: k === 2 ? 'other' : 'calls',
      process: k === 1 ? BILLING : process,
      timeUs: 1_700_000_000_000_000 + i * 1000 + k,
      goroutine: 100 + k,
      thread: 7,
      site: { kind: 'entry', function: 'main.handle', file: 'main.go', line: 42 },
      values: { n: i * 10 + k, 'req.User': k % 2 === 0 ? `u${i}` : null },
      ...(k === 0
        ? { durationNs: 1500 + i, labels: { team: 'a' }, stack: [{ function: 'main.handle' }] }
        : {}),
      ...(k === 1 ? { errors: { 'req.User': 'nil pointer' } } : {}),
    })),
    counts: [callsCount(process, t0, { hits: n + 2, matched: n, rejected: 2, durationSumNs: 1500 + i })],
    histograms: [callsHistogram(process, t0, i)],
    notices:
      i === 0
        ? [{ probe: 'calls', process, timeUs: 1_700_000_000_000_000, kind: 'attached', message: 'on orders' }]
        : [],
  };
}

function traceBatch(agent: string, i: number): TraceBatchInput {
  const t0 = 1_700_000_000_000_000 + i * 1000;
  return {
    agentId: agent,
    traces: [ORDERS, BILLING].map((process, k) => ({
      trace: 'slow_requests',
      requestId: `${process}:${50 + k}:${t0}`,
      process,
      goroutine: 50 + k,
      startUs: t0,
      endUs: t0 + 900,
      durationNs: 900_000,
      outcome: k === 0 ? ('error' as const) : ('slow' as const),
      ...(k === 0 ? { error: 'boom' } : {}),
      start: { id: i },
      end: { err: k === 0 ? 'boom' : null },
      goroutines: [50 + k, 60 + k],
      events: [
        { probe: 'start', timeUs: t0, goroutine: 50 + k, function: 'main.serve', values: { id: i } },
        {
          probe: 'db',
          timeUs: t0 + 100,
          goroutine: 60 + k,
          function: 'main.query',
          values: { q: 'SELECT 1' },
        },
      ],
      eventsDropped: k,
    })),
    counts: [traceCount('slow_requests', ORDERS, t0)],
  };
}

const QUERIES = [
  'SELECT seq, probe, process_id, agent_id, "time", goroutine_id, thread_id, site_kind, function, file, line, duration_ns, captures, errors, stack, labels FROM probe_events ORDER BY seq',
  'SELECT seq, "time", process_id, n, who, errors FROM calls ORDER BY seq',
  'SELECT probe, process_id, count(*) AS n, sum(hits) AS hits, sum(matched) AS matched, sum(duration_sum_ns) AS d, min(start_time), max(end_time) FROM probe_counts GROUP BY ALL ORDER BY ALL',
  'SELECT probe, lt_ns, sum(count) AS n FROM probe_durations GROUP BY ALL ORDER BY ALL',
  'SELECT "time", probe, process_id, agent_id, kind, message FROM probe_notices ORDER BY ALL',
  'SELECT trace, request_id, process_id, agent_id, goroutine_id, start_time, end_time, duration_ms, outcome, error, start_values, end_values, goroutines, events, events_dropped FROM traces ORDER BY request_id',
  'SELECT request_id, trace, process_id, seq, "time", goroutine_id, probe, function, captures FROM trace_events ORDER BY request_id, seq',
  'SELECT trace, process_id, sum(requests) AS r, sum(kept) AS k, sum(dropped) AS d FROM trace_counts GROUP BY ALL ORDER BY ALL',
];

async function rowsOf(s: Store, sql: string, only?: ProcessFilter): Promise<readonly unknown[]> {
  return (await s.query(sql, { latest: true }, only)).rows;
}

test('probe and trace batches stored through A are read on B with the embedded store’s tables and values', async () => {
  const url = pg.database('probes_views');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST });
  const a = await open();
  const b = await open();
  const embedded = await openStore(freshDataDir());
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    await embedded.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    for (let i = 0; i < 4; i++) {
      const seqA = await a.addProbeBatch(probeBatch('agent-a', i));
      const seqE = await embedded.addProbeBatch(probeBatch('agent-a', i));
      assert.equal(seqA, seqE, 'the last seq of each batch, as the embedded store numbers it');
      await a.addTraceBatch(traceBatch('agent-a', i));
      await embedded.addTraceBatch(traceBatch('agent-a', i));
    }
    for (const sql of QUERIES) {
      const want = await rowsOf(embedded, sql);
      assert.ok(want.length > 0, `the embedded store has rows for ${sql}`);
      assert.deepEqual(await rowsOf(b, sql), want, `on B: ${sql}`);
      assert.deepEqual(await rowsOf(a, sql), want, `on A: ${sql}`);
    }
    assert.deepEqual(
      await b.probeEvents({ after: 2, limit: 5 }),
      await embedded.probeEvents({ after: 2, limit: 5 }),
    );
    assert.deepEqual(
      await b.probeEvents({ probe: 'calls', after: 0, limit: 100, last: 3 }),
      await embedded.probeEvents({ probe: 'calls', after: 0, limit: 100, last: 3 }),
    );
    assert.deepEqual(await b.traces({ limit: 5 }), await embedded.traces({ limit: 5 }));
    assert.deepEqual(
      await b.traces({ limit: 5, outcome: 'error' }),
      await embedded.traces({ limit: 5, outcome: 'error' }),
    );
    // The objects: one per raw table of each flush, under probes/<day>/<writer>-<n>/.
    const keys = (await FileObjects.fromUrl(new URL(objects)).list('probes/')).map((o) => o.key);
    assert.ok(keys.length >= 8, keys.join(', '));
    for (const k of keys) assert.match(k, /^probes\/\d{4}-\d\d-\d\d\/[0-9a-f]{12}-\d+\/[a-z_]+\.parquet$/);
    assert.ok(keys.some((k) => k.endsWith('/probe_events.parquet')));
    assert.ok(keys.some((k) => k.endsWith('/trace_events.parquet')));
  } finally {
    a.close();
    b.close();
    embedded.close();
  }
});

test('event seqs are one fleet-wide order: batches of A and B interleave, and a follower on either never meets a lower seq or misses one', async () => {
  const url = pg.database('probes_order');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST });
  const a = await open();
  const b = await open();
  try {
    let writing = true;
    const follow = (s: SharedStore) => followSeqs(s, () => writing, 7);
    const followers = [follow(a), follow(b)];
    const write = async (s: SharedStore, agent: string) => {
      const ends: number[] = [];
      for (let i = 0; i < 25; i++) {
        // Several batches at once: they share a flush, in arrival order.
        const done = await Promise.all([
          s.addProbeBatch(probeBatch(agent, i)),
          s.addProbeBatch(probeBatch(agent, i)),
        ]);
        ends.push(...done);
      }
      return ends;
    };
    const [endsA, endsB] = await Promise.all([write(a, 'agent-a'), write(b, 'agent-b')]);
    writing = false;
    const [seenA, seenB] = await Promise.all(followers);
    const all = Array.from({ length: 2 * 2 * 25 * 3 }, (_, i) => i + 1);
    assert.deepEqual(seenA, all, 'the follower on A read every seq once, in order');
    assert.deepEqual(seenB, all, 'the follower on B read every seq once, in order');
    for (const ends of [endsA, endsB])
      assert.deepEqual(
        ends,
        [...ends].sort((x, y) => x - y),
        'each server’s batches get seqs in the order they came',
      );
    // Both servers' agents are in the one order, mixed.
    const events = await a.probeEvents({ after: 0, limit: 1000 });
    const agents = events.map((e) => e.agentId);
    assert.ok(agents.includes('agent-a') && agents.includes('agent-b'));
    assert.deepEqual(events, await b.probeEvents({ after: 0, limit: 1000 }));
  } finally {
    a.close();
    b.close();
  }
});

test('a program-limited token sees the same processes’ probe data and traces on every server', async () => {
  const url = pg.database('probes_limited');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST });
  const a = await open();
  const b = await open();
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    await a.addProbeBatch(probeBatch('agent-a', 0));
    await a.addTraceBatch(traceBatch('agent-a', 0));
    for (const s of [a, b]) {
      assert.deepEqual([...(await s.visibleProbeProcesses(ONLY_ORDERS))], [ORDERS]);
      assert.deepEqual(await rowsOf(s, 'SELECT DISTINCT process_id FROM probe_events', ONLY_ORDERS), [
        [ORDERS],
      ]);
      assert.deepEqual(await rowsOf(s, 'SELECT DISTINCT process_id FROM traces', ONLY_ORDERS), [[ORDERS]]);
      assert.deepEqual(
        await rowsOf(s, 'SELECT DISTINCT process_id FROM probe_events ORDER BY 1'),
        [[BILLING], [ORDERS]],
        'unlimited: both',
      );
      assert.deepEqual(
        (await s.traces({ limit: 10, processes: `SELECT '${ORDERS}'` })).map((t) => t.process),
        [ORDERS],
      );
    }
    // A process's facts change (it moved to another program): every server follows.
    await b.addProbeBatch({
      agentId: 'agent-b',
      processes: [{ ...FACTS[0]!, program: 'billing' }],
      events: [],
      counts: [],
      histograms: [],
      notices: [],
    });
    await b.addProbeBatch({ ...probeBatch('agent-b', 1, 1), processes: [] });
    for (const s of [a, b]) assert.deepEqual([...(await s.visibleProbeProcesses(ONLY_ORDERS))], []);
  } finally {
    a.close();
    b.close();
  }
});

/** The object store of `url`, whose puts of probe objects fail while `failing()` says so. */
function failingWhile(url: string, failing: () => boolean): ObjectStore {
  const real = FileObjects.fromUrl(new URL(url));
  return {
    put: async (key, body) => {
      if (failing() && key.startsWith('probes/') && key.endsWith('probe_counts.parquet'))
        throw new Error('disk full');
      await real.put(key, body);
    },
    get: (key) => real.get(key),
    list: (prefix) => real.list(prefix),
    delete: (keys) => real.delete(keys),
    describe: () => real.describe(),
  };
}

test('a flush that fails is tried again; past the give-up time its batches are refused with the reason; nothing half-written is seen', async () => {
  const url = pg.database('probes_fail');
  const objects = freshObjectsUrl();
  let failing = true;
  const a = await SharedStore.open({
    store: url,
    objects: failingWhile(objects, () => failing),
    cacheDir: freshCacheDir(),
    probeFlush: { intervalMs: 100, giveUpMs: 1500 },
  });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir(), probeFlush: FAST });
  try {
    // Failing for good: refused after the give-up time, with why.
    await assert.rejects(
      a.addProbeBatch(probeBatch('agent-a', 0)),
      /could not be stored in the shared store \(tried for \d+ s\): disk full; check PostgreSQL and the object store/,
    );
    assert.ok(a.probeState().failures >= 2, `tried more than once: ${JSON.stringify(a.probeState())}`);
    assert.deepEqual(await b.probeEvents({ after: 0, limit: 10 }), []);
    assert.deepEqual(await rowsOf(b, 'SELECT count(*) FROM probe_events'), [[0]]);
    // The events objects put before the counts failed were deleted.
    assert.deepEqual(await FileObjects.fromUrl(new URL(objects)).list('probes/'), []);
    // Failing for a while: the batch lands once the store takes writes again.
    const later = a.addProbeBatch(probeBatch('agent-a', 1));
    await new Promise((r) => setTimeout(r, 400));
    failing = false;
    assert.equal(await later, 3);
    assert.deepEqual(
      (await b.probeEvents({ after: 0, limit: 10 })).map((e) => e.values.n),
      [10, 11, 12],
    );
  } finally {
    a.close();
    b.close();
  }
});

test('a restarted server’s cache keeps the batches it loaded and loads the rest; a fresh cache loads them all', async () => {
  const url = pg.database('probes_restart');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST });
  const dirB = freshCacheDir();
  const a = await open();
  let b = await open(dirB);
  let c: SharedStore | undefined;
  try {
    await a.addProbeBatch(probeBatch('agent-a', 0));
    assert.equal((await b.probeEvents({ after: 0, limit: 100 })).length, 3);
    const loaded = b.probeState().lastBatch;
    b.close();
    await new Promise((r) => setTimeout(r, 300)); // the cache file is free again
    await a.addProbeBatch(probeBatch('agent-a', 1));
    b = await open(dirB);
    const want = await a.probeEvents({ after: 0, limit: 100 });
    assert.deepEqual(await b.probeEvents({ after: 0, limit: 100 }), want);
    assert.equal(b.probeState().loaded, 1, 'only the batch indexed while B was away is loaded');
    assert.ok(b.probeState().lastBatch > loaded);
    c = await open();
    assert.deepEqual(await c.probeEvents({ after: 0, limit: 100 }), want);
    // Others' batches wake listeners (the long-poll of GET /v1/events) within the watch.
    const woke = new Promise<number>((resolve) => {
      const t0 = performance.now();
      c!.onProbeEvents(() => resolve(performance.now() - t0));
    });
    await a.addProbeBatch(probeBatch('agent-a', 2));
    const ms = await woke;
    assert.ok(ms < 5000, `woken after ${ms} ms`);
    console.log(
      `# another server's flushed batch woke C's listeners ${ms.toFixed(0)} ms after A's flush began`,
    );
  } finally {
    a.close();
    b.close();
    c?.close();
  }
});

test('probe data a server kept in its cache before it was shared is copied into the shared store at its first start', async () => {
  const url = pg.database('probes_legacy');
  const objects = freshObjectsUrl();
  const dir = freshCacheDir();
  // The cache as a server before the shared probe store left it: probe rows of its own agents.
  const old = await DuckDBStore.open(dir, { noExternalAccess: true });
  await old.addProbeBatch(probeBatch('agent-old', 0));
  await old.addTraceBatch(traceBatch('agent-old', 0));
  const want = await old.probeEvents({ after: 0, limit: 100 });
  const wantTraces = await old.traces({ limit: 10 });
  old.close();
  const other = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir(), probeFlush: FAST });
  await other.addProbeBatch(probeBatch('agent-b', 1, 1)); // seq 1 is taken: the old rows move after it
  const lines: string[] = [];
  const a = await SharedStore.open({
    store: url,
    objects,
    cacheDir: dir,
    probeFlush: FAST,
    log: (l) => lines.push(l),
  });
  try {
    assert.match(lines.join('\n'), /copied into the shared store: 3 events, 2 request traces/);
    const moved = want.map((e) => ({ ...e, seq: e.seq + 1 }));
    for (const s of [a, other]) {
      const events = await s.probeEvents({ after: 1, limit: 100 });
      assert.deepEqual(events, moved);
      assert.deepEqual(await s.traces({ limit: 10 }), wantTraces);
      assert.deepEqual([...(await s.visibleProbeProcesses(ONLY_ORDERS))], [ORDERS]);
    }
  } finally {
    a.close();
    other.close();
  }
  // Started again: nothing copied twice.
  const again = await SharedStore.open({ store: url, objects, cacheDir: dir, log: (l) => lines.push(l) });
  try {
    assert.equal((await again.probeEvents({ after: 0, limit: 100 })).length, 4);
    assert.equal(lines.filter((l) => /copied into the shared store/.test(l)).length, 1);
  } finally {
    again.close();
  }
});

test('a server that stops writes what it buffered before its connection ends', async () => {
  const url = pg.database('probes_close');
  const objects = freshObjectsUrl();
  const a = await SharedStore.open({
    store: url,
    objects,
    cacheDir: freshCacheDir(),
    probeFlush: { intervalMs: 60_000 },
  });
  const b = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir(), probeFlush: FAST });
  try {
    let settled = false;
    const stored = a.addProbeBatch(probeBatch('agent-a', 0)).finally(() => {
      settled = true;
    });
    await a.close(); // long before its next flush: it resolves once the batch is written
    assert.ok(settled, 'the batch was written before close resolved');
    assert.equal(await stored, 3);
    assert.deepEqual(
      (await b.probeEvents({ after: 0, limit: 10 })).map((e) => e.values.n),
      [0, 1, 2],
    );
    await assert.rejects(a.addProbeBatch(probeBatch('agent-a', 1)), /this server is stopping/);
  } finally {
    b.close();
  }
});

test('close resolves once a flush under way, the buffer behind it and the cache are done; the pool then ends', async () => {
  const url = pg.database('probes_close_busy');
  const objects = freshObjectsUrl();
  const dir = freshCacheDir();
  const a = await SharedStore.open({ store: url, objects, cacheDir: dir, probeFlush: { intervalMs: 20 } });
  const stored: Promise<number>[] = [];
  // Batches every few ms for a while: flushes (and their loads into the cache) run all along.
  const until = Date.now() + 400;
  for (let i = 0; Date.now() < until; i++) {
    stored.push(a.addProbeBatch(probeBatch('agent-a', i)));
    await new Promise((r) => setTimeout(r, 3));
  }
  const results = stored.map((p) =>
    p.then(
      () => 'stored',
      () => 'refused',
    ),
  );
  assert.deepEqual(await a.close(), []);
  // Every batch settled before close resolved, and was stored (none refused).
  const states = await Promise.race([
    Promise.all(results),
    new Promise<string>((r) => setImmediate(() => r('still pending'))),
  ]);
  assert.ok(Array.isArray(states), `batches ${states} after close resolved`);
  assert.deepEqual(new Set(states), new Set(['stored']));
  const pgCheck = await SharedStore.open({ store: url, objects, cacheDir: freshCacheDir() });
  try {
    assert.equal((await pgCheck.probeEvents({ after: 0, limit: 100_000 })).length, 3 * stored.length);
  } finally {
    await pgCheck.close();
  }
  // The cache's DuckDB file is closed: it opens again at once, without waiting for a lock.
  (await DuckDBStore.open(dir, { noExternalAccess: true, waitMs: 0 })).close();
});
