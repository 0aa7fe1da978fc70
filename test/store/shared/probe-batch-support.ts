/**
 * Pieces of what the scaled-out store's probe tests write: the spec of their probe, two
 * processes with their facts, a probe's counts and histogram, a trace's counts; the stores
 * they open on one database and object store, and a follower that reads events after its
 * cursor as `events --follow` does.
 */
import assert from 'node:assert/strict';
import type { ObjectStore } from '../../../src/store/object-store.js';
import { SharedStore, type SharedStoreOptions } from '../../../src/store/shared/shared-store.js';
import type { ProbeBatchInput } from '../../../src/store/store.js';
import type { TraceBatchInput } from '../../../src/store/trace-store.js';
import { freshCacheDir } from './shared-support.js';

export const ORDERS = 'host-o:10';
export const BILLING = 'host-b:20';
/** The facts of ORDERS (program orders) and BILLING (program billing). */
export const FACTS = [
  { processId: ORDERS, hostname: 'host-o', pid: 10, program: 'orders', executable: '/bin/orders' },
  { processId: BILLING, hostname: 'host-b', pid: 20, program: 'billing', executable: '/bin/billing' },
];

/**
 * A spec of programs orders and billing (by exe_name) and probe `calls` on orders' main.handle,
 * capturing `capture` (the inside of a YAML flow mapping: `n: n`).
 */
export function callsSpec(capture: string): string {
  return `programs:
  - name: orders
    match: { exe_name: "^orders$" }
  - name: billing
    match: { exe_name: "^billing$" }
probes:
  - name: calls
    program: orders
    function: main.handle
    capture: { ${capture} }
`;
}

/** The counts of probe `calls` in `process` for the millisecond from `startUs`. */
export function callsCount(
  process: string,
  startUs: number,
  n: {
    readonly hits: number;
    readonly matched: number;
    readonly rejected: number;
    readonly durationSumNs: number;
  },
): ProbeBatchInput['counts'][number] {
  return {
    probe: 'calls',
    process,
    startUs,
    endUs: startUs + 999,
    hits: n.hits,
    matched: n.matched,
    events: n.matched,
    rejected: n.rejected,
    conditionErrors: 0,
    rateLimited: 0,
    ringFull: 0,
    agentDropped: 0,
    durations: 1,
    durationSumNs: n.durationSumNs,
    costNs: 10,
    cpuNs: 20,
  };
}

/** The duration histogram of probe `calls` in `process` for the millisecond from `startUs`: one call in the 1024 ns bucket, `i` in the 2048. */
export function callsHistogram(
  process: string,
  startUs: number,
  i: number,
): ProbeBatchInput['histograms'][number] {
  return {
    probe: 'calls',
    process,
    startUs,
    endUs: startUs + 999,
    buckets: [
      [1024, 1],
      [2048, i],
    ],
  };
}

/** The counts of `trace` in `process` for the millisecond from `startUs`: 10 requests, 1 kept. */
export function traceCount(
  trace: string,
  process: string,
  startUs: number,
): TraceBatchInput['counts'][number] {
  return {
    trace,
    process,
    startUs,
    endUs: startUs + 999,
    requests: 10,
    kept: 1,
    dropped: 9,
    overRate: 0,
    overMemory: 0,
    eventsDropped: 0,
    unfinished: 0,
  };
}

/** Opens servers' stores on one database and object store, each on a fresh cache unless given one. */
export function storeOpener(
  url: string,
  objects: string | ObjectStore,
  opts: Omit<Partial<SharedStoreOptions>, 'store' | 'objects' | 'cacheDir'> = {},
): (cacheDir?: string) => Promise<SharedStore> {
  return (cacheDir = freshCacheDir()) => SharedStore.open({ store: url, objects, cacheDir, ...opts });
}

/**
 * Follows `s` as `events --follow` does: reads `limit` events after its cursor until `writing()`
 * is false, then once more; checks each seq is past the cursor, and returns them in order.
 */
export async function followSeqs(s: SharedStore, writing: () => boolean, limit: number): Promise<number[]> {
  const seen: number[] = [];
  let cursor = 0;
  for (;;) {
    const last = !writing();
    const got = await s.probeEvents({ after: cursor, limit });
    for (const e of got) {
      assert.ok(e.seq > cursor, `seq ${e.seq} after cursor ${cursor}`);
      seen.push(e.seq);
      cursor = e.seq;
    }
    if (last && got.length === 0) return seen;
    if (got.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
}
