/** The `probes:` section of a spec: entries with their defaults, and each mistake at its line and column. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpec, SpecError } from '../../src/spec/spec-parse.js';

const PROGRAMS = 'programs:\n  - name: api\n    match: { executable: "api$" }\n';

function issues(text: string): string[] {
  try {
    parseSpec(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.issues.map((i) => `${i.line}:${i.column} ${i.message}`);
  }
  assert.fail('expected a SpecError');
}

test('a probe entry parses with its site, captures and the defaults of ttl, maxCpu and stack', () => {
  const s = parseSpec(
    `${PROGRAMS}probes:
  - name: logins
    program: api
    function: main.(*Server).login
    capture: { user: req.User, n: len(req.Items) }
    condition: 'req.User == "alice"'
    rateLimit: 10
    burst: 3
    ttl: 30m
    maxCpu: 2%
  - name: lines
    match: { exe_name: "^api$" }
    line: server.go:42
`,
  );
  const [a, b] = s.probes ?? [];
  assert.deepEqual(a?.site, { kind: 'entry', function: 'main.(*Server).login' });
  assert.deepEqual(
    a?.capture.map((c) => [c.column, c.expr]),
    [
      ['user', 'req.User'],
      ['n', 'len(req.Items)'],
    ],
  );
  assert.equal(a?.condition?.expr, 'req.User == "alice"');
  assert.deepEqual(a?.rateLimit, { perSecond: 10, burst: 3 });
  assert.equal(a?.ttlMs, 30 * 60_000);
  assert.equal(a?.maxCpu, 0.02);
  assert.deepEqual(b?.site, { kind: 'line', file: 'server.go', line: 42 });
  assert.deepEqual(b?.match, { exe_name: '^api$' });
  assert.equal(b?.ttlMs, 3_600_000);
  assert.equal(b?.maxCpu, 0.05);
  assert.equal(b?.stack, 0);
});

test('each mistake of a probe entry is reported at its line and column, naming the probe', () => {
  const found = issues(`${PROGRAMS}probes:
  - name: p1
    function: main.f
  - name: p2
    program: api
    line: x.go:3
    duration: true
  - name: p3
    program: api
    function: main.f
    ttl: 9000h
    burst: 4
`);
  assert.equal(found.length, 4, found.join('\n'));
  assert.match(found[0]!, /^5:5 .*p1.*needs "program" .* or "match"/);
  assert.match(found[1]!, /^10:15 .*"duration" needs a function site/);
  assert.match(found[2]!, /^14:10 .*"ttl" is how long the probe stays on/);
  assert.match(found[3]!, /^15:12 .*"burst" goes with "rateLimit"/);
});
