import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultTableName, parseSpec, SpecError } from '../../src/spec/spec-parse.js';
import { DEFAULT_LIMITS } from '../../src/spec/spec-types.js';

const GOOD = `version: 1
programs:
  - name: orders
    match:
      executable: "orders$"
      env.SERVICE: "^orders"
functions:
  - function: main.(*Server).handle
    table: requests
    capture:
      user: req.User.ID
      path: req.URL.Path
    columns:
      is_admin: "user = 'admin'"
  - function: net/http.(*persistConn).roundTrip
    capture:
      addr: pc.conn.RemoteAddr()
derived:
  - name: per_user
    sql: select user, count(*) from requests group by user
links:
  - name: http
    description: client to server by TCP 4-tuple
    from: { table: client_conns, columns: [local, remote] }
    to: { table: server_conns, columns: [remote, local] }
limits:
  maxString: 100
`;

test('a valid spec parses into functions, tables, programs, derived tables, links and limits', () => {
  const s = parseSpec(GOOD, 'good.yaml');
  assert.deepEqual(
    s.functions.map((f) => [f.function, f.table, f.capture.map((c) => `${c.column}=${c.expr}`)]),
    [
      ['main.(*Server).handle', 'requests', ['user=req.User.ID', 'path=req.URL.Path']],
      ['net/http.(*persistConn).roundTrip', 'http_persistconn_roundtrip', ['addr=pc.conn.RemoteAddr()']],
    ],
  );
  assert.deepEqual(
    s.functions[0]!.columns.map((c) => [c.name, c.sql]),
    [['is_admin', "user = 'admin'"]],
  );
  assert.deepEqual(s.functions[0]!.capture[0]!.at, { line: 11, column: 13 });
  assert.deepEqual(s.programs[0]!.match, { executable: 'orders$', 'env.SERVICE': '^orders' });
  assert.equal(s.derived[0]!.name, 'per_user');
  assert.deepEqual(s.links[0]!.to, { table: 'server_conns', columns: ['remote', 'local'] });
  assert.deepEqual(s.limits, { ...DEFAULT_LIMITS, maxString: 100 });
});

test('an empty spec is valid and captures stacks only', () => {
  assert.equal(parseSpec('', 'empty').functions.length, 0);
  assert.equal(parseSpec('# nothing\n', 'empty').functions.length, 0);
});

function issues(text: string): string[] {
  try {
    parseSpec(text, 'bad.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
  }
  assert.fail('expected a SpecError');
}

test('every problem of a bad spec is reported with its line and column', () => {
  assert.deepEqual(issues('functions:\n  - function: main.f\n    capture:\n      1bad: x\n      ok: 42\n'), [
    '4:7 column name "1bad" must be letters, digits and _',
    '5:11 capture "ok" needs a Go expression as a string',
  ]);
  assert.deepEqual(issues('functions:\n  - table: t\n'), ['2:5 a function entry needs "function"']);
  assert.deepEqual(issues('functoins: []\n'), [
    '1:1 unknown key "functoins" in the spec; expected one of: version, programs, functions, derived, links, limits, redaction, probes, traces',
  ]);
  assert.deepEqual(issues('functions:\n  - function: a.f\n    table: t\n  - function: a.g\n    table: t\n'), [
    '5:12 table "t" is already defined at line 3',
  ]);
  assert.deepEqual(issues('programs:\n  - name: x\n    match: { executable: "(" }\n'), [
    '3:26 label "executable": invalid regular expression /(/: Unterminated group',
  ]);
  assert.deepEqual(issues('limits: { maxDepth: -1 }\n'), [
    '1:21 limits.maxDepth must be a non-negative integer',
  ]);
  assert.deepEqual(issues('version: 2\n'), ['1:10 this Periscope reads spec version 1']);
  assert.match(issues('functions: [\n')[0]!, /^2:1 /);
  const e = (() => {
    try {
      parseSpec('functions:\n  - function: main.f\n    capture:\n      1bad: x\n      ok: 42\n', 'bad.yaml');
    } catch (err) {
      return err as Error;
    }
  })();
  assert.equal(
    e?.message,
    'bad.yaml:4:7: column name "1bad" must be letters, digits and _ (and 1 more problem)',
  );
});

test('default table names are SQL-friendly', () => {
  assert.equal(defaultTableName('main.(*Server).handle'), 'main_server_handle');
  assert.equal(
    defaultTableName('google.golang.org/grpc/internal/transport.(*Stream).Read'),
    'transport_stream_read',
  );
});
