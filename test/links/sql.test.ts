import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import { snapshotProcess } from '../../src/snapshot/take-snapshot.js';
import { DEFAULT_SPEC_YAML } from '../../src/spec/default-spec-yaml.js';
import { effectiveSpec } from '../../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../../src/spec/spec-types.js';
import { DuckDBStore } from '../../src/store/duckdb-store.js';
import type { Cell, QueryResult } from '../../src/store/store.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';
import type { Target } from '../../support/target.js';
import { startTarget } from '../../support/target.js';
import { goroutineIn } from './link-join.js';
import { buildGrpcPair, buildHttpChain, GRPC_VARIANTS, startChain } from './variants.js';

function objects(r: QueryResult): Record<string, Cell>[] {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));
}

// From every goroutine of A waiting in main.callB, follow the links hop by hop.
const CHAIN_SQL = `
WITH RECURSIVE chain(hop, process_id, goroutine_id, link) AS (
  SELECT 0, process_id, goroutine_id, NULL::VARCHAR FROM frames WHERE function = 'main.callB'
  UNION ALL
  SELECT c.hop + 1, l.to_process_id, l.to_goroutine_id, l.link
  FROM chain c JOIN links l ON l.from_process_id = c.process_id AND l.from_goroutine_id = c.goroutine_id
  WHERE c.hop < 10
)
SELECT c.hop, c.link, p.hostname, p.pid, c.goroutine_id, g.wait_reason,
  (SELECT list(f.function ORDER BY f.depth) FROM frames f
    WHERE f.process_id = c.process_id AND f.goroutine_id = c.goroutine_id AND f.function LIKE 'main.%') AS main_frames
FROM chain c JOIN processes p ON p.process_id = c.process_id
  JOIN goroutines g ON g.process_id = c.process_id AND g.goroutine_id = c.goroutine_id
ORDER BY c.hop`;

// The query of docs/links.md, as written there.
const DOC_SQL = `
WITH RECURSIVE chain(hop, process_id, goroutine_id, link) AS (
  SELECT 0, process_id, goroutine_id, NULL::VARCHAR FROM frames WHERE function = 'main.callB'
  UNION ALL
  SELECT c.hop + 1, l.to_process_id, l.to_goroutine_id, l.link
  FROM chain c JOIN links l
    ON l.from_process_id = c.process_id AND l.from_goroutine_id = c.goroutine_id
  WHERE c.hop < 10
)
SELECT c.hop, c.link, p.hostname, p.pid, c.goroutine_id, g.wait_reason
FROM chain c JOIN processes p USING (process_id)
  JOIN goroutines g USING (process_id, goroutine_id)
ORDER BY c.hop;`;

const GRPC_SQL = `
SELECT l.link, pf.hostname AS client_host, l.from_goroutine_id AS client_goroutine,
  pt.hostname AS server_host, l.to_goroutine_id AS server_goroutine, s.method
FROM links l
  JOIN processes pf ON pf.process_id = l.from_process_id
  JOIN processes pt ON pt.process_id = l.to_process_id
  JOIN grpc_server_streams s ON s.process_id = l.to_process_id AND s.goroutine_id = l.to_goroutine_id
WHERE l.link LIKE 'grpc%'
ORDER BY s.method`;

test('SQL through the default links: A -> B -> C over HTTP and a gRPC pair, one snapshot of five processes', async () => {
  const http = await buildHttpChain('local');
  const grpc = await buildGrpcPair(GRPC_VARIANTS.at(-1)!, 'local');
  const targets: Target[] = [];
  const store = await DuckDBStore.open(mkdtempSync(join(tmpdir(), 'periscope-links-')));
  try {
    const { a, b, c } = await startChain(http.path, targets);
    const server = await startTarget(grpc.path, ['server']);
    targets.push(server);
    const addr = /listening (\S+)/.exec(server.lines[0]!.text)![1]!;
    const client = await startTarget(grpc.path, ['client', addr, 'both']);
    targets.push(client);
    // C prints before it locks: wait until its handler is parked on the mutex.
    for (let i = 0; i < 200; i++) {
      const s = snapshotProcess(c.pid, { pauseCapMs: TEST_PAUSE_CAP_MS });
      if (s.goroutines.some((g) => g.waitReason === 'sync.Mutex.Lock')) break;
      await new Promise((r) => setTimeout(r, 10));
    }

    await store.setSpec(DEFAULT_SPEC_YAML, 'test', 'the default spec');
    const spec = effectiveSpec(EMPTY_SPEC);
    const named: [string, Target][] = [
      ['host-a', a],
      ['host-b', b],
      ['host-c', c],
      ['grpc-server', server],
      ['grpc-client', client],
    ];
    const snaps = new Map<string, ProcessSnapshot>();
    for (const [host, tgt] of named)
      snaps.set(host, snapshotProcess(tgt.pid, { pauseCapMs: TEST_PAUSE_CAP_MS, spec }));
    await store.addSnapshot({
      processes: [...snaps].map(([hostname, snapshot]) => ({ hostname, snapshot })),
      specText: DEFAULT_SPEC_YAML,
    });

    const chain = objects(await store.query(CHAIN_SQL, { latest: true }));
    const id = (host: string, fn: string) => goroutineIn(snaps.get(host)!, fn).id;
    assert.deepEqual(
      chain.map((r) => [r.hop, r.link, r.hostname, r.pid, r.goroutine_id]),
      [
        [0, null, 'host-a', a.pid, id('host-a', 'main.callB')],
        [1, 'http_call', 'host-b', b.pid, id('host-b', 'main.handleB')],
        [2, 'http_call', 'host-c', c.pid, id('host-c', 'main.handleC')],
      ],
      JSON.stringify(chain),
    );
    assert.equal(chain[2]!.wait_reason, 'sync.Mutex.Lock');
    assert.deepEqual(chain[2]!.main_frames, ['main.handleC']);
    assert.deepEqual(chain[1]!.main_frames, ['main.callNext', 'main.handleB']);

    const doc = objects(await store.query(DOC_SQL, { latest: true }));
    assert.deepEqual(
      doc.map((r) => [r.hop, r.link, r.hostname, r.goroutine_id, r.wait_reason]),
      chain.map((r) => [r.hop, r.link, r.hostname, r.goroutine_id, r.wait_reason]),
    );

    const pairs = objects(await store.query(GRPC_SQL, { latest: true }));
    assert.deepEqual(
      pairs.map((r) => [
        r.link,
        r.client_host,
        r.client_goroutine,
        r.server_host,
        r.server_goroutine,
        r.method,
      ]),
      [
        [
          'grpc_awaiting_headers',
          'grpc-client',
          id('grpc-client', 'main.callUnary'),
          'grpc-server',
          id('grpc-server', 'main.(*server).blockUnary'),
          '/periscope.test.Pair/Block',
        ],
        [
          'grpc_awaiting_messages',
          'grpc-client',
          id('grpc-client', 'main.callStream'),
          'grpc-server',
          id('grpc-server', 'main.(*server).blockStream'),
          '/periscope.test.Pair/Chat',
        ],
      ],
    );
  } finally {
    store.close();
    for (const x of targets.reverse()) await x.kill();
  }
});
