/**
 * Exact constants: rounding a rational to float64 must give what a correctly rounded decimal
 * parser gives (V8's Number(), the oracle here), subnormals and overflow included; exact
 * arithmetic and Go's representability rules on a few known values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arith,
  compareConst,
  intConst,
  parseNumber,
  real,
  represent,
  roundRat,
} from '../../../src/goruntime/expr/constants.js';

test('rationals round to float64 as a correctly rounded parser does', () => {
  let seed = 42;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const literals = [
    '0.1',
    '1e308',
    '1.7976931348623157e308',
    '1.7976931348623159e308',
    '4.9e-324',
    '2.4703282292062328e-324',
    '2.2250738585072011e-308',
    '9007199254740993',
    '0.30000000000000004',
  ];
  for (let i = 0; i < 3000; i++) {
    const digits = Array.from({ length: 1 + rnd(25) }, () => rnd(10)).join('');
    literals.push(`${digits.slice(0, 1 + rnd(digits.length))}.${digits}e${rnd(700) - 350}`);
  }
  for (const s of literals) {
    const r = parseNumber(s);
    assert.ok(r, s);
    assert.equal(roundRat(r, 53), Number(s), s);
  }
});

test('constants are exact and typed values must represent them', () => {
  const n = (s: string) => real(parseNumber(s)!);
  assert.equal(compareConst('==', arith('+', n('0.1'), n('0.2'), false) as never, n('0.3')), true);
  assert.deepEqual(arith('/', intConst(-7n), intConst(2n), true), intConst(-3n));
  assert.equal(represent(intConst(300n), 'uint8'), 'overflows');
  assert.equal(represent(intConst(-1n), 'uint'), 'overflows');
  assert.equal(represent(n('1.5'), 'int'), 'truncated');
  assert.deepEqual(represent(n('2.0'), 'int64'), intConst(2n));
  assert.equal(represent(n('1e40'), 'float32'), 'overflows');
  assert.equal(roundRat(parseNumber('0.1')!, 24), Math.fround(0.1));
  assert.equal(roundRat(parseNumber('16777217')!, 24), 16777216);
  assert.equal(roundRat(parseNumber('1e-46')!, 24), 0);
});
