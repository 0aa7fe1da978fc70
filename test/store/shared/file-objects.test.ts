import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { FileObjects } from '../../../src/store/file-objects.js';
import { openObjectStore } from '../../../src/store/open-objects.js';

function fresh(): { dir: string; objects: FileObjects } {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-objects-'));
  return { dir, objects: FileObjects.fromUrl(pathToFileURL(dir)) };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined => (b ? new TextDecoder().decode(b) : undefined);

test('file objects: put, get, replace, list in key order under a prefix, delete', async () => {
  const { objects } = fresh();
  await objects.put('snapshots/10/h:1/goroutines.parquet', bytes('g10'));
  await objects.put('snapshots/2/h:1/goroutines.parquet', bytes('g2'));
  await objects.put('snapshots/2/h:1/frames.parquet', bytes('f2'));
  await objects.put('snapshots/2/h:2/frames.parquet', bytes('f2b'));
  await objects.put('other/x', bytes('x'));
  assert.equal(text(await objects.get('snapshots/2/h:1/frames.parquet')), 'f2');
  assert.equal(await objects.get('snapshots/3/none.parquet'), undefined);
  await objects.put('snapshots/2/h:1/frames.parquet', bytes('f2-new'));
  assert.equal(text(await objects.get('snapshots/2/h:1/frames.parquet')), 'f2-new');
  assert.deepEqual(await objects.list('snapshots/2/'), [
    { key: 'snapshots/2/h:1/frames.parquet', size: 6 },
    { key: 'snapshots/2/h:1/goroutines.parquet', size: 2 },
    { key: 'snapshots/2/h:2/frames.parquet', size: 3 },
  ]);
  // Key order is the keys' order, not the numbers': "10" before "2".
  assert.deepEqual(
    (await objects.list('snapshots/')).map((o) => o.key),
    [
      'snapshots/10/h:1/goroutines.parquet',
      'snapshots/2/h:1/frames.parquet',
      'snapshots/2/h:1/goroutines.parquet',
      'snapshots/2/h:2/frames.parquet',
    ],
  );
  assert.deepEqual(
    (await objects.list('snapshots/2/h:1/g')).map((o) => o.key),
    ['snapshots/2/h:1/goroutines.parquet'],
  );
  assert.equal((await objects.list('')).length, 5);
  await objects.delete(['snapshots/2/h:1/frames.parquet', 'snapshots/2/never']);
  assert.equal(await objects.get('snapshots/2/h:1/frames.parquet'), undefined);
  assert.deepEqual(
    (await objects.list('snapshots/2/')).map((o) => o.key),
    ['snapshots/2/h:1/goroutines.parquet', 'snapshots/2/h:2/frames.parquet'],
  );
});

test('file objects: a put under way is never listed or read, and leaves no temporary file behind', async () => {
  const { dir, objects } = fresh();
  // What a put looks like while it writes: the temporary name beside the key.
  writeFileSync(join(dir, 'a.parquet.123.abcd.periscope-tmp'), 'half');
  assert.deepEqual(await objects.list(''), []);
  const big = new Uint8Array(8 << 20).fill(7);
  await Promise.all([objects.put('a.parquet', big), objects.put('a.parquet', bytes('small'))]);
  const got = await objects.get('a.parquet');
  assert.ok(got && (got.length === big.length || text(got) === 'small'), 'one whole object, not a mix');
  assert.deepEqual(readdirSync(dir).sort(), ['a.parquet', 'a.parquet.123.abcd.periscope-tmp']);
});

test('file objects: keys that would leave the directory are refused', async () => {
  const { objects } = fresh();
  for (const key of ['../x', 'a/../../x', '/abs', 'a//b', '', 'a/./b'])
    await assert.rejects(objects.put(key, bytes('x')), /is not an object key/, key);
});

test('--objects: file:// opens a directory, s3:// an S3 store (credentials from the environment), others named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-objects-'));
  assert.match(openObjectStore(pathToFileURL(dir).href).describe(), /^file:\/\//);
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  try {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    assert.throws(
      () => openObjectStore('s3://bucket/prefix'),
      /no credentials for s3:\/\/bucket: set AWS_ACCESS_KEY_ID/,
    );
    process.env.AWS_ACCESS_KEY_ID = 'k';
    process.env.AWS_SECRET_ACCESS_KEY = 's';
    assert.match(
      openObjectStore('s3://bucket/prefix?endpoint=http://127.0.0.1:9').describe(),
      /^s3:\/\/bucket\/prefix/,
    );
  } finally {
    for (const [k, v] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
  assert.throws(() => openObjectStore('ftp://x/y'), /unknown scheme ftp:/);
  // A directory that cannot be created is said so (under /proc, Node's recursive mkdir never returns).
  assert.throws(
    () => openObjectStore('file:///proc/periscope-objects/x'),
    /cannot create the object directory \/proc\/periscope-objects\/x: ENOENT.*check the path/,
  );
  const nested = join(mkdtempSync(join(tmpdir(), 'periscope-objects-')), 'a', 'b');
  openObjectStore(pathToFileURL(nested).href);
  assert.ok(statSync(nested).isDirectory());
  assert.throws(() => openObjectStore('not a url'), /is not a URL/);
});
