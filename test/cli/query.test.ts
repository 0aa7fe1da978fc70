import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Target } from '../../support/target.js';
import { cli, freshDataDir, startFixture } from '../store/store-support.js';

const SPEC = `functions:
  - function: main.park
    table: parked
    capture:
      server: srv.Name
      n: n
`;

const data = freshDataDir();
const files = freshDataDir();
let target: Target;

before(async () => {
  target = await startFixture('exprs');
  writeFileSync(join(files, 'spec.yaml'), SPEC);
});

after(() => target.kill());

test('periscope snapshot stores the snapshot and prints its id', async () => {
  const r = await cli(
    'snapshot',
    '--pid',
    String(target.pid),
    '--spec',
    join(files, 'spec.yaml'),
    '--set-current',
    '--data',
    data,
    '--label',
    'env=test',
    '--label',
    ' round =1', // the key is trimmed, as on a server
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /goroutines/);
  assert.match(r.stdout, new RegExp(`^snapshot 1 stored in ${data}$`, 'm'));
  assert.match(r.stderr, /spec\.yaml stored as spec version 1/);
  // Without --spec the store's current spec is used; --json keeps stdout pure JSON.
  const j = await cli('snapshot', '--pid', String(target.pid), '--data', data, '--json');
  assert.equal(j.code, 0, j.stderr);
  assert.equal(JSON.parse(j.stdout).pid, target.pid);
  assert.match(j.stderr, /^snapshot 2 stored in /m);
  const n = await cli('snapshot', '--pid', String(target.pid), '--data', data, '--no-store');
  assert.equal(n.code, 0, n.stderr);
  assert.doesNotMatch(n.stdout, /stored in/);
  const bad = await cli('snapshot', '--pid', String(target.pid), '--data', data, '--label', 'oops');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--label takes KEY=VALUE, not "oops"/);
});

test('periscope query: the latest snapshot by default, --snapshot, --all, three formats', async () => {
  const t = await cli('query', '--data', data, 'SELECT snapshot_id, server, n FROM parked');
  assert.equal(t.code, 0, t.stderr);
  assert.equal(t.stdout, 'snapshot_id  server  n\n-----------  ------  -\n          2  alpha   4\n(1 row)\n');
  const j = await cli(
    'query',
    '--data',
    data,
    '--snapshot',
    '1',
    '--format',
    'json',
    'SELECT labels, spec_version FROM snapshots',
  );
  assert.deepEqual(JSON.parse(j.stdout), [{ labels: { env: 'test', round: '1' }, spec_version: 1 }]);
  const c = await cli(
    'query',
    '--data',
    data,
    '--all',
    '--format',
    'csv',
    'SELECT snapshot_id, server FROM parked ORDER BY 1',
  );
  assert.equal(c.stdout, 'snapshot_id,server\r\n1,alpha\r\n2,alpha\r\n', 'RFC 4180: CRLF');
  const both = await cli('query', '--data', data, '--all', '--snapshot', '1', 'SELECT 1');
  assert.equal(both.code, 2);
  const missing = await cli('query', '--data', data, '--snapshot', '9', 'SELECT 1');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no snapshot 9 in this store/);
  const none = await cli('query', '--data', freshDataDir(), 'SELECT 1');
  assert.match(none.stderr, /no store in .* yet; take a snapshot with `periscope snapshot --pid PID`/);
});

test('periscope query refuses statements that would change or leave the store', async () => {
  const refused: [string, RegExp][] = [
    ['INSERT INTO goroutines SELECT * FROM goroutines', /INSERT statements are refused/],
    ["UPDATE raw.goroutines SET status = 'x'", /UPDATE statements are refused/],
    ['DELETE FROM raw.frames', /DELETE statements are refused/],
    ['DROP TABLE raw.frames', /DROP statements are refused/],
    ["ATTACH '/tmp/x.duckdb' AS x", /ATTACH statements are refused/],
    ["COPY (SELECT * FROM frames) TO '/tmp/frames.csv'", /COPY statements are refused/],
    ['INSTALL httpfs', /INSTALL statements are refused/],
    ['LOAD httpfs', /LOAD statements are refused/],
    ['CREATE TABLE t AS SELECT 1', /CREATE statements are refused/],
    ['EXPLAIN ANALYZE DELETE FROM raw.frames', /DELETE statements are refused/],
    ['SELECT 1; DROP TABLE raw.frames', /exactly one SQL statement/],
    ["SELECT * FROM read_csv('/etc/passwd')", /Permission Error: .*file system operations are disabled/],
  ];
  for (const [sql, re] of refused) {
    const r = await cli('query', '--data', data, sql);
    assert.notEqual(r.code, 0, sql);
    assert.match(r.stderr, re, sql);
    assert.doesNotMatch(r.stderr, /internal error/, sql);
  }
  const still = await cli('query', '--data', data, '--all', 'SELECT count(*) FROM frames');
  assert.equal(still.code, 0);
  assert.doesNotMatch(still.stdout, /\b0\n/);
});

