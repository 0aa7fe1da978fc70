import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { GoBinary } from '../../src/gobinary/go-binary.js';
import { describeFunction } from '../../src/snapshot/function-lines.js';
import { buildFixture } from '../../support/go-fixtures.js';
import { sourceLine } from '../dwarf/dwarf-fixture.js';

test("a function's lines carry the variables live at their statements", async () => {
  const { path } = await buildFixture('lines');
  const bin = await GoBinary.open(path);
  const d = describeFunction(bin, 'main.describe');
  assert.match(d.file, /lines\/main\.go$/);
  assert.equal(d.declLine, sourceLine('lines', 'func describe('));
  const at = (text: string) => {
    const line = sourceLine('lines', text);
    const l = d.lines.find((x) => x.line === line);
    assert.ok(l, `line ${line} (${text}) is among ${d.lines.map((x) => x.line).join(',')}`);
    return l.variables;
  };
  // The loop body: the parameters and the builder are live there, parameters listed first.
  const body = at('sb.WriteString(p.B)');
  const names = body.map((v) => v.name);
  assert.ok(names.includes('p') && names.includes('sb'), names.join(','));
  assert.ok(names.indexOf('p') < names.indexOf('sb'));
  assert.deepEqual(
    body.find((v) => v.name === 'p'),
    { name: 'p', type: 'main.Pair', parameter: true },
  );
  assert.equal(body.find((v) => v.name === 'sb')?.type, 'strings.Builder');
  // The loop counter is live inside the loop only.
  assert.ok(at('for i := 0; i < p.A; i++').some((v) => v.name === 'i'));
  assert.ok(!at('if flag {').some((v) => v.name === 'i'));
  // Lines are the function's own, in order, none of an inlined callee's file.
  const lines = d.lines.map((l) => l.line);
  assert.deepEqual(
    lines,
    [...lines].sort((a, b) => a - b),
  );
  assert.ok(
    lines.every((l) => l >= d.declLine! && l < d.declLine! + 12),
    lines.join(','),
  );
});

test('a function the binary lacks is named with the nearest it has', async () => {
  const { path } = await buildFixture('lines');
  const bin = await GoBinary.open(path);
  assert.throws(
    () => describeFunction(bin, 'main.describ'),
    (e: unknown) => e instanceof PeriscopeError && e.kind === 'not-found' && /main\.describe/.test(e.message),
  );
});
