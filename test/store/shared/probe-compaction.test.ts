/**
 * Compaction and retention of probe data in the scaled-out store (probe-compaction.ts,
 * probe-retention.ts), on a real PostgreSQL and a file:// object store: two servers read the
 * same rows with the same seqs before and after runs of flushes are merged, as does a server
 * started afterwards and one whose cache held part of a merged run; a follower reading after
 * its cursor (as `events --follow` does) meets every seq once while compaction runs; a
 * compaction killed between writing and swapping shows nothing and its objects are collected;
 * retention deletes from the objects and from every server's cache exactly what the embedded
 * store deletes for the same rules, and counts it; retention passes are pruned once old and a
 * server that missed a pruned one loads afresh; a cache keeps within its share of its bound.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FileObjects } from '../../../src/store/file-objects.js';
import { parseRetentionRule } from '../../../src/store/retention.js';
import { S3Objects } from '../../../src/store/s3-objects.js';
import { type ProbeBatchRow, probeBatchRows } from '../../../src/store/shared/pg-probe-rewrites.js';
import { connectPg } from '../../../src/store/shared/pg-schema.js';
import { compactionRuns, rewritePrefix } from '../../../src/store/shared/probe-compaction.js';
import { rewriteProbeObjects } from '../../../src/store/shared/probe-objects.js';
import { SharedStore } from '../../../src/store/shared/shared-store.js';
import type { ProbeBatchInput, Store } from '../../../src/store/store.js';
import type { TraceBatchInput } from '../../../src/store/trace-store.js';
import { type S3Server, startS3Server } from '../../../support/s3-server.js';
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

const SPEC = callsSpec('n: n');

const UNKNOWN = 'host-u:30'; // no facts: the `*` rule
const HOUR_US = 3_600_000_000;
const T0 = 1_700_000_000_000_000;
/** Compaction only when the test asks, of every flush (no age), replaced objects deleted at once. */
const COMPACT = { intervalMs: 0, ageMs: 0, garbageAgeMs: 0 };
const FAST = { intervalMs: 50 };

let pg: TestPostgres;

before(async () => {
  pg = await startTestPostgres();
});

after(() => pg?.stop());

/** Batch `i`: 3 events (orders, billing, a process without facts) `i` hours after T0, a count, a histogram. */
function probeBatch(agent: string, i: number): ProbeBatchInput {
  const t = T0 + i * HOUR_US;
  return {
    agentId: agent,
    processes: FACTS,
    events: [ORDERS, BILLING, UNKNOWN].map((process, k) => ({
      probe: 'calls',
      process,
      timeUs: t + k,
      goroutine: 100 + k,
      thread: 7,
      site: { kind: 'entry', function: 'main.handle', file: 'main.go', line: 42 },
      values: { n: i * 10 + k },
      ...(k === 0 ? { durationNs: 1500 + i } : {}),
    })),
    counts: [ORDERS, BILLING].map((process) =>
      callsCount(process, t, { hits: 3, matched: 3, rejected: 0, durationSumNs: 1500 + i }),
    ),
    histograms: [callsHistogram(BILLING, t, i)],
    notices:
      i % 5 === 0 ? [{ probe: 'calls', process: ORDERS, timeUs: t, kind: 'attached', message: `n${i}` }] : [],
  };
}

function traceBatch(agent: string, i: number): TraceBatchInput {
  const t = T0 + i * HOUR_US;
  return {
    agentId: agent,
    traces: [ORDERS, BILLING].map((process, k) => ({
      trace: 'slow',
      requestId: `${process}:${i}`,
      process,
      goroutine: 50 + k,
      startUs: t,
      endUs: t + 900,
      durationNs: 900_000,
      outcome: 'slow' as const,
      start: { id: i },
      end: {},
      goroutines: [50 + k],
      events: [
        { probe: 'start', timeUs: t + 1, goroutine: 50 + k, function: 'main.serve', values: { id: i } },
      ],
      eventsDropped: 0,
    })),
    counts: [traceCount('slow', BILLING, t)],
  };
}

