/** Splitting a simple-protocol query string into statements, as PostgreSQL runs them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitStatements } from '../../src/server/pg/pg-split.js';

test('semicolons in quotes, dollar quotes and comments do not split; empty statements drop', () => {
  assert.deepEqual(splitStatements('SELECT \'a;b\'; SELECT "x;y" FROM t;;'), [
    "SELECT 'a;b'",
    'SELECT "x;y" FROM t',
  ]);
  assert.deepEqual(splitStatements('SELECT $q$ ; $q$, $$;$$; SELECT $1'), [
    'SELECT $q$ ; $q$, $$;$$',
    'SELECT $1',
  ]);
  assert.deepEqual(splitStatements('SELECT 1 -- a; b\n; /* c; /* d; */ e; */ SELECT 2'), [
    'SELECT 1 -- a; b',
    '/* c; /* d; */ e; */ SELECT 2',
  ]);
  assert.deepEqual(splitStatements("SELECT 'it''s;'"), ["SELECT 'it''s;'"]);
});

test('a string of only comments and whitespace holds no statement (the empty query)', () => {
  assert.deepEqual(splitStatements('-- ping'), []);
  assert.deepEqual(splitStatements('  /* x */ ; -- y\n ;'), []);
  assert.deepEqual(splitStatements(''), []);
});
