/**
 * The PostgreSQL port answers transaction blocks and portals as PostgreSQL 15 does: the same
 * protocol messages are sent to Periscope's port and to Debian's PostgreSQL 15
 * (support/postgres-server.ts, started fresh), and what each answered (message kinds, command
 * tags, SQLSTATEs, ReadyForQuery statuses, rows by their first value) is compared. The
 * statements read `generate_series`, which both servers have.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WireClient, type WireTarget, wire as w } from '../../support/pg-wire-client.js';
import { startTestPostgres, type TestPostgres } from '../store/shared/shared-support.js';
import { dataDirWithSnapshot, type PgTestServer, pgServer } from './pg-support.js';

let srv: PgTestServer;
let postgres: TestPostgres;

before(async () => {
  postgres = await startTestPostgres();
  srv = await pgServer(await dataDirWithSnapshot());
});

after(async () => {
  postgres?.stop();
  await srv?.server.close();
});

/** A script: exchanges on one connection, each one's transcript. */
type Script = (c: WireClient) => Promise<string[][]>;

/** Runs a script on a new connection to each server; what PostgreSQL and Periscope answered. */
async function both(script: Script): Promise<{ postgres: string[][]; periscope: string[][] }> {
  const run = async (t: WireTarget): Promise<string[][]> => {
    const c = await WireClient.connect(t);
    try {
      return await script(c);
    } finally {
      c.close();
    }
  };
  return {
    postgres: await run({ port: postgres.port, user: 'postgres', database: 'postgres' }),
    periscope: await run({ port: srv.port, user: 'tester', database: 'latest', password: srv.user }),
  };
}

/** Runs a script on both servers, asserts the same answers, and returns them. */
async function same(what: string, script: Script): Promise<string[][]> {
  const r = await both(script);
  assert.deepEqual(
    r.periscope,
    r.postgres,
    `${what}: Periscope (actual) answered otherwise than PostgreSQL (expected)`,
  );
  return r.postgres;
}

/** Simple queries in turn, each one's transcript. */
function queries(...sql: string[]): Script {
  return async (c) => {
    const out: string[][] = [];
    for (const s of sql) out.push(await c.exchange(w.query(s)));
    return out;
  };
}

const TEN = 'SELECT i FROM generate_series(1, 10) AS t(i)';

test('Bind to a named portal that exists fails with 42P03 (in a block, and twice in one batch); the unnamed portal is replaced; Parse of a named statement that exists fails with 42P05', async () => {
  const named = await same('named portal in a block', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(w.parse('s', TEN), w.bind('x', 's'), w.execute('x', 3), w.sync()),
    await c.exchange(w.bind('x', 's'), w.execute('x', 3), w.sync()),
    await c.exchange(w.query('ROLLBACK')),
  ]);
  assert.deepEqual(named[2], ['error:42P03', 'ready:E']);
  const unnamed = await same('unnamed portal in a block', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(w.parse('s', TEN), w.bind('', 's'), w.execute('', 3), w.sync()),
    await c.exchange(w.bind('', 's'), w.execute('', 3), w.sync()),
    await c.exchange(w.query('ROLLBACK')),
  ]);
  assert.deepEqual(unnamed[2], ['bind', 'rows:1..3', 'suspended', 'ready:T']);
  const batch = await same('named portal twice in one batch, then after Sync', async (c) => [
    await c.exchange(w.parse('s', TEN), w.bind('x', 's'), w.bind('x', 's'), w.execute('x', 2), w.sync()),
    await c.exchange(w.bind('x', 's'), w.execute('x', 2), w.close('P', 'x'), w.bind('x', 's'), w.sync()),
  ]);
  assert.deepEqual(batch[0], ['parse', 'bind', 'error:42P03', 'ready:I']);
  const statement = await same('named statement parsed twice', async (c) => [
    await c.exchange(w.parse('s', 'SELECT 1'), w.parse('', 'SELECT 2'), w.parse('', 'SELECT 3'), w.sync()),
    await c.exchange(w.parse('s', 'SELECT 4'), w.sync()),
    await c.exchange(w.close('S', 's'), w.parse('s', 'SELECT 5'), w.bind('', 's'), w.execute(''), w.sync()),
  ]);
  assert.deepEqual(statement[1], ['error:42P05', 'ready:I']);
});

