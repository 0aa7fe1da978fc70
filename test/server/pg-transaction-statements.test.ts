/** Transaction-control statements as the PostgreSQL port parses them, in PostgreSQL's spellings. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PgFault } from '../../src/server/pg/pg-errors.js';
import { transactionStatement } from '../../src/server/pg/pg-transaction.js';

function code(sql: string): string | undefined {
  try {
    transactionStatement(sql);
    return undefined;
  } catch (e) {
    return e instanceof PgFault ? e.code : String(e);
  }
}

test('BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT and savepoints in their spellings', () => {
  assert.deepEqual(transactionStatement('begin;'), { kind: 'begin', tag: 'BEGIN' });
  assert.deepEqual(transactionStatement('/* tool */ BEGIN WORK'), { kind: 'begin', tag: 'BEGIN' });
  assert.deepEqual(
    transactionStatement('BEGIN TRANSACTION ISOLATION LEVEL READ UNCOMMITTED, READ ONLY NOT DEFERRABLE'),
    { kind: 'begin', tag: 'BEGIN', level: 'read uncommitted', deferrable: true },
  );
  assert.deepEqual(transactionStatement('start transaction read only, deferrable'), {
    kind: 'begin',
    tag: 'START TRANSACTION',
    deferrable: true,
  });
  assert.deepEqual(transactionStatement('COMMIT TRANSACTION AND NO CHAIN'), { kind: 'commit', chain: false });
  assert.deepEqual(transactionStatement('end work and chain'), { kind: 'commit', chain: true });
  assert.deepEqual(transactionStatement('ABORT'), { kind: 'rollback', chain: false });
  assert.deepEqual(transactionStatement('ROLLBACK WORK TO SAVEPOINT "Mixed Case"'), {
    kind: 'rollback-to',
    name: 'Mixed Case',
  });
  assert.deepEqual(transactionStatement('rollback to PGJDBC_AUTOSAVE'), {
    kind: 'rollback-to',
    name: 'pgjdbc_autosave',
  });
  assert.deepEqual(transactionStatement('SAVEPOINT pg_psql_temporary_savepoint'), {
    kind: 'savepoint',
    name: 'pg_psql_temporary_savepoint',
  });
  assert.deepEqual(transactionStatement('RELEASE SAVEPOINT a'), { kind: 'release', name: 'a' });
  assert.deepEqual(transactionStatement('RELEASE a'), { kind: 'release', name: 'a' });
  assert.deepEqual(transactionStatement('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE'), {
    kind: 'set',
    session: false,
    level: 'serializable',
  });
  assert.deepEqual(
    transactionStatement('START TRANSACTION ISOLATION LEVEL SERIALIZABLE, ISOLATION LEVEL REPEATABLE READ'),
    { kind: 'begin', tag: 'START TRANSACTION', level: 'repeatable read' },
  );
  assert.deepEqual(transactionStatement("PREPARE TRANSACTION 'it''s'"), { kind: 'prepare', gid: "it's" });
  assert.deepEqual(transactionStatement("rollback prepared 'x';"), {
    kind: 'prepared',
    word: 'ROLLBACK',
    gid: 'x',
  });
  assert.deepEqual(transactionStatement("COMMIT PREPARED 'x'"), {
    kind: 'prepared',
    word: 'COMMIT',
    gid: 'x',
  });
  assert.deepEqual(transactionStatement('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY'), {
    kind: 'set',
    session: true,
  });
});

test('other statements are not transaction control; read-write modes and bad spellings are refused', () => {
  for (const sql of [
    'SELECT 1',
    'SET TimeZone = UTC',
    'SET transaction_read_only = on',
    'SHOW TRANSACTION ISOLATION LEVEL',
    'begins',
    'PREPARE q AS SELECT 1',
  ])
    assert.equal(transactionStatement(sql), undefined, sql);
  assert.equal(code('BEGIN READ WRITE'), '25006');
  assert.equal(code('START TRANSACTION READ ONLY, READ WRITE'), '25006');
  assert.equal(code('SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE'), '25006');
  assert.equal(code("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'"), '0A000');
  assert.equal(code('BEGIN ISOLATION LEVEL SOMETIMES'), '42601');
  assert.equal(code('START'), '42601');
  assert.equal(code('COMMIT AND'), '42601');
  assert.equal(code('SAVEPOINT'), '42601');
  assert.equal(code('SAVEPOINT a b'), '42601');
  assert.equal(code('ROLLBACK TO'), '42601');
  assert.equal(code('PREPARE TRANSACTION x'), '42601');
  assert.equal(code("COMMIT PREPARED 'x' y"), '42601');
});
