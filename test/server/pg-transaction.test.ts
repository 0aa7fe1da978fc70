/**
 * Transaction blocks on the PostgreSQL port, with real clients, seen on the wire through a
 * proxy (pg-wire-tap.ts): node-postgres's BEGIN, an error and ROLLBACK with ReadyForQuery's
 * statuses (I, T, E), the warnings PostgreSQL gives, read-write modes and writes refused
 * (25006), savepoints; JDBC with autocommit off reading setFetchSize(100) ResultSets an
 * Execute per chunk (PortalSuspended counted), two of them read in turn, and its autosave
 * savepoints; psql with AUTOCOMMIT off.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { jdbcReplay } from '../../support/jdbc.js';
import { dataDirWithSnapshot, type PgTestServer, type PsqlRun, pgServer, psql } from './pg-support.js';
import { PgWireTap } from './pg-wire-tap.js';

let srv: PgTestServer;
let tap: PgWireTap;

before(async () => {
  srv = await pgServer(await dataDirWithSnapshot());
  tap = await PgWireTap.start(srv.port);
});

after(async () => {
  await tap.close();
  await srv.server.close();
});

async function connected<T>(fn: (c: pg.Client, notices: string[]) => Promise<T>): Promise<T> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: tap.port,
    user: 'tester',
    database: 'latest',
    password: srv.user,
  });
  const notices: string[] = [];
  c.on('notice', (n) => notices.push(`${n.severity} ${n.code} ${n.message}`));
  await c.connect();
  try {
    return await fn(c, notices);
  } finally {
    await c.end();
  }
}

/** The status of the last ReadyForQuery the tap saw. */
const status = (): string | undefined => tap.statuses.at(-1);

/** The SQLSTATE a query fails with and the status of the ReadyForQuery after it (`42P01 E`); `ok` when it did not fail. */
async function failure(c: pg.Client, sql: string): Promise<string> {
  try {
    await c.query(sql);
    return 'ok';
  } catch (e) {
    return `${(e as { code?: string }).code} ${status()}`;
  }
}

test('node-postgres: BEGIN, an error, refused statements (25P02), then ROLLBACK, with ReadyForQuery I, T, E', async () => {
  await connected(async (c, notices) => {
    assert.equal(status(), 'I');
    assert.equal((await c.query('BEGIN')).command, 'BEGIN');
    assert.equal(status(), 'T');
    assert.equal((await c.query('SELECT 1 AS n')).rows[0].n, 1);
    assert.equal(status(), 'T');
    // The extended protocol in the block too.
    assert.equal((await c.query('SELECT $1::INTEGER + 1 AS n', [41])).rows[0].n, 42);
    assert.equal(status(), 'T');
    assert.equal(await failure(c, 'SELECT * FROM no_such_table'), '42P01 E');
    assert.equal(await failure(c, 'SELECT 1'), '25P02 E');
    assert.equal(await failure(c, { text: 'SELECT $1::INTEGER', values: [1] } as never), '25P02 E');
    assert.equal(await failure(c, 'SET application_name = x'), '25P02 E');
    assert.equal(await failure(c, 'SAVEPOINT a'), '25P02 E');
    assert.equal((await c.query('ROLLBACK')).command, 'ROLLBACK');
    assert.equal(status(), 'I');
    assert.equal((await c.query('SELECT 1 AS n')).rows[0].n, 1);

    // COMMIT of a failed block answers ROLLBACK.
    // node-postgres keeps the first word of the tag `START TRANSACTION`.
    assert.equal(
      (await c.query('START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')).command,
      'START',
    );
    assert.equal(await failure(c, 'SELECT no_such_column FROM goroutines'), '42703 E');
    assert.equal((await c.query('COMMIT')).command, 'ROLLBACK');
    assert.equal(status(), 'I');
    assert.deepEqual(notices, []);

    // Warnings where PostgreSQL gives them.
    assert.equal((await c.query('COMMIT')).command, 'COMMIT');
    assert.equal((await c.query('ROLLBACK')).command, 'ROLLBACK');
    assert.equal((await c.query('SET TRANSACTION READ ONLY')).command, 'SET');
    await c.query('BEGIN');
    assert.equal((await c.query('BEGIN')).command, 'BEGIN');
    assert.equal((await c.query('END')).command, 'COMMIT');
    assert.deepEqual(notices, [
      'WARNING 25P01 there is no transaction in progress',
      'WARNING 25P01 there is no transaction in progress',
      'WARNING 25P01 SET TRANSACTION can only be used in transaction blocks',
      'WARNING 25001 there is already a transaction in progress',
    ]);
  });
});

