/**
 * A PostgreSQL connection keeps its store session (one DuckDB connection, its views and
 * prepared statements) from statement to statement, and opens it again once the store
 * changed: a new snapshot is then `latest`, a new spec's tables are there. A REPEATABLE READ
 * or SERIALIZABLE block keeps it whatever changes, and reads one view of the store.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { WireClient } from '../../support/pg-wire-client.js';
import { syntheticSnapshot } from '../../support/synthetic-snapshot.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
});

after(() => srv.server.close());

async function one(c: pg.Client, sql: string): Promise<string> {
  const r = await c.query<string[]>({
    text: sql,
    rowMode: 'array',
    types: { getTypeParser: () => (v: string) => v },
  });
  return r.rows[0]![0]!;
}

test('statements on one connection share a session until the store changes', async () => {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'latest',
    password: srv.user,
  });
  await c.connect();
  try {
    const store = srv.server.context.store;
    const id = 'SELECT current_connection_id()';
    const first = await one(c, id);
    assert.equal((await one(c, 'SELECT count(*) FROM goroutines WHERE goroutine_id > 0')) !== '', true);
    assert.equal(await one(c, id), first, 'a second statement ran on another DuckDB connection');
    // The extended protocol (a parameter) uses the same session.
    const r = await c.query('SELECT current_connection_id()::VARCHAR AS id, $1::INT AS n', [1]);
    assert.equal(r.rows[0].id, first);

    const before = Number(await one(c, 'SELECT max(snapshot_id) FROM snapshots'));
    const generation = store.generation;
    const added = await store.addSnapshot({
      processes: [{ hostname: 'h', snapshot: syntheticSnapshot(3, 1) }],
      specText: '',
    });
    assert.ok(store.generation > generation, 'storing a snapshot did not move the store generation');
    assert.equal(Number(await one(c, 'SELECT max(snapshot_id) FROM snapshots')), added);
    assert.ok(added > before);
    const reopened = await one(c, id);
    assert.notEqual(reopened, first);
    assert.equal(await one(c, id), reopened);
  } finally {
    await c.end();
  }
});

/** Sets a spec with the probe `calls` (capturing `n`); returns a writer of one event of it. */
async function callsProbe(): Promise<(i: number, values: Record<string, unknown>) => Promise<unknown>> {
  const store = srv.server.context.store;
  await store.setSpec(
    'programs:\n  - name: pv\n    match: { executable: "pv$" }\nprobes:\n  - name: calls\n    program: pv\n    function: main.handle\n    capture: { n: n }\n    ttl: 1h\n',
    'test',
    'spec',
    { force: true },
  );
  return (i, values) =>
    store.addProbeBatch({
      agentId: 'a1',
      events: [
        {
          probe: 'calls',
          process: 'h:1',
          timeUs: 1_700_000_000_000_000 + i,
          goroutine: 1,
          thread: 1,
          site: { kind: 'entry', function: 'main.handle' },
          values,
        },
      ],
      counts: [],
      histograms: [],
      notices: [],
    });
}

test('probe batches of known value types keep the session; a new type opens it again with its column', async () => {
  const store = srv.server.context.store;
  const batch = await callsProbe();
  await batch(0, { n: 0 });
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'latest',
    password: srv.user,
  });
  await c.connect();
  try {
    const id = 'SELECT current_connection_id()';
    const first = await one(c, id);
    assert.equal(await one(c, 'SELECT count(*) FROM calls'), '1');
    const typeBefore = await one(c, 'SELECT typeof(n) FROM calls LIMIT 1');
    const generation = store.generation;
    for (let i = 1; i <= 3; i++) await batch(i, { n: i });
    assert.equal(store.generation, generation, 'batches of known types moved the generation');
    assert.equal(await one(c, 'SELECT count(*) FROM calls'), '4', 'the kept session sees the new events');
    assert.equal(await one(c, id), first, 'the session was opened again');
    // A value of a new type (a string where numbers were): the typed column changes.
    await batch(4, { n: 'four' });
    assert.ok(store.generation > generation, 'a new value type did not move the generation');
    assert.equal(await one(c, 'SELECT count(*) FROM calls'), '5');
    assert.notEqual(
      await one(c, 'SELECT typeof(n) FROM calls LIMIT 1'),
      typeBefore,
      'the column kept its type',
    );
    assert.notEqual(await one(c, id), first);
  } finally {
    await c.end();
  }
});