const QUERIES = [
  'SELECT seq, probe, process_id, agent_id, "time", goroutine_id, duration_ns, captures FROM probe_events ORDER BY seq',
  'SELECT seq, "time", process_id, n FROM calls ORDER BY seq',
  'SELECT probe, process_id, start_time, end_time, hits, duration_sum_ns FROM probe_counts ORDER BY ALL',
  'SELECT probe, process_id, start_time, lt_ns, count FROM probe_durations ORDER BY ALL',
  'SELECT "time", probe, process_id, kind, message FROM probe_notices ORDER BY ALL',
  'SELECT trace, request_id, process_id, start_time, end_time, events FROM traces ORDER BY request_id',
  'SELECT request_id, seq, "time", probe FROM trace_events ORDER BY request_id, seq',
  'SELECT trace, process_id, start_time, requests FROM trace_counts ORDER BY ALL',
];

async function everything(s: Store): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (const sql of QUERIES) out.push([...(await s.query(sql, { latest: true })).rows]);
  return out;
}

/** Writes `n` batches (and traces) through a and b alternately, from `from`. */
async function write(a: SharedStore, b: SharedStore, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const s = i % 2 === 0 ? a : b;
    await Promise.all([
      s.addProbeBatch(probeBatch(`agent-${i % 2}`, i)),
      s.addTraceBatch(traceBatch(`agent-${i % 2}`, i)),
    ]);
  }
}

async function batchRows(url: string) {
  const pool = await connectPg(url);
  try {
    return await probeBatchRows(pool, 'true');
  } finally {
    await pool.end();
  }
}

test('compaction: two servers read the same rows and seqs before and after; a server started later and one that held part of a merged run read the same', async () => {
  const url = pg.database('compact_same');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST, probeCompaction: COMPACT });
  const a = await open();
  const b = await open();
  const dirD = freshCacheDir();
  let d = await open(dirD);
  let c: SharedStore | undefined;
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    await write(a, b, 0, 6);
    // D holds the first part only, then is away while the rest is written and merged.
    assert.equal((await d.probeEvents({ after: 0, limit: 1000 })).length, 18);
    const dHeld = d.probeState().lastBatch;
    d.close();
    await write(a, b, 6, 6);
    const before = await everything(a);
    assert.equal((before[0] as unknown[]).length, 36);
    assert.deepEqual(await everything(b), before, 'B before');
    const flushes = await batchRows(url);
    assert.ok(flushes.length >= 12, `${flushes.length} flushes`);
    assert.ok(flushes.at(-1)!.batchNo > dHeld, 'D missed some');

    const pass = await a.compactProbes();
    assert.equal(pass.locked, false);
    assert.equal(pass.replaced, flushes.length, JSON.stringify(pass));
    assert.equal(pass.merged, 1, 'every flush of the hour in one batch');
    const rows = await batchRows(url);
    assert.equal(rows.length, 1);
    assert.equal(
      rows[0]!.batchNo,
      flushes.at(-1)!.batchNo,
      'the merged batch takes the last number of its run',
    );
    assert.equal(rows[0]!.batchFirst, flushes[0]!.batchNo);
    assert.equal(rows[0]!.seqFirst, 1);
    assert.equal(rows[0]!.events, 36);

    assert.deepEqual(await everything(a), before, 'A after (nothing loaded twice)');
    assert.deepEqual(await everything(b), before, 'B after');
    c = await open();
    assert.deepEqual(await everything(c), before, 'a server started after compaction');
    assert.equal(c.probeState().loaded, 1, 'it loaded the merged batch only');
    d = await open(dirD);
    assert.deepEqual(await everything(d), before, 'a server whose cache held part of the merged run');
    assert.deepEqual(
      await d.probeEvents({ after: 0, limit: 1000 }),
      await a.probeEvents({ after: 0, limit: 1000 }),
    );

    // The replaced objects go at the next pass (garbage age 0 here); only the merged batch's are left.
    const again = await a.compactProbes();
    assert.equal(again.merged, 0);
    assert.ok(again.garbage > 0);
    const keys = (await FileObjects.fromUrl(new URL(objects)).list('probes/')).map((o) => o.key);
    assert.deepEqual(keys.sort(), rows[0]!.objects.map((o) => o.key).sort());
    for (const k of keys)
      assert.match(k, /^probes\/\d{4}-\d\d-\d\d\/compacted-[0-9a-f]{12}\/[a-z_]+\.parquet$/);

    // More flushes after a merged batch: merged again into a batch of their own (the hour is open).
    await write(a, b, 12, 4);
    const more = await everything(b);
    const third = await b.compactProbes();
    assert.equal(third.merged, 1);
    assert.equal((await batchRows(url)).length, 2);
    for (const s of [a, b, c, d]) assert.deepEqual(await everything(s), more);
  } finally {
    a.close();
    b.close();
    c?.close();
    d.close();
  }
});

