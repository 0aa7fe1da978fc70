/**
 * The binary cache on disk stays bounded (snapshot/binary-disk-cache.ts): past its entries or
 * bytes the least recently used entries go (a load counts as a use), and files half-written by
 * a process that died are removed once stale; fresh ones (another thread writing) stay.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BinaryDiskCache } from '../../src/snapshot/binary-disk-cache.js';
import type { FactsKey } from '../../src/snapshot/facts-file.js';

const keyOf = (n: number): FactsKey => ({
  buildId: `build-${n}`,
  size: 1000 + n,
  mtimeMs: n,
  periscope: 'test',
});
const facts = (n: number) => ({ waitReasons: Array.from({ length: 200 }, (_, i) => `reason ${n} ${i}`) });
const at = (path: string, sec: number) => utimesSync(path, sec, sec);
/** The directory's files but its lock (disk-cache-lock.ts: never removed). */
const files = (dir: string) => readdirSync(dir).filter((n) => n !== '.lock');

test('least recently used entries go past the entry and byte bounds; a load is a use', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'periscope-disk-bounds-')), 'binaries');
  try {
    const lines: string[] = [];
    const c = new BinaryDiskCache({ dir, maxEntries: 3, log: (l) => lines.push(l) });
    for (const n of [1, 2, 3]) {
      c.store(keyOf(n), facts(n));
      at(c.entryPath(keyOf(n)), 1000 + n); // stored in this order, long ago
    }
    assert.ok(c.load(keyOf(1)), 'entry 1 loads'); // now the most recently used
    c.store(keyOf(4), facts(4));
    assert.equal(files(dir).length, 3);
    assert.ok(c.load(keyOf(1)), 'the entry loaded last stays');
    assert.equal(c.load(keyOf(2)), undefined, 'the least recently used went');
    assert.ok(lines.some((l) => l.startsWith('evicted ')));

    // Bytes: a bound below two entries keeps only the one just stored.
    const one = statSync(c.entryPath(keyOf(4))).size;
    const small = new BinaryDiskCache({ dir, maxBytes: Math.floor(one * 1.5) });
    small.store(keyOf(5), facts(5));
    assert.deepEqual(files(dir), [small.entryPath(keyOf(5)).slice(dir.length + 1)]);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('a stale half-written file is removed when an entry is stored; a fresh one stays', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'periscope-disk-bounds-')), 'binaries');
  try {
    const c = new BinaryDiskCache({ dir });
    c.store(keyOf(1), facts(1));
    const stale = join(dir, 'abc.facts.123-0.tmp');
    const fresh = join(dir, 'abc.facts.124-1.tmp');
    writeFileSync(stale, 'half', { mode: 0o600 });
    writeFileSync(fresh, 'half', { mode: 0o600 });
    at(stale, Date.now() / 1000 - 3600);
    c.store(keyOf(2), facts(2));
    const names = readdirSync(dir);
    assert.ok(!names.includes('abc.facts.123-0.tmp'), `stale removed: ${names}`);
    assert.ok(names.includes('abc.facts.124-1.tmp'), `fresh kept: ${names}`);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