test('a bad query gets DuckDB’s message and the position, never a crash', async () => {
  const syntax = await cli('query', '--data', data, 'SELEC * FROM goroutines');
  assert.equal(syntax.code, 2);
  assert.match(
    syntax.stderr,
    /^periscope: query failed: Parser Error: syntax error at or near "SELEC"\n\nLINE 1: SELEC \* FROM goroutines\n {8}\^/,
  );
  const parse = await cli('query', '--data', data, 'SELECT * FORM goroutines');
  assert.equal(parse.code, 2);
  assert.match(parse.stderr, /query failed: Parser Error: syntax error at or near "goroutines"/);
  assert.match(parse.stderr, /LINE 1: SELECT \* FORM goroutines\n {22}\^/);
  const bind = await cli('query', '--data', data, 'SELECT nope FROM goroutines');
  assert.match(bind.stderr, /query failed: Binder Error: Referenced column "nope" not found/);
  assert.match(bind.stderr, /LINE 1: SELECT nope FROM goroutines\n {15}\^/);
  const runtime = await cli('query', '--data', data, "SELECT CAST('x' AS INTEGER)");
  assert.match(runtime.stderr, /query failed: Conversion Error/);
  for (const r of [parse, bind, runtime]) assert.doesNotMatch(r.stderr, /internal error/);
});

test('periscope spec set / show / log', async () => {
  const v2 = join(files, 'v2.yaml');
  writeFileSync(v2, `${SPEC}    columns:\n      n2: n * 2\n`);
  const set = await cli('spec', 'set', v2, '--author', 'ann', '--data', data);
  assert.equal(set.stdout, 'spec version 2 stored\n');
  const again = await cli('spec', 'set', v2, '--data', data);
  assert.equal(again.stdout, 'spec unchanged: still version 2\n');
  const show = await cli('spec', 'show', '--version', '1', '--data', data);
  assert.equal(show.stdout, SPEC);
  const log = await cli('spec', 'log', '--diff', '--data', data);
  assert.match(
    log.stdout,
    /^version 2 {2}\S+Z {2}ann {2}\+2 -0\n--- spec version 1\n\+\+\+ spec version 2\n@@ -4,3 \+4,5 @@/,
  );
  const q = await cli('query', '--data', data, '--snapshot', '1', 'SELECT n2 FROM parked');
  assert.match(q.stdout, /^\s+8$/m);
  const broken = join(files, 'broken.yaml');
  writeFileSync(broken, 'functions:\n  - function: main.park\n    capture: [n]\n');
  const b = await cli('spec', 'set', broken, '--data', data);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /broken\.yaml:3:14: "capture" must map column names/);
});

test('periscope export and import round trip through the CLI', async () => {
  const out = join(files, 'snap1');
  const e = await cli('export', '--snapshot', '1', '--format', 'parquet', '--out', out, '--data', data);
  assert.equal(e.code, 0, e.stderr);
  const other = freshDataDir();
  const i = await cli('import', out, '--data', other);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /^snapshot 1 imported into .*; 2 spec version\(s\) imported$/m);
  const q = 'SELECT * FROM goroutines ORDER BY ALL';
  const a = await cli('query', '--data', data, '--snapshot', '1', '--format', 'json', q);
  const b = await cli('query', '--data', other, '--format', 'json', q);
  assert.deepEqual(JSON.parse(b.stdout), JSON.parse(a.stdout));
});