test('node-postgres: read-write modes and writes refused (25006), savepoints, AND CHAIN, one query string holding a block', async () => {
  await connected(async (c) => {
    assert.equal(await failure(c, 'BEGIN READ WRITE'), '25006 I');
    assert.equal(await failure(c, 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE READ WRITE'), '25006 I');
    assert.equal(await failure(c, 'BEGIN READ SIDEWAYS'), '42601 I');
    await c.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    assert.equal(await failure(c, 'SET TRANSACTION READ WRITE'), '25006 E');
    await c.query('ROLLBACK');
    await c.query('BEGIN TRANSACTION READ ONLY');
    assert.equal(await failure(c, 'DROP TABLE goroutines'), '25006 E');
    assert.equal((await c.query('ABORT')).command, 'ROLLBACK');
    assert.equal((await c.query('SELECT count(*) AS n FROM goroutines')).rows.length, 1);

    // Savepoints: ROLLBACK TO brings a failed block back.
    assert.equal(await failure(c, 'SAVEPOINT a'), '25P01 I');
    await c.query('BEGIN');
    assert.equal((await c.query('SAVEPOINT a')).command, 'SAVEPOINT');
    assert.equal((await c.query('SAVEPOINT "B"')).command, 'SAVEPOINT');
    assert.equal(await failure(c, 'SELECT * FROM no_such_table'), '42P01 E');
    assert.equal((await c.query('ROLLBACK TO SAVEPOINT "B"')).command, 'ROLLBACK');
    assert.equal(status(), 'T');
    assert.equal((await c.query('RELEASE a')).command, 'RELEASE');
    assert.equal(await failure(c, 'RELEASE SAVEPOINT "B"'), '3B001 E'); // released with a
    assert.equal(await failure(c, 'ROLLBACK TO b'), '3B001 E');
    assert.equal((await c.query('ROLLBACK')).command, 'ROLLBACK');

    // AND CHAIN starts the next block at once.
    await c.query('BEGIN');
    assert.equal((await c.query('COMMIT AND CHAIN')).command, 'COMMIT');
    assert.equal(status(), 'T');
    await c.query('COMMIT');
    assert.equal(await failure(c, 'COMMIT AND CHAIN'), '25P01 I');

    // One simple query holding a block: ReadyForQuery after it says where it ended.
    const r = (await c.query(
      'BEGIN; SELECT 1 AS n; SHOW transaction_read_only',
    )) as unknown as pg.QueryResult[];
    assert.deepEqual(
      r.map((x) => x.command),
      ['BEGIN', 'SELECT', 'SHOW'],
    );
    assert.equal(r[2]!.rows[0].transaction_read_only, 'on');
    assert.equal(status(), 'T');
    await c.query('COMMIT');
    assert.equal(status(), 'I');
  });
});

test('JDBC with autocommit off reads setFetchSize(100) ResultSets an Execute per chunk, two in turn, and keeps its blocks', async () => {
  tap.clear();
  const { code, lines } = await jdbcReplay(
    `jdbc:postgresql://127.0.0.1:${tap.port}/latest`,
    'bi-tool',
    srv.user,
    'JdbcTransactions',
  );
  const out = new Map(lines);
  assert.equal(code, 0, `JdbcTransactions failed: ${out.get('error')}`);
  assert.equal(out.get('fetch'), `5000 ${(4999 * 5000) / 2} true`);
  assert.equal(out.get('interleaved'), '3000 2500 true');
  assert.equal(out.get('committed'), 'ok');
  assert.equal(out.get('missing'), '42P01');
  assert.equal(out.get('aborted'), '25P02');
  assert.equal(out.get('after-rollback'), '1');
  assert.equal(out.get('drop'), '25006');
  assert.equal(out.get('suspended-after-error'), '100 25P02');
  assert.equal(out.get('read-only'), '1');
  assert.equal(out.get('isolation'), '2'); // Connection.TRANSACTION_READ_COMMITTED
  // setTransactionIsolation(TRANSACTION_REPEATABLE_READ, 4): the next block's level.
  assert.equal(out.get('repeatable-read'), '4 repeatable read');
  assert.equal(out.get('autosave-missing'), '42P01');
  assert.equal(out.get('autosave'), '2');
  // 5000 + 3000 + 2500 rows at 100 an Execute: a PortalSuspended for each chunk, the last
  // one's too (as PostgreSQL, which does not look for a row past the limit: the next Execute
  // gives none); and the one suspended before its block failed.
  assert.equal(tap.count('s'), 50 + 30 + 25 + 1);
  // Each chunk asked for with its own Execute and a Sync after it: the portals outlived the Syncs, in the block.
  assert.ok(tap.sent.filter((t) => t === 'E').length >= 50 + 30 + 25 + 2, 'Executes');
  assert.ok(tap.sent.filter((t) => t === 'S').length >= 50 + 30 + 25 + 2, 'Syncs');
  assert.ok(tap.statuses.includes('T') && tap.statuses.includes('E'), tap.statuses.join(''));
});

/** Runs psql through the tap (cleared first) with `\\set AUTOCOMMIT off` and then each command as a -c; asserts it succeeded. */
async function psqlAutocommitOff(...commands: string[]): Promise<PsqlRun> {
  tap.clear();
  const r = await psql(
    `host=127.0.0.1 port=${tap.port} dbname=latest user=tester sslmode=disable`,
    srv.user,
    '-A',
    '-t',
    ...['\\set AUTOCOMMIT off', ...commands].flatMap((c) => ['-c', c]),
  );
  assert.equal(r.code, 0, r.stderr);
  return r;
}

test('psql with AUTOCOMMIT off runs two queries in the block it opened, a COMMIT ends it, and \\q', async () => {
  const r = await psqlAutocommitOff(
    'SELECT 1 AS a',
    'SELECT count(*) > 0 FROM goroutines',
    'COMMIT',
    'COMMIT',
    '\\q',
  );
  assert.deepEqual(r.stdout.trim().split('\n'), ['1', 't', 'COMMIT', 'COMMIT']);
  // psql sent BEGIN before the first query: only the second COMMIT is outside a block.
  assert.equal(r.stderr.match(/there is no transaction in progress/g)?.length, 1, r.stderr);
  assert.match(r.stderr, /WARNING:\s+25P01: there is no transaction in progress/);
  assert.deepEqual(tap.statuses, ['I', 'T', 'T', 'T', 'I', 'I']);
});

test('psql with ON_ERROR_ROLLBACK goes on in its block after an error (its savepoint rolled back to)', async () => {
  const r = await psqlAutocommitOff(
    '\\set ON_ERROR_ROLLBACK on',
    'SELECT 1',
    'SELECT * FROM no_such_table',
    'SELECT 2',
    'COMMIT',
  );
  assert.deepEqual(r.stdout.trim().split('\n'), ['1', '2', 'COMMIT']);
  assert.match(r.stderr, /42P01/);
  assert.doesNotMatch(r.stderr, /25P02|WARNING/);
  // BEGIN, each statement between a SAVEPOINT and its RELEASE; after the failed one, rolled
  // back to its savepoint, the block goes on (T) until COMMIT.
  assert.match(tap.statuses.join(''), /^IT{5,}ET{4,}I$/);
});