test('a follower reading after its cursor meets every seq once, in order, while flushes are written and compacted', async () => {
  const url = pg.database('compact_follow');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST, probeCompaction: COMPACT });
  const a = await open();
  const b = await open();
  let c: SharedStore | undefined;
  try {
    let writing = true;
    const follow = (s: SharedStore) => followSeqs(s, () => writing, 5);
    const followers = [follow(a), follow(b)];
    let passes = 0;
    let merged = 0;
    const compacting = (async () => {
      while (writing) {
        const p = await (passes % 2 === 0 ? a : b).compactProbes();
        passes++;
        merged += p.merged;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    // A server that starts in the middle, and follows from there.
    const late = (async () => {
      await new Promise((r) => setTimeout(r, 800));
      c = await open();
      return follow(c);
    })();
    for (let i = 0; i < 40; i++) {
      const s = i % 2 === 0 ? a : b;
      await Promise.all([
        s.addProbeBatch(probeBatch('agent-a', i)),
        s.addProbeBatch(probeBatch('agent-b', i)),
      ]);
    }
    writing = false;
    await compacting;
    const all = Array.from({ length: 40 * 2 * 3 }, (_, i) => i + 1);
    const [seenA, seenB, seenC] = await Promise.all([...followers, late]);
    assert.deepEqual(seenA, all, 'the follower on A');
    assert.deepEqual(seenB, all, 'the follower on B');
    assert.deepEqual(seenC, all, 'the follower on a server started meanwhile');
    assert.ok(merged >= 2, `compactions merged ${merged} runs in ${passes} passes`);
    console.log(`follow across compaction: ${passes} passes merged ${merged} runs`);
  } finally {
    a.close();
    b.close();
    c?.close();
  }
});

test('a compaction killed between writing its batch and swapping the index shows nothing; the orphan collection deletes its objects', async () => {
  const url = pg.database('compact_killed');
  const objects = freshObjectsUrl();
  const files = FileObjects.fromUrl(new URL(objects));
  const open = storeOpener(url, objects, { probeFlush: FAST, probeCompaction: COMPACT });
  const a = await open();
  let c: SharedStore | undefined;
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    await write(a, a, 0, 5);
    const want = await everything(a);
    const flushKeys = (await files.list('probes/')).map((o) => o.key).sort();
    // What a pass does before its swap; then the server dies.
    const prefix = rewritePrefix('compacted');
    const { written } = await rewriteProbeObjects(files, await batchRows(url), prefix);
    assert.ok(written && written.objects.length >= 5);
    assert.equal((await files.list(prefix)).length, written.objects.length);
    c = await open();
    assert.deepEqual(await everything(c), want, 'a new server sees the flushes, nothing twice');
    assert.deepEqual(await everything(a), want);
    const pass = await a.collectOrphans(0);
    assert.deepEqual(pass.probePrefixes, [prefix]);
    assert.equal(pass.objects, written.objects.length);
    assert.deepEqual(
      (await files.list('probes/')).map((o) => o.key).sort(),
      flushKeys,
      'the flushes keep theirs',
    );
    // A real pass afterwards merges them, and the collector leaves the merged batch and the garbage alone.
    assert.equal((await a.compactProbes()).merged, 1);
    assert.deepEqual((await a.collectOrphans(0)).probePrefixes, []);
    assert.deepEqual(await everything(a), want);
  } finally {
    a.close();
    c?.close();
  }
});

