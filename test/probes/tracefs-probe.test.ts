/**
 * A compiled probe as tracefs fetch arguments (no kernel touched): Go's register ABI puts
 * main.handle's `user string` in ax/bx and `n int` in cx at its entry site; what tracefs
 * cannot read is unavailable with the reason; a secret's name is never fetched; conditions,
 * durations, stacks and labels are refused.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { GoBinary } from '../../src/gobinary/go-binary.js';
import { Redactor } from '../../src/goruntime/values/index.js';
import { compileProbe } from '../../src/probes/compile/compile-probe.js';
import { tracefsDefinitions } from '../../src/probes/tracefs/tracefs-probe.js';
import { fixtureBinary } from '../../support/probe-fixture.js';

let bin: GoBinary;

before(async () => {
  bin = await fixtureBinary();
});

const handle = (extra: object = {}) =>
  compileProbe(bin, {
    name: 't',
    at: { kind: 'entry', function: 'main.handle' },
    captures: ['user', 'n', 'req.ID'],
    ...extra,
  });

test('names of integer and string variables become fetch arguments; others are unavailable with the reason', () => {
  const [site, ...more] = tracefsDefinitions(handle());
  assert.equal(more.length, 0);
  assert.deepEqual(site?.args, ['c0=+0(%ax):u8[64]', 'c0l=%bx:s64', 'c1=%cx:s64']);
  assert.deepEqual(site?.captures.slice(0, 2), [{ kind: 'string' }, { kind: 'int' }]);
  const why = site?.captures[2];
  assert.ok(why && 'unavailable' in why && /only capture a variable by its name/.test(why.unavailable));
});

test('a capture naming a secret is not fetched: its value is the redaction mark', () => {
  const [site] = tracefsDefinitions(handle(), new Redactor({ names: ['user'] }));
  assert.deepEqual(site?.args, ['c1=%cx:s64']);
  assert.deepEqual(site?.captures[0], { redacted: { '…': 'redacted', rule: 'user', type: 'string' } });
});

test('conditions, durations, stacks and labels are refused on tracefs, with the reason', () => {
  assert.throws(
    () => tracefsDefinitions(handle({ condition: 'n > 3', duration: true })),
    /tracefs uprobe_events here \(no eBPF\), which has no conditions, durations/,
  );
});