test('ROLLBACK TO a savepoint closes the portals opened after it (run or not) and keeps those opened before (run after it too); RELEASE hands its portals to the level before', async () => {
  const rolled = await same('portals before and after a savepoint', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(
      w.parse('s', TEN),
      w.bind('before', 's'),
      w.execute('before', 2),
      w.bind('idle', 's'),
      w.sync(),
    ),
    await c.exchange(w.query('SAVEPOINT a')),
    await c.exchange(
      w.execute('idle', 2),
      w.bind('after', 's'),
      w.execute('after', 2),
      w.bind('unrun', 's'),
      w.sync(),
    ),
    await c.exchange(w.query('ROLLBACK TO a')),
    await c.exchange(w.execute('before', 2), w.execute('idle', 2), w.sync()),
    await c.exchange(w.execute('after', 2), w.sync()),
    await c.exchange(w.query('ROLLBACK TO SAVEPOINT a')),
    await c.exchange(w.execute('unrun', 2), w.sync()),
    await c.exchange(w.query('ROLLBACK')),
  ]);
  assert.deepEqual(rolled[5], ['rows:3..4', 'suspended', 'rows:3..4', 'suspended', 'ready:T']);
  assert.deepEqual(rolled[6], ['error:34000', 'ready:E']);
  assert.deepEqual(rolled[8], ['error:34000', 'ready:E']);

  // After an error (the block failed), and with savepoints released, reused by name, nested.
  const levels = await same('savepoints released, failed, named twice', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(w.query('SAVEPOINT a')),
    await c.exchange(w.parse('s', TEN), w.bind('inA', 's'), w.sync()),
    await c.exchange(w.query('RELEASE a')),
    await c.exchange(w.query('SAVEPOINT b')),
    await c.exchange(w.query('SAVEPOINT c')),
    await c.exchange(w.bind('inC', 's'), w.sync()),
    await c.exchange(w.query('RELEASE c')),
    await c.exchange(w.query('SAVEPOINT b')),
    await c.exchange(w.bind('inB2', 's'), w.execute('inB2', 1), w.sync()),
    await c.exchange(w.query('SELECT * FROM no_such_table')),
    await c.exchange(w.query('ROLLBACK TO b')),
    await c.exchange(w.execute('inA', 1), w.execute('inC', 1), w.sync()),
    await c.exchange(w.execute('inB2', 1), w.sync()),
    await c.exchange(w.query('ROLLBACK TO b')),
    await c.exchange(w.query('ROLLBACK TO b')),
    await c.exchange(w.query('RELEASE b')),
    await c.exchange(w.query('ROLLBACK TO b')),
    await c.exchange(w.execute('inC', 1), w.sync()),
    await c.exchange(w.query('ROLLBACK')),
  ]);
  assert.deepEqual(levels[12], ['rows:1..1', 'suspended', 'rows:1..1', 'suspended', 'ready:T']);
  assert.deepEqual(levels[13], ['error:34000', 'ready:E']);
  assert.deepEqual(levels[18], ['error:34000', 'ready:E']);
});