test('retention deletes from the shared store and from every server’s cache exactly what the embedded store deletes, and counts it', async () => {
  const url = pg.database('probe_retention');
  const objects = freshObjectsUrl();
  const open = storeOpener(url, objects, { probeFlush: FAST, probeCompaction: COMPACT });
  const a = await open();
  const b = await open();
  const embedded = await openStore(freshDataDir());
  let c: SharedStore | undefined;
  try {
    for (const s of [a, embedded]) await s.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    // 48 hours of batches, a third of them merged before retention runs.
    await write(a, b, 0, 16);
    assert.equal((await a.compactProbes()).merged, 1);
    await write(a, b, 16, 32);
    for (let i = 0; i < 48; i++) {
      await embedded.addProbeBatch(probeBatch(`agent-${i % 2}`, i));
      await embedded.addTraceBatch(traceBatch(`agent-${i % 2}`, i));
    }
    assert.deepEqual(await everything(a), await everything(embedded), 'the same rows before');
    await everything(b); // B has loaded everything: it must delete, not skip loading
    // orders: 12 h; billing: its own 40 h; others (*): 30 h; at T0 + 48 h.
    const rules = ['orders=12h', 'billing=40h', '*=30h'].map(parseRetentionRule);
    const now = new Date((T0 + 48 * HOUR_US) / 1000);
    const want = await embedded.applyRetention(rules, now);
    assert.ok(want.probeRows > 50, `the embedded store deleted ${want.probeRows}`);
    const got = await a.applyRetention(rules, now);
    assert.equal(got.probeRows, want.probeRows, 'the same count of rows');
    const kept = await everything(embedded);
    assert.deepEqual(await everything(a), kept, 'A');
    // B learns of the pass within its watch.
    const end = Date.now() + 10_000;
    while (b.probeState().trimmedRows < want.probeRows) {
      assert.ok(Date.now() < end, `B deleted ${b.probeState().trimmedRows} rows`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await everything(b), kept, 'B');
    c = await open();
    assert.deepEqual(await everything(c), kept, 'a server started after');
    assert.equal(c.probeState().trimmedRows, 0, 'it loaded the trimmed batches, nothing to delete');
    // Batches whose rows all went are gone; a second pass finds nothing.
    const rows = await batchRows(url);
    assert.ok(rows.length < 48, `${rows.length} batches`);
    assert.ok(
      rows.some((r) => r.flushKey.includes('/trimmed-')),
      'batches that kept some rows were rewritten',
    );
    assert.ok(
      rows.every((r) => r.startUs! >= T0 + 8 * HOUR_US),
      'no batch older than the oldest kept row',
    );
    assert.equal((await a.applyRetention(rules, now)).probeRows, 0);
    // Still follows: new events after the pass, same seqs everywhere.
    await write(a, b, 48, 2);
    assert.deepEqual(
      await b.probeEvents({ after: 0, limit: 1000 }),
      await c.probeEvents({ after: 0, limit: 1000 }),
    );
  } finally {
    a.close();
    b.close();
    c?.close();
    embedded.close();
  }
});

/** The retention passes recorded in `probe_trims`, and the last pruned (periscope.meta). */
async function trimRows(url: string): Promise<{ rows: number; pruned: number }> {
  const pool = await connectPg(url);
  try {
    const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM periscope.probe_trims');
    const m = await pool.query<{ value: string }>(
      "SELECT value FROM periscope.meta WHERE key = 'probe_trims_pruned'",
    );
    return { rows: Number(r.rows[0]!.n), pruned: Number(m.rows[0]?.value ?? 0) };
  } finally {
    await pool.end();
  }
}

/** The probe events a server's cache holds: count and first time (µs). */
async function heldEvents(s: Store): Promise<[number, number | null]> {
  const r = await s.query('SELECT count(*), min(epoch_us("time")) FROM probe_events', { latest: true });
  const [n, first] = r.rows[0]!;
  return [Number(n), first === null ? null : Number(first)];
}

test('retention passes are pruned from probe_trims past their bound; a server that missed a pruned pass loads its probe data afresh and holds the same rows', async () => {
  const url = pg.database('probe_trims_pruned');
  const objects = freshObjectsUrl();
  const opts = { probeFlush: FAST, probeCompaction: COMPACT };
  const open = storeOpener(url, objects, opts);
  // A server whose passes are kept for no time: its pass prunes every one recorded.
  const openPruning = storeOpener(url, objects, { ...opts, probeTrimKeepMs: 0 });
  const a = await open();
  const dirC = freshCacheDir();
  let c = await open(dirC);
  let p: SharedStore | undefined;
  let d: SharedStore | undefined;
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    await write(a, c, 0, 8);
    assert.deepEqual(await heldEvents(c), [24, T0], 'C loaded every batch');
    await c.close();
    // While C is away: a pass kept (younger than the default 7 days), then one that prunes both.
    const rules = [parseRetentionRule('*=3h')];
    assert.ok((await a.applyRetention(rules, new Date((T0 + 6 * HOUR_US) / 1000))).probeRows > 0);
    assert.deepEqual(await trimRows(url), { rows: 1, pruned: 0 }, 'kept: younger than the bound');
    p = await openPruning();
    assert.ok((await p.applyRetention(rules, new Date((T0 + 8 * HOUR_US) / 1000))).probeRows > 0);
    const pruned = await trimRows(url);
    assert.equal(pruned.rows, 0, 'both passes pruned');
    assert.ok(pruned.pruned >= 2, `the last pruned noted: ${pruned.pruned}`);
    // The reference: a server started now loads the rewritten batches.
    d = await open();
    const kept = await everything(d);
    assert.deepEqual(await heldEvents(d), [9, T0 + 5 * HOUR_US], 'hours 5..7 kept');
    // C missed both passes and cannot apply them: it starts afresh.
    const lines: string[] = [];
    c = await SharedStore.open({ store: url, objects, cacheDir: dirC, ...opts, log: (l) => lines.push(l) });
    assert.deepEqual(await everything(c), kept, 'C holds what the shared store holds');
    assert.equal(c.probeState().restarts, 1);
    assert.equal(
      lines.filter((l) => /missed retention passes that are no longer recorded/.test(l)).length,
      1,
    );
    // A, running all along, holds the same (it applied the first pass; the second it applied or
    // found pruned and loaded afresh).
    assert.deepEqual(await everything(a), kept, 'A');
    // Followed on: new batches reach every server.
    await write(a, c, 8, 2);
    assert.deepEqual(
      await c.probeEvents({ after: 0, limit: 1000 }),
      await d.probeEvents({ after: 0, limit: 1000 }),
    );
  } finally {
    await Promise.all([a.close(), c.close(), p?.close(), d?.close()]);
  }
});

