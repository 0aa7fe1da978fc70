/** The `traces:` section of a spec: entries with their defaults and probes, and each mistake at its line and column. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpec, SpecError } from '../../src/spec/spec-parse.js';
import { sharedTraceProbes, traceProbes, tracesSharing } from '../../src/spec/trace-probes.js';

const PROGRAMS = 'programs:\n  - name: api\n    match: { executable: "api$" }\n';

function issues(text: string): string[] {
  try {
    parseSpec(text, 't.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
  }
  assert.fail('expected a SpecError');
}

test('a trace parses with its captures, path probes (named and inline), keep rules and default limits', () => {
  const s = parseSpec(
    `${PROGRAMS}probes:
  - name: queries
    program: api
    function: main.query
    capture: { q: sql }
traces:
  - name: checkout
    program: api
    function: main.(*Server).checkout
    start: { user: req.User }
    end: { n: n }
    error: err
    probes:
      - queries
      - { name: pay, function: main.pay, capture: { amount: amount } }
    keep: [error, panic, { slower_than: 250ms }, { if: 'user == "bob" && pay.amount > 100' }]
    limits: { memory: 4MiB, keptPerSecond: 10 }
    ttl: 2h
    maxCpu: 20%
`,
  );
  const [t] = s.traces ?? [];
  assert.equal(t?.function, 'main.(*Server).checkout');
  assert.deepEqual(
    t?.probes.map((p) => [p.name, p.site, p.capture.map((c) => [c.column, c.expr])]),
    [
      ['queries', { kind: 'entry', function: 'main.query' }, [['q', 'sql']]],
      ['pay', { kind: 'entry', function: 'main.pay' }, [['amount', 'amount']]],
    ],
  );
  assert.deepEqual(
    { ...t?.keep, condition: t?.keep.condition?.expr },
    { error: true, panic: true, slowerThanMs: 250, condition: 'user == "bob" && pay.amount > 100' },
  );
  assert.deepEqual(t?.limits, {
    memoryBytes: 4 << 20,
    keptPerSecond: 10,
    eventsPerTrace: 256,
    eventsPerSecond: 20_000,
  });
  assert.equal(t?.ttlMs, 7_200_000);
  assert.equal(t?.maxCpu, 0.2);
  assert.deepEqual(
    traceProbes(t!).map((p) => [p.name, p.site.kind, p.capture.map((c) => c.expr)]),
    [
      ['checkout:start', 'entry', ['req.User']],
      ['checkout:end', 'return', ['n', 'err']],
      ['checkout:queries', 'entry', ['sql']],
      ['checkout:pay', 'entry', ['amount']],
    ],
  );
  // Goroutine creation and panics: one pair for every trace on the program, not one per trace.
  const two = [t!, { ...t!, name: 'refund' }, { ...t!, name: 'other', program: 'worker' }];
  assert.deepEqual(
    sharedTraceProbes(two).map((p) => [p.name, p.program, p.site, p.capture.map((c) => c.expr)]),
    [
      [
        'traces.api:spawn',
        'api',
        { kind: 'call', function: 'runtime.newproc.func1', callee: 'runtime.runqput' },
        ['gp.goid', 'gp.parentGoid'],
      ],
      ['traces.api:panic', 'api', { kind: 'entry', function: 'runtime.gopanic' }, ['e']],
      [
        'traces.worker:spawn',
        'worker',
        { kind: 'call', function: 'runtime.newproc.func1', callee: 'runtime.runqput' },
        ['gp.goid', 'gp.parentGoid'],
      ],
      ['traces.worker:panic', 'worker', { kind: 'entry', function: 'runtime.gopanic' }, ['e']],
    ],
  );
  assert.deepEqual(
    tracesSharing('traces.api', two).map((x) => x.name),
    ['checkout', 'refund'],
  );
});

test('the built-in http trace fills in ServeHTTP, method, path and the status probe', () => {
  const s = parseSpec(
    `${PROGRAMS}traces:\n  - name: web\n    builtin: http\n    program: api\n    keep: { if: 'status.code >= 500' }\n`,
  );
  const [t] = s.traces ?? [];
  assert.equal(t?.function, 'net/http.serverHandler.ServeHTTP');
  assert.deepEqual(
    t?.start.map((c) => c.column),
    ['method', 'path'],
  );
  assert.deepEqual(
    t?.probes.map((p) => p.name),
    ['status'],
  );
});

test('mistakes in a trace are reported at their line and column', () => {
  assert.deepEqual(
    issues(`${PROGRAMS}traces:
  - name: a
    program: web
    function: main.a
    keep: error
  - name: b
    program: api
    function: main.b
    start: { user: u }
    probes: [nope]
    keep: [{ slower_than: fast }, { if: 'usr == "x"' }]
  - name: c
    program: api
    builtin: soap
    colour: red
`),
    [
      '5:5 trace "a": no program named "web" in "programs"; the programs are: api',
      '8:11 trace "a": keep "error" needs "error": the expression at the returns that is the request\'s error (e.g. err, or r1 for an unnamed second result)',
      '13:14 trace "b": no probe named "nope" in "probes"; name one, or write the probe inline (name, function, capture)',
      '14:27 trace "b": "slower_than" is a duration from 1ms to 1h, e.g. 200ms',
      '14:41 trace "b": keep "if", at column 1 of the condition: "usr" is not captured; the names are: user',
      '15:5 trace "c" needs "function": its entry starts a request, its returns end it',
      '15:5 trace "c" needs "keep": which finished requests are kept (the rest are only counted)',
      '17:14 trace "c": "builtin" is http (net/http servers) or grpc (grpc-go unary handlers)',
      '18:5 unknown key "colour" in a trace; expected one of: name, builtin, program, match, function, start, end, error, probes, keep, limits, values, ttl, maxCpu',
    ],
  );
});