test('in a failed block a malformed statement gets 42601, others 25P02, and the statements that end it or roll back answer as PostgreSQL', async () => {
  const statements = [
    'ROLLBACK foo',
    'END foo',
    'COMMIT foo',
    'ABORT foo',
    'ROLLBACK AND',
    'ROLLBACK TO',
    'ROLLBACK TO SAVEPOINT a b',
    'SAVEPOINT',
    'BEGIN foo',
    'SET TRANSACTION ISOLATION LEVEL SOMETIMES',
    'ROLLBACK TO nosuch',
    'RELEASE a',
    'SAVEPOINT b',
    'BEGIN',
    'BEGIN READ WRITE',
    'SET TRANSACTION READ WRITE',
    "SET TRANSACTION SNAPSHOT 'x'",
    'SHOW transaction_isolation',
    'SELECT 1',
    'SELECT * FROM no_such_table',
    'SELECT 1; ROLLBACK',
    'ROLLBACK; SELECT 1',
    'COMMIT AND CHAIN',
    'END WORK AND CHAIN',
    'ROLLBACK AND CHAIN',
    'COMMIT AND NO CHAIN',
    'ROLLBACK TO a',
    "PREPARE TRANSACTION 'x'",
    "COMMIT PREPARED 'x'",
    "ROLLBACK PREPARED 'x'",
    // Any statement: its syntax error first (PostgreSQL parses before it looks at the block).
    'SELEC 1',
    'SELECT FROM WHERE',
    'DROP TABLE goroutines',
    // psql's \\d (a catalog query DuckDB does not parse, answered by the server itself).
    "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(goroutines)$' COLLATE pg_catalog.default ORDER BY 2, 3",
  ];
  const failed =
    (s: string): Script =>
    async (c) => {
      const out: string[][] = [];
      // The simple protocol, then the extended one (Parse, Bind, Execute), each in a new failed block.
      for (const extended of [false, true]) {
        await c.exchange(w.query('BEGIN'), w.query('SAVEPOINT a'), w.query('SELECT * FROM no_such_table'));
        out.push(
          extended
            ? await c.exchange(w.parse('', s), w.bind('', ''), w.execute(''), w.sync())
            : await c.exchange(w.query(s)),
        );
        await c.exchange(w.query('ROLLBACK'));
      }
      return out;
    };
  const answers = new Map<string, string[][]>();
  for (const s of statements) answers.set(s, await same(s, failed(s)));
  assert.deepEqual(answers.get('ROLLBACK foo'), [
    ['error:42601', 'ready:E'],
    ['error:42601', 'ready:E'],
  ]);
  assert.deepEqual(answers.get('ROLLBACK TO nosuch')![0], ['error:3B001', 'ready:E']);
  assert.deepEqual(answers.get('SELECT 1')![1], ['error:25P02', 'ready:E']);
  // Parse refuses two statements (42601) before it looks at the block.
  assert.deepEqual(answers.get('ROLLBACK; SELECT 1')![1], ['error:42601', 'ready:E']);
  assert.deepEqual(answers.get('COMMIT AND CHAIN')![0], ['complete:ROLLBACK', 'ready:T']);
  assert.deepEqual(answers.get('SELEC 1'), [
    ['error:42601', 'ready:E'],
    ['error:42601', 'ready:E'],
  ]);
});

test('PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED are refused as PostgreSQL without prepared transactions refuses them', async () => {
  const prepared = await same(
    'prepared transactions',
    queries(
      "PREPARE TRANSACTION 'x'",
      "prepare transaction 'it''s'",
      'PREPARE TRANSACTION x',
      "PREPARE TRANSACTION 'x' y",
      "COMMIT PREPARED 'x'",
      "ROLLBACK PREPARED 'x'",
      'BEGIN',
      "COMMIT PREPARED 'x'",
      'ROLLBACK',
      'BEGIN',
      'SELECT 1',
      "PREPARE TRANSACTION 'x'",
      'SELECT 1',
    ),
  );
  assert.deepEqual(prepared[0], ['notice:25P01', 'complete:ROLLBACK', 'ready:I']);
  assert.deepEqual(prepared[11], ['error:55000', 'ready:I']);
  await same('prepared transactions, extended protocol', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(
      w.parse('', "PREPARE TRANSACTION 'x'"),
      w.bind('', ''),
      w.describe('P', ''),
      w.execute(''),
      w.sync(),
    ),
    await c.exchange(
      w.parse('', "COMMIT PREPARED 'x'"),
      w.bind('', ''),
      w.describe('P', ''),
      w.execute(''),
      w.sync(),
    ),
  ]);
});