test('a cache keeps within its share of --cache-mb: past it the oldest probe rows go from the cache, not from the shared store', async () => {
  const url = pg.database('probe_cache_bound');
  const objects = freshObjectsUrl();
  const opts = { probeFlush: FAST, probeCompaction: COMPACT };
  const a = await storeOpener(url, objects, opts)();
  let small: SharedStore | undefined;
  try {
    await a.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
    await write(a, a, 0, 12);
    const total = (await batchRows(url)).reduce((n, b) => n + b.bytes, 0);
    // Probe data may take three quarters of the bound: here half of what there is.
    const lines: string[] = [];
    small = await SharedStore.open({
      store: url,
      objects,
      cacheDir: freshCacheDir(),
      ...opts,
      cacheBytes: Math.round(total / 2 / 0.75),
      log: (l) => lines.push(l),
    });
    const [n, first] = await heldEvents(small);
    const state = small.probeState();
    assert.ok(state.heldBytes <= total / 2, `holds ${state.heldBytes} of ${total} bytes`);
    assert.ok(state.heldBytes > 0 && state.flooredRows > 0, JSON.stringify(state));
    assert.ok(
      n > 0 && n < 36 && first! >= state.floorUs,
      `${n} events from ${first}, floor ${state.floorUs}`,
    );
    // What it holds is exactly the shared store's rows from its floor on.
    const since = `epoch_us("time") >= ${state.floorUs}`;
    for (const sql of [
      `SELECT seq, process_id, epoch_us("time") FROM probe_events WHERE ${since} ORDER BY seq`,
      'SELECT request_id, epoch_us(end_time) FROM traces WHERE epoch_us(end_time) >= FLOOR ORDER BY 1',
    ]) {
      const q = sql.replace('FLOOR', String(state.floorUs));
      assert.deepEqual(
        (await small.query(q, { latest: true })).rows,
        (await a.query(q, { latest: true })).rows,
        q,
      );
    }
    assert.deepEqual(
      (await small.query(`SELECT count(*) FROM probe_events WHERE NOT (${since})`, { latest: true })).rows,
      [[0]],
    );
    assert.deepEqual(await heldEvents(a), [36, T0], 'the shared store (and A, unbounded) keep everything');
    assert.equal(lines.filter((l) => /rows recorded before .* were deleted from it/.test(l)).length, 1);
    // More batches: the floor moves on, the bound holds, the newest rows are there.
    await write(a, a, 12, 6);
    await small.probeEvents({ after: 0, limit: 1 });
    const later = small.probeState();
    assert.ok(later.floorUs > state.floorUs, `${later.floorUs} after ${state.floorUs}`);
    assert.ok(later.heldBytes <= total / 2, `holds ${later.heldBytes}`);
    const newest = (await small.probeEvents({ after: 0, limit: 1000 })).at(-1);
    assert.equal(newest?.seq, 54);
    assert.equal(lines.filter((l) => /were deleted from it/.test(l)).length, 1, 'noted once an hour');
  } finally {
    await Promise.all([a.close(), small?.close()]);
  }
});

