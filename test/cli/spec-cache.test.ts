/**
 * The CLI's parsed-spec cache (spec/spec-cache.ts): a query of a spec table fills it, and a
 * changed spec is parsed again, never served stale from the cache (even a cache entry that
 * another text would have left there is keyed by the text's hash).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { useSpecDiskCache } from '../../src/spec/spec-cache.js';
import { parseSpec } from '../../src/spec/spec-parse.js';
import { cli, freshDataDir } from '../store/store-support.js';

const specOf = (table: string) => `functions:
  - function: main.call
    table: ${table}
    capture: { id: id }
`;

test('a changed spec is never served stale from the parsed-spec cache', async () => {
  const data = freshDataDir();
  const cache = mkdtempSync(join(tmpdir(), 'periscope-spec-cache-'));
  process.env.PERISCOPE_CACHE_DIR = cache;
  try {
    const file = join(data, 'spec.yaml');
    writeFileSync(file, specOf('first_calls'));
    assert.equal((await cli('spec', 'set', file, '--data', data)).code, 0);
    for (let i = 0; i < 2; i++) {
      const r = await cli('query', '--data', data, 'SELECT count(*) AS n FROM first_calls');
      assert.equal(r.code, 0, r.stderr);
    }
    const entries = readdirSync(join(cache, 'specs'));
    assert.ok(entries.length >= 2, `the built-in and the stored spec are cached: ${entries.join(', ')}`);
    writeFileSync(file, specOf('second_calls'));
    assert.equal((await cli('spec', 'set', file, '--data', data)).code, 0);
    const now = await cli('query', '--data', data, 'SELECT count(*) AS n FROM second_calls');
    assert.equal(now.code, 0, now.stderr);
    const gone = await cli('query', '--data', data, 'SELECT count(*) AS n FROM first_calls');
    assert.notEqual(gone.code, 0, 'the old spec table is gone');
    assert.match(gone.stderr, /first_calls/);
    assert.ok(readdirSync(join(cache, 'specs')).length > entries.length, 'the new text has its own entry');
  } finally {
    delete process.env.PERISCOPE_CACHE_DIR;
  }
});

test('the same source name with another text is parsed again, not read from the cache', () => {
  const cache = mkdtempSync(join(tmpdir(), 'periscope-spec-cache-'));
  useSpecDiskCache(cache);
  try {
    const names = (text: string) => parseSpec(text, 'spec.yaml').functions.map((f) => f.table);
    assert.deepEqual(names(specOf('first_calls')), ['first_calls']);
    assert.deepEqual(names(specOf('first_calls')), ['first_calls'], 'from the cache');
    assert.equal(readdirSync(cache).length, 1);
    assert.deepEqual(names(specOf('second_calls')), ['second_calls']);
    assert.deepEqual(names(specOf('first_calls')), ['first_calls']);
  } finally {
    useSpecDiskCache(undefined);
  }
});