test('Execute of a portal run to its end gives SELECT 0 (run without a row limit too), a row limit reached gives PortalSuspended, a command portal or one whose run failed cannot be run again (55000)', async () => {
  const selects = await same('a select portal executed again', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(
      w.parse('s', TEN),
      w.bind('x', 's'),
      w.execute('x'),
      w.execute('x'),
      w.execute('x', 3),
      w.sync(),
    ),
    await c.exchange(w.execute('x'), w.sync()),
    await c.exchange(w.query('COMMIT')),
    await c.exchange(
      w.bind('y', 's'),
      w.execute('y', 8),
      w.execute('y', 8),
      w.execute('y'),
      w.execute('y', 3),
      w.sync(),
    ),
    await c.exchange(w.bind('z', 's'), w.execute('z', 10), w.execute('z', 10), w.execute('z'), w.sync()),
    await c.exchange(
      w.parse('p', 'SELECT i FROM generate_series(1, $1::int) AS t(i)'),
      w.bind('q', 'p', ['5']),
      w.describe('P', 'q'),
      w.execute('q'),
      w.execute('q'),
      w.sync(),
    ),
    await c.exchange(w.parse('', ''), w.bind('e', ''), w.execute('e'), w.execute('e'), w.sync()),
  ]);
  assert.deepEqual(selects[1], [
    'parse',
    'bind',
    'rows:1..10',
    'complete:SELECT 10',
    'complete:SELECT 0',
    'complete:SELECT 0',
    'ready:T',
  ]);
  assert.deepEqual(selects[5], [
    'bind',
    'rows:1..10',
    'suspended',
    'complete:SELECT 0',
    'complete:SELECT 0',
    'ready:I',
  ]);
  const commands = await same('a command portal executed again', async (c) => [
    await c.exchange(w.parse('b', 'BEGIN'), w.bind('x', 'b'), w.execute('x'), w.execute('x'), w.sync()),
    await c.exchange(w.query('ROLLBACK')),
    await c.exchange(
      w.parse('t', 'SET extra_float_digits = 3'),
      w.bind('x', 't'),
      w.execute('x'),
      w.execute('x'),
      w.sync(),
    ),
  ]);
  assert.deepEqual(commands[0], ['parse', 'bind', 'complete:BEGIN', 'error:55000', 'ready:E']);
  const failedRun = await same('a portal whose run failed, after ROLLBACK TO', async (c) => [
    await c.exchange(w.query('BEGIN')),
    await c.exchange(
      w.parse('s', "SELECT CAST('x' || i AS INTEGER) FROM generate_series(1, 10) AS t(i)"),
      w.bind('x', 's'),
      w.sync(),
    ),
    await c.exchange(w.query('SAVEPOINT a')),
    await c.exchange(w.execute('x', 1), w.sync()),
    await c.exchange(w.query('ROLLBACK TO a')),
    await c.exchange(w.execute('x', 1), w.sync()),
    await c.exchange(w.query('ROLLBACK')),
  ]);
  assert.deepEqual(failedRun[3], ['error:22P02', 'ready:E']);
  assert.deepEqual(failedRun[5], ['error:55000', 'ready:E']);
});

test('isolation levels: BEGIN, SET TRANSACTION, SET SESSION CHARACTERISTICS, SET [default_]transaction_isolation and AND CHAIN give the level SHOW and current_setting report; a level or [NOT] DEFERRABLE set after a query or in a savepoint fails with 25001', async () => {
  const show = 'SHOW transaction_isolation';
  const levels = await same(
    'levels',
    queries(
      show,
      'SHOW default_transaction_isolation',
      'BEGIN ISOLATION LEVEL REPEATABLE READ',
      show,
      'SELECT 1',
      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
      'ROLLBACK',
      'BEGIN',
      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
      show,
      'SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED',
      show,
      'COMMIT',
      'BEGIN',
      show,
      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
      'SELECT 1',
      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
      'SAVEPOINT a',
      'COMMIT',
      'BEGIN',
      'SAVEPOINT a',
      'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ',
      'ROLLBACK',
      "SET transaction_isolation = 'repeatable read'",
      show,
      'BEGIN',
      "SET transaction_isolation = 'repeatable read'",
      "SELECT current_setting('transaction_isolation')",
      "SET transaction_isolation = 'serializable'",
      'COMMIT',
      'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ',
      show,
      'SHOW default_transaction_isolation',
      'BEGIN',
      'COMMIT AND CHAIN',
      show,
      'COMMIT',
      "SET default_transaction_isolation = 'serializable'",
      'BEGIN ISOLATION LEVEL SERIALIZABLE, ISOLATION LEVEL READ COMMITTED',
      show,
      'ROLLBACK AND CHAIN',
      show,
      'ROLLBACK',
      show,
      'RESET default_transaction_isolation',
      show,
      // [NOT] DEFERRABLE: before any query and outside a savepoint too; READ ONLY at any time.
      'BEGIN',
      'SET TRANSACTION NOT DEFERRABLE',
      'SELECT 1',
      'SET TRANSACTION READ ONLY',
      'SET TRANSACTION DEFERRABLE',
      'ROLLBACK',
      'BEGIN',
      'SAVEPOINT a',
      'SET TRANSACTION DEFERRABLE',
      'ROLLBACK',
    ),
  );
  assert.deepEqual(levels[3], ['description', 'row:repeatable read', 'complete:SHOW', 'ready:T']);
  assert.deepEqual(levels[5], ['error:25001', 'ready:E']);
  assert.deepEqual(levels[22], ['error:25001', 'ready:E']);
  assert.deepEqual(levels[28], ['description', 'row:repeatable read', 'complete:SELECT 1', 'ready:T']);
});