test('which runs a pass merges: aged flushes within an hour, merged batches again once their hour is over, within the bounds', () => {
  const H = 3_600_000;
  const base = Date.UTC(2026, 11, 6, 10);
  let n = 0;
  const row = (atMs: number, bytes = 10, merged = false): ProbeBatchRow => {
    n++;
    return {
      batchNo: n,
      batchFirst: merged ? n : null,
      flushKey: `k${n}`,
      seqFirst: n,
      events: 1,
      objects: [],
      createdAt: new Date(atMs),
      startUs: null,
      endUs: null,
      processIds: [],
      bytes,
    };
  };
  const o = { ageMs: 300_000, bucketMs: H, maxBytes: 100, maxBatches: 3, garbageAgeMs: 0 };
  const numbers = (runs: ProbeBatchRow[][]) => runs.map((r) => r.map((x) => x.batchNo));
  // Hour 10 is over; hour 11 is open (now 11:30).
  const rows = [
    row(base + 1000, 10, true), // 1: merged, hour 10: merged again with 2, 3
    row(base + 2000, 10, true),
    row(base + 3000), // 3
    row(base + H + 1000, 10, true), // 4: merged, open hour: stays, cuts the run
    row(base + H + 2000), // 5, 6: flushes of the open hour
    row(base + H + 3000),
    row(base + H + 4000, 10, true), // 7: cuts
    row(base + H + 5000), // 8: alone, not merged
    row(base + H + 6000, 10, true), // 9
    row(base + H + 7000, 60), // 10: 60 + 60 > 100 with 11: alone, not merged
    row(base + H + 8000, 60), // 11..13: 60 + 10 + 10
    row(base + H + 9000),
    row(base + H + 9001),
    row(base + H + 9002), // 14..16: at most 3 a run
    row(base + H + 9003),
    row(base + H + 9004),
  ];
  // Rows copied by `store migrate` stay one batch (a second run finds its key).
  const copied = row(base + 4000);
  const withCopied = [
    ...rows.slice(0, 2),
    { ...copied, batchNo: 2.5, flushKey: 'probes/copied/abc/' },
    ...rows.slice(2),
  ];
  assert.deepEqual(numbers(compactionRuns(withCopied, base + H + 1_800_000, o))[0], [1, 2]);
  assert.deepEqual(numbers(compactionRuns(rows, base + H + 1_800_000, o)), [
    [1, 2, 3],
    [5, 6],
    [11, 12, 13],
    [14, 15, 16],
  ]);
  // Once hour 11 is over too, its merged batches join the runs.
  assert.deepEqual(numbers(compactionRuns(rows, base + 2 * H + 300_000, o)), [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
    [11, 12, 13],
    [14, 15, 16],
  ]);
});

