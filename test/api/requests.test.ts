import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BadRequest } from '../../src/api/fields.js';
import {
  linksQuery,
  parseLinksParams,
  parseQueryRequest,
  parseSnapshotRequest,
  parseSnapshotsParams,
  parseSpecRequest,
  parseTokenRequest,
  queryRequestBody,
  snapshotRequestBody,
  snapshotsQuery,
  specRequestBody,
  tokenRequestBody,
} from '../../src/api/requests.js';
import { ROOT } from '../../support/go-fixtures.js';

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof BadRequest && message.test(e.message));
}

test('each request body: what the builder makes, the parser accepts; what it refuses names the field', () => {
  const snap = snapshotRequestBody({
    select: 'program=orders',
    all: false,
    labels: { a: '1' },
    noPause: true,
  });
  assert.deepEqual(parseSnapshotRequest(snap), {
    selector: 'program=orders',
    labels: { a: '1' },
    noPause: true,
  });
  assert.deepEqual(
    parseSnapshotRequest({ program: 'orders', select: 'env.X=1' }).selector,
    'program=orders,env.X=1',
  );
  assert.equal(parseSnapshotRequest({ all: true, select: 'ignored' }).selector, '');
  refused(() => snapshotRequestBody({ select: undefined }), /say which processes/);
  refused(() => parseSnapshotRequest({ all: 'yes' }), /"all" must be true or false/);
  refused(() => parseSnapshotRequest({ all: true, labels: { '': 'x' } }), /label names must be 1 to 200/);
  refused(() => parseSnapshotRequest({ all: true, labels: ['x'] }), /"labels" must be an object/);
  refused(() => parseSnapshotRequest([]), /must be a JSON object/);

  assert.deepEqual(parseQueryRequest(queryRequestBody('select 1', { snapshot: 3 }, 'csv')), {
    sql: 'select 1',
    scope: { snapshot: 3 },
    format: 'csv',
  });
  assert.deepEqual(parseQueryRequest({ sql: 'x' }, 'csv').format, 'csv', '?format= when the body has none');
  assert.deepEqual(parseQueryRequest({ sql: 'x', all: true }).scope, { all: true });
  assert.deepEqual(parseQueryRequest({ sql: 'x' }).scope, { latest: true });
  refused(() => parseQueryRequest({ sql: ' ' }), /give the SQL in "sql"/);
  refused(() => parseQueryRequest({ sql: 'x', snapshot: 1, all: true }), /not both/);
  refused(() => parseQueryRequest({ sql: 'x', snapshot: 1.5 }), /"snapshot" must be a positive integer/);
  refused(() => parseQueryRequest({ sql: 'x', format: 'xml' }), /"format" must be json or csv/);

  assert.deepEqual(
    parseSpecRequest({ json: specRequestBody('functions: []\n', { source: 'a.yaml', force: true }) }),
    {
      yaml: 'functions: []\n',
      source: 'a.yaml',
      force: true,
    },
  );
  assert.deepEqual(parseSpecRequest({ yaml: 'x' }, new URLSearchParams('source=b.yaml&force=true')), {
    yaml: 'x',
    source: 'b.yaml',
    force: true,
  });
  assert.equal(parseSpecRequest({ yaml: 'x' }).source, 'spec');
  refused(() => parseSpecRequest({ json: { text: 'x' } }), /needs "yaml"/);
  refused(
    () => parseSpecRequest({ yaml: 'x' }, new URLSearchParams('force=yes')),
    /\?force takes true or false/,
  );
  refused(() => specRequestBody('x', { source: 'a\nb' }), /"source" must be a file name/);
  assert.deepEqual(parseTokenRequest(tokenRequestBody('user', 'ann')), { role: 'user', name: 'ann' });
  refused(() => tokenRequestBody('root'), /"role" must be one of agent, user, admin/);
  refused(() => tokenRequestBody('user', 'x'.repeat(201)), /longer than 200/);
});

test('query strings: what the builder writes, the parser reads back', () => {
  const q = (text: string) => new URLSearchParams(text.replace(/^\?/, ''));
  assert.deepEqual(parseSnapshotsParams(q(snapshotsQuery({ labels: ['a=1', 'b~x.*'], limit: 5 }))), {
    labels: ['a=1', 'b~x.*'],
    limit: 5,
  });
  assert.equal(parseSnapshotsParams(q('')).limit, 100);
  refused(() => parseSnapshotsParams(q('limit=0')), /"limit" "0" is not a positive integer/);
  const ref = { processId: 'web-1:4242', goroutineId: 17 };
  assert.deepEqual(parseLinksParams(q(linksQuery({ goroutine: ref, snapshot: 2 }))), {
    goroutine: ref,
    snapshot: 2,
  });
  refused(() => parseLinksParams(q('goroutine=17')), /goroutine takes PROCESS:GOID/);
  refused(() => parseLinksParams(q('')), /give the goroutine/);
});

test('src/api/ has no Node imports and loads nothing with them, so the web app can use it', () => {
  const dir = join(ROOT, 'src', 'api');
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    assert.doesNotMatch(text, /from 'node:/, name);
    // Value imports only of modules without Node imports; the rest are type-only.
    for (const m of text.matchAll(/^import (?!type )[^;]*? from '(\.\.?\/[^']+)';$/gms)) {
      const target = join(dir, m[1]!.replace(/\.js$/, '.ts'));
      assert.doesNotMatch(readFileSync(target, 'utf8'), /from 'node:/, `${name} imports ${m[1]}`);
    }
  }
});
