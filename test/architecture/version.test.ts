/**
 * The version is package.json's: the code reads it (src/common/version.ts), and every place
 * that has to write it down (the API document, the image tags in deploy/ and the docs) must
 * say the same, so a release changes one line and this test names the others.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PERISCOPE_VERSION } from '../../src/common/version.js';
import { ROOT } from '../../support/go-fixtures.js';

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

test('the code reports package.json version', () => {
  assert.equal(PERISCOPE_VERSION, PKG.version);
});

test('the API document and the image tags name the same version', () => {
  const openapi = readFileSync(join(ROOT, 'docs', 'openapi.yaml'), 'utf8');
  assert.equal(/^ {2}version: (\S+)$/m.exec(openapi)?.[1], PKG.version, 'docs/openapi.yaml info.version');
  const files = ['deploy/Dockerfile', 'deploy/kubernetes/periscope-agent.yaml', 'docs/agent.md'];
  for (const f of files) {
    const tags = [...readFileSync(join(ROOT, f), 'utf8').matchAll(/periscope:(\d+\.\d+\.\d+\S*)/g)];
    assert.ok(tags.length > 0, `${f} names an image tag`);
    for (const t of tags) assert.equal(t[1], PKG.version, `${f}: periscope:${t[1]}`);
  }
});
