/**
 * A compiled probe as tracefs fetch arguments (no kernel touched): Go's register ABI puts
 * main.handle's `user string` in ax/bx, `n int` in cx and `req *Request` in di at its entry
 * site; fields are read through the pointers, each pointer fetched too (nil: an error when
 * the event is read); what tracefs cannot read is unavailable with the reason; a secret's
 * name (a variable's or a field's) is never fetched; conditions, durations, stacks and
 * labels are refused.
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

/** Offset of Request.Ok: after User (16), ID (8), Tags (24), Where, Attrs (8 each), Err (16), Score (8). */
const OK_OFFSET = 88;

const handle = (extra: object = {}) =>
  compileProbe(bin, {
    name: 't',
    at: { kind: 'entry', function: 'main.handle' },
    captures: ['user', 'n', 'req.ID', 'len(xs)'],
    ...extra,
  });

test('integer and string variables and their fields become fetch arguments; others are unavailable with the reason', () => {
  const [site, ...more] = tracefsDefinitions(handle());
  assert.equal(more.length, 0);
  assert.deepEqual(site?.args, [
    'c0=+0(%ax):u8[64]',
    'c0l=%bx:s64',
    'c1=%cx:s64',
    'c2p0=%di:x64', // req, followed: fetched to tell a nil one
    'c2=+16(%di):s64', // req.ID, at offset 16 of Request
  ]);
  assert.deepEqual(site?.captures.slice(0, 3), [
    { kind: 'string', pointers: 0 },
    { kind: 'int', pointers: 0 },
    { kind: 'int', pointers: 1 },
  ]);
  const why = site?.captures[3];
  assert.ok(why && 'unavailable' in why && /only capture a variable, its fields/.test(why.unavailable));
});

test('field paths follow pointers; each pointer on the way is fetched', () => {
  const probe = compileProbe(bin, {
    name: 't',
    at: { kind: 'entry', function: 'main.handle' },
    captures: ['req.User', 'req.Where.X', '(*req).Ok', 'req.Where'],
  });
  const [site] = tracefsDefinitions(probe);
  assert.deepEqual(site?.args, [
    'c0p0=%di:x64',
    'c0=+0(+0(%di)):u8[64]',
    'c0l=+8(%di):s64',
    'c1p0=%di:x64',
    'c1p1=+48(%di):x64',
    'c1=+0(+48(%di)):s64',
    'c2p0=%di:x64',
    `c2=+${OK_OFFSET}(%di):u8`,
  ]);
  assert.deepEqual(site?.captures.slice(0, 3), [
    { kind: 'string', pointers: 1 },
    { kind: 'int', pointers: 2 },
    { kind: 'bool', pointers: 1 },
  ]);
  const why = site?.captures[3];
  assert.ok(
    why &&
      'unavailable' in why &&
      /only capture integers, bools and strings; req.Where is \*main.Point/.test(why.unavailable),
  );
});

test('a capture naming a secret is not fetched: its value is the redaction mark', () => {
  const [site] = tracefsDefinitions(handle(), new Redactor({ names: ['user'] }));
  assert.deepEqual(site?.args, ['c1=%cx:s64', 'c2p0=%di:x64', 'c2=+16(%di):s64']);
  assert.deepEqual(site?.captures[0], { redacted: { '…': 'redacted', rule: 'user', type: 'string' } });
  const fields = compileProbe(bin, {
    name: 't',
    at: { kind: 'entry', function: 'main.handle' },
    captures: ['req.User', 'req.ID'],
  });
  const [f] = tracefsDefinitions(fields, new Redactor({ names: ['User'] }));
  assert.deepEqual(f?.args, ['c1p0=%di:x64', 'c1=+16(%di):s64'], "a secret field's bytes are not fetched");
  assert.deepEqual(f?.captures[0], { redacted: { '…': 'redacted', rule: 'User', type: 'string' } });
});

test('conditions, durations, stacks and labels are refused on tracefs, with the reason', () => {
  assert.throws(
    () => tracefsDefinitions(handle({ condition: 'n > 3', duration: true })),
    /tracefs uprobe_events here \(no eBPF\), which has no conditions, durations/,
  );
});
