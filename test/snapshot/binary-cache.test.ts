/**
 * binaryAt: a stored snapshot's binary found again where its process ran from, only when the
 * file there still has the build ID the snapshot recorded (a rebuilt binary at the same path
 * is another binary).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openElf } from '../../src/elf/elf-file.js';
import { binaryAt, cachedBinary } from '../../src/snapshot/binary-cache.js';
import { buildFixture } from '../support/go-fixtures.js';

test('binaryAt loads the file only when its build ID is the one asked for', async () => {
  const { path } = await buildFixture('hello');
  const copy = join(mkdtempSync(join(tmpdir(), 'periscope-bin-')), 'hello');
  copyFileSync(path, copy);
  const id = (await openElf(copy)).buildId()!;
  assert.ok(id, 'the fixture has a build ID');
  assert.equal(cachedBinary(id), undefined);
  assert.equal(binaryAt(copy, `${id}00`), undefined, 'another build ID: not that binary');
  assert.equal(binaryAt(join(copy, '..', 'nope'), id), undefined, 'gone');
  assert.equal(binaryAt('/dev/zero', id), undefined, 'not a regular file');
  const bin = binaryAt(copy, id);
  assert.equal(bin?.buildId, id);
  assert.equal(cachedBinary(id), bin, 'kept by build ID');
  assert.equal(binaryAt(copy, id), bin, 'loaded once');
});
