import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';
import type { ProcessSnapshot } from '../../src/snapshot/snapshot-types.js';
import type { DuckDBStore } from '../../src/store/duckdb-store.js';
import { freshDataDir, inputOf, objects, openStore, startFixture, takeSnapshot } from './store-support.js';

// The linkpair fixture: two client goroutines in main.call, each waiting on a server
// goroutine in main.handle of the same process, over loopback TCP.
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
    columns:
      client_id: id - 100
derived:
  - name: call_pairs
    sql: >
      SELECT c.snapshot_id, c.goroutine_id AS client_goroutine, h.goroutine_id AS server_goroutine,
             c.id AS client_id, h.id AS server_id
      FROM client_calls c JOIN server_handlers h
        ON c.snapshot_id = h.snapshot_id AND c.local = h.remote AND c.remote = h.local
  - name: pair_count
    sql: SELECT snapshot_id, count(*) AS pairs FROM call_pairs GROUP BY snapshot_id
  - name: linked_servers
    sql: SELECT to_goroutine_id AS server_goroutine FROM links WHERE link = 'tcp'
links:
  - name: tcp
    description: a client's connection to the server goroutine that serves it
    from: { table: client_calls, columns: [local, remote] }
    to: { table: server_handlers, columns: [remote, local] }
`;

let store: DuckDBStore;
let snap: ProcessSnapshot;
let sid: number;

function goroutineIn(fn: string, id: number): number {
  const g = snap.goroutines.find((x) =>
    x.captures.some((c) => c.function === fn && c.values.some((v) => v.column === 'id' && v.value === id)),
  );
  assert.ok(g, `a goroutine in ${fn} with id ${id}`);
  return g.id;
}

before(async () => {
  store = await openStore(freshDataDir());
  await store.setSpec(SPEC, 'tester', 'spec.yaml');
  const t = await startFixture('linkpair');
  try {
    snap = takeSnapshot(t.pid, SPEC);
  } finally {
    await t.kill();
  }
  sid = await store.addSnapshot(inputOf(snap, SPEC));
});

after(() => store.close());

test('function tables of both sides hold the connection addresses', async () => {
  const clients = objects(
    await store.query('SELECT id, local, remote FROM client_calls ORDER BY id', { latest: true }),
  );
  const servers = objects(
    await store.query('SELECT id, client_id, local, remote FROM server_handlers ORDER BY id', {
      latest: true,
    }),
  );
  assert.deepEqual(
    clients.map((c) => c.id),
    [1, 2],
  );
  assert.deepEqual(
    servers.map((s) => [s.id, s.client_id]),
    [
      [101, 1],
      [102, 2],
    ],
  );
  for (const c of clients) assert.match(String(c.local), /^127\.0\.0\.1:\d+$/);
});

test('a derived table joining two function tables returns the expected rows', async () => {
  const rows = objects(
    await store.query(
      'SELECT client_goroutine, server_goroutine, client_id, server_id FROM call_pairs ORDER BY 3',
      {
        latest: true,
      },
    ),
  );
  // Which handler serves which client depends on accept order; the addresses decide.
  const byClient = new Map(rows.map((r) => [r.client_id, r]));
  assert.equal(rows.length, 2);
  for (const clientId of [1, 2]) {
    const r = byClient.get(clientId)!;
    assert.equal(r.client_goroutine, goroutineIn('main.call', clientId));
    assert.equal(r.server_goroutine, goroutineIn('main.handle', Number(r.server_id)));
  }
  const count = await store.query('SELECT pairs FROM pair_count', { latest: true });
  assert.deepEqual(count.rows, [[2]]);
  // A derived table may use the links.
  const linked = objects(
    await store.query('SELECT server_goroutine FROM linked_servers ORDER BY 1', { latest: true }),
  );
  assert.deepEqual(
    linked.map((r) => r.server_goroutine),
    rows.map((r) => r.server_goroutine).sort((a, b) => Number(a) - Number(b)),
  );
});

test('the tcp link joins each client frame to the server frame that serves it', async () => {
  const links = objects(
    await store.query("SELECT * FROM links WHERE link = 'tcp' ORDER BY from_goroutine_id", { latest: true }),
  );
  const pairs = objects(
    await store.query('SELECT client_goroutine, server_goroutine FROM call_pairs', { latest: true }),
  );
  assert.equal(links.length, 2);
  const pid = `${hostname()}:${snap.pid}`;
  for (const l of links) {
    assert.equal(l.from_table, 'client_calls');
    assert.equal(l.to_table, 'server_handlers');
    assert.equal(l.from_process_id, pid);
    assert.equal(l.to_process_id, pid);
    assert.ok(
      pairs.some(
        (p) => p.client_goroutine === l.from_goroutine_id && p.server_goroutine === l.to_goroutine_id,
      ),
    );
    const client = snap.goroutines.find((g) => g.id === l.from_goroutine_id)!;
    assert.equal(client.stack.frames[Number(l.from_depth)]!.function, 'main.call');
  }
});

test('links of a goroutine lists both directions', async () => {
  const client = goroutineIn('main.call', 1);
  const out = objects(await store.links(sid, `${hostname()}:${snap.pid}`, client));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.direction, '->');
  assert.equal(out[0]!.link, 'tcp');
  const server = Number(out[0]!.other_goroutine_id);
  assert.equal(out[0]!.other_status, 'waiting');
  const back = objects(await store.links(sid, `${hostname()}:${snap.pid}`, server));
  assert.deepEqual(
    back.map((b) => [b.direction, b.other_goroutine_id]),
    [['<-', client]],
  );
});

test('a cycle among derived tables is a spec error with its position', async () => {
  const cyclic = `derived:
  - name: a
    sql: SELECT * FROM b
  - name: b
    sql: SELECT * FROM a
`;
  await assert.rejects(store.setSpec(cyclic, 'tester', 'cyclic.yaml'), (e: Error) => {
    assert.match(e.message, /^cyclic\.yaml:2:5: derived tables refer to each other in a cycle: a -> b -> a/);
    return true;
  });
  const builtin = 'derived:\n  - name: frames\n    sql: SELECT 1\n';
  await assert.rejects(
    store.setSpec(builtin, 'tester', 'b.yaml'),
    /b\.yaml:2:5: derived table "frames" is a built-in table/,
  );
  assert.equal((await store.currentSpec())?.version, 1, 'a refused spec is not recorded');
});