test('on an S3-compatible store (SeaweedFS): compaction, its garbage, a killed pass collected, retention', async () => {
  let s3: S3Server | undefined;
  const url = pg.database('compact_s3');
  try {
    s3 = await startS3Server();
    const objects = S3Objects.fromUrl(s3.url('probes'), { env: s3.env });
    const open = storeOpener(url, objects, { probeFlush: FAST, probeCompaction: COMPACT });
    const a = await open();
    const b = await open();
    let c: SharedStore | undefined;
    const embedded = await openStore(freshDataDir());
    try {
      for (const s of [a, embedded]) await s.setSpec(SPEC, 'tester', 'spec.yaml', { force: true });
      await write(a, b, 0, 10);
      for (let i = 0; i < 10; i++) {
        await embedded.addProbeBatch(probeBatch(`agent-${i % 2}`, i));
        await embedded.addTraceBatch(traceBatch(`agent-${i % 2}`, i));
      }
      const want = await everything(embedded);
      assert.deepEqual(await everything(b), want);
      // Killed between writing and swapping: a prefix of objects nobody indexes.
      const lost = rewritePrefix('compacted');
      await rewriteProbeObjects(objects, await batchRows(url), lost);
      const flushes = (await batchRows(url)).length;
      assert.equal((await a.compactProbes()).replaced, flushes);
      assert.equal((await batchRows(url)).length, 1);
      assert.equal((await a.compactProbes()).merged, 0, 'the replaced objects go');
      const merged = (await batchRows(url))[0]!;
      const collected = await b.collectOrphans(0);
      assert.deepEqual(collected.probePrefixes, [lost]);
      assert.deepEqual(
        (await objects.list('probes/')).map((o) => o.key).sort(),
        merged.objects.map((o) => o.key).sort(),
      );
      assert.deepEqual(await everything(a), want);
      assert.deepEqual(await everything(b), want);
      c = await open();
      assert.deepEqual(await everything(c), want);
      const rules = ['orders=3h', '*=6h'].map(parseRetentionRule);
      const now = new Date((T0 + 10 * HOUR_US) / 1000);
      const r = await embedded.applyRetention(rules, now);
      assert.equal((await b.applyRetention(rules, now)).probeRows, r.probeRows);
      const kept = await everything(embedded);
      assert.deepEqual(await everything(b), kept);
      const end = Date.now() + 10_000;
      while (a.probeState().trimmedRows < r.probeRows || c.probeState().trimmedRows < r.probeRows) {
        assert.ok(
          Date.now() < end,
          `A and C delete the rows: ${a.probeState().trimmedRows}, ${c.probeState().trimmedRows}`,
        );
        await new Promise((x) => setTimeout(x, 50));
      }
      assert.deepEqual(await everything(a), kept);
      assert.deepEqual(await everything(c), kept);
    } finally {
      a.close();
      b.close();
      c?.close();
      embedded.close();
    }
  } finally {
    await s3?.stop();
  }
});