test('a parameterised statement executed without a Describe (as pgx sends it) gives every row, known small or grown past the limit', async () => {
  const c = await WireClient.connect({ port: srv.port, user: 't', database: 'latest', password: srv.user });
  try {
    const sql = 'SELECT n, $2 AS s FROM range($1::BIGINT) t(n) ORDER BY n DESC';
    for (const [count, describe] of [
      [3, false],
      [2, false],
      [2, false],
      [5000, false],
      [2049, false],
      [1, false],
      [2048, false],
      [2048, true],
      [4000, true],
      [0, false],
    ] as const)
      assert.equal(
        (await c.queryParams(sql, [String(count), 'x'], describe)).rows,
        count,
        `${count} rows, ${describe ? 'with' : 'without'} a Describe`,
      );
    await assert.rejects(c.queryParams(sql, ['1'], false), /bind message supplies 1 parameters|1 were given/);
    assert.equal(
      (await c.queryParams(sql, ['2', 'x'], false)).rows,
      2,
      'the connection is usable after an error',
    );
  } finally {
    c.close();
  }
});

test('a REPEATABLE READ or SERIALIZABLE block reads one view of the store from its first query to its end: a snapshot stored and probe events written meanwhile are not in it (READ COMMITTED reads them at the next statement)', async () => {
  const store = srv.server.context.store;
  const batch = await callsProbe();
  let t = 1000;
  /** Stores a snapshot (the store's generation moves) and a probe event (it does not). */
  const write = async (): Promise<void> => {
    await store.addSnapshot({
      processes: [{ hostname: 'h', snapshot: syntheticSnapshot(2, 1) }],
      specText: '',
    });
    await batch(t++, { n: 1 });
  };
  await write();
  const c = new pg.Client({
    host: '127.0.0.1',
    port: srv.port,
    user: 't',
    database: 'all',
    password: srv.user,
  });
  await c.connect();
  /** The snapshots and the probe events the connection sees (the second through the extended protocol). */
  const counts = async (): Promise<number[]> => [
    Number(await one(c, 'SELECT count(*) FROM snapshots')),
    (await c.query('SELECT count(*)::INT AS n FROM calls WHERE n >= $1', [0])).rows[0].n,
  ];
  /** `seen` and `writes` more of each. */
  const plus = (seen: number[], writes: number): number[] => seen.map((n) => n + writes);
  try {
    // READ COMMITTED (the default): each statement reads the store as it is.
    await c.query('BEGIN');
    const rc = await counts();
    await write();
    assert.deepEqual(await counts(), plus(rc, 1));
    await c.query('COMMIT');

    for (const begin of [
      'BEGIN ISOLATION LEVEL REPEATABLE READ',
      'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY',
      // JDBC's setTransactionIsolation(TRANSACTION_REPEATABLE_READ), then its BEGIN.
      'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ; BEGIN',
      'BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
    ]) {
      await c.query(begin);
      // The view is taken at the block's first query, not at BEGIN.
      await write();
      const first = await counts();
      const id = await one(c, 'SELECT current_connection_id()');
      await write();
      await write();
      assert.deepEqual(
        await counts(),
        first,
        `${begin}: the block saw what was written after its first query`,
      );
      assert.equal(
        await one(c, 'SELECT current_connection_id()'),
        id,
        `${begin}: the block's session was opened again`,
      );
      // An error that does not reach DuckDB's execution (an unknown table), rolled back to: the same view.
      await c.query('SAVEPOINT a');
      await assert.rejects(c.query('SELECT * FROM no_such_table'), { code: '42P01' });
      await c.query('ROLLBACK TO a');
      assert.deepEqual(await counts(), first, `${begin}: after ROLLBACK TO`);
      await c.query('COMMIT');
      assert.deepEqual(await counts(), plus(first, 2), `${begin}: after COMMIT`);
      await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED');
    }

    // A statement that fails in DuckDB's execution aborts the block's view: after ROLLBACK TO,
    // the next statement gets 40001 (retry the block); after ROLLBACK the connection reads again.
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await c.query('SAVEPOINT a');
    const seen = await counts();
    await assert.rejects(c.query("SELECT CAST('x' || n AS INTEGER) FROM calls"), { code: '22P02' });
    await c.query('ROLLBACK TO a');
    await assert.rejects(c.query('SELECT count(*) FROM snapshots'), { code: '40001' });
    await c.query('ROLLBACK');
    assert.deepEqual(await counts(), seen);
    await write();
    assert.deepEqual(await counts(), plus(seen, 1));
  } finally {
    await c.end();
  }
});
