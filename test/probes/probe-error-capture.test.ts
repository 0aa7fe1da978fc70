/**
 * An error captured by a probe in a binary that links fmt's %w (testdata/traced-service, a
 * net/http server): `*fmt.wrapError` holds an `error`, and the value plan followed wrappers
 * inside wrappers until the record budget refused the capture ("needs more than 16384
 * bytes"). With the nesting bounded it compiles within the agent's 8 KiB per event; the
 * message it shows is checked end to end by test/traces/trace-fleet.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProbe } from '../../src/probes/compile/compile-probe.js';
import { fixtureBinary } from '../../support/probe-fixture.js';

test('an error result compiles within 8 KiB per event where fmt.wrapError is linked', async () => {
  const bin = await fixtureBinary('local', 'traced-service');
  assert.ok(bin.dwarf?.findType('*fmt.wrapError'), 'the fixture links fmt.wrapError');
  for (const fn of ['main.check', 'main.handle']) {
    const p = compileProbe(bin, {
      name: 'err',
      at: { kind: 'return', function: fn },
      captures: ['r0'],
      duration: false,
      stackFrames: 0,
      labels: false,
    });
    assert.ok(p.recordBytes <= 8192, `${fn}: ${p.recordBytes} bytes per event`);
  }
});
