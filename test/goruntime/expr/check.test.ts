/**
 * Type-checking expressions against the exprs fixture built with every toolchain: valid
 * expressions compile to the static type Go would give them, invalid ones say what is wrong.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { checkExpression } from '../../../src/goruntime/expr/check.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';

/** [function (undefined: globals only), expression, static type]. */
const VALID: [string | undefined, string, string][] = [
  [undefined, 'main.cfg.Servers[1].Name', 'string'],
  [undefined, 'main.cfgPtr.Owner.Age', 'int'],
  [undefined, 'main.cfg.Servers[0].ID', 'int'],
  [undefined, 'main.cfg.Servers[0].Base.Tags', '[]string'],
  [undefined, 'len(main.users)', 'int'],
  [undefined, 'main.users["bob"].Age', 'int'],
  [undefined, 'main.byID[42]', '*main.User'],
  [undefined, 'main.flags[true]', 'string'],
  [undefined, 'main.counts[-1]', 'int'],
  [undefined, 'main.anyErr.(*main.MyErr).Code', 'int'],
  [undefined, 'main.pathErr.(*fs.PathError).Path', 'string'],
  [undefined, 'main.pathErr.(*"io/fs".PathError).Op', 'string'],
  [undefined, 'main.anyErr.Code', 'dynamic'],
  [undefined, 'main.anyVal.(int) + 1', 'int'],
  [undefined, 'main.pair.Key', 'string'],
  [undefined, 'main.greet[0]', 'uint8'],
  [undefined, '"encoding/base64".StdEncoding', '*encoding/base64.Encoding'],
  [undefined, 'base64.StdEncoding', '*encoding/base64.Encoding'],
  [undefined, 'util.Only', '[]string'],
  [undefined, '"periscope.test/testdata/exprs/sub/b/util".Name', 'string'],
  [undefined, '&main.cfg', '*main.Config'],
  [undefined, '*main.cfgPtr', 'main.Config'],
  [undefined, 'main.nilUser == nil', 'untyped bool'],
  [undefined, 'len(main.ch) == 2 && main.ok || !main.ok', 'bool'],
  [undefined, 'main.greet + "!" == "x"', 'untyped bool'],
  [undefined, 'main.pi * 2', 'float64'],
  [undefined, 'cap(main.nums) - len(main.nums)', 'int'],
  ['main.park', 'srv.Name', 'string'],
  ['main.park', 'srv.ID', 'int'],
  ['main.park', 'srv.Addr.Port + n', 'int'],
  ['main.park', 'u.Age > 40', 'untyped bool'],
  ['main.park', 'items[1]', 'string'],
  ['main.park', 'm["x"]', 'int'],
  ['main.park', 'err.(*main.MyErr).Msg', 'string'],
  ['main.park', 'local + "?"', 'string'],
  ['main.park', 'count', 'int'],
  ['main.park', 'cfg.Mode', 'uint8'],
  ['main.park', 'len(nums) + n', 'int'],
  ['main.park', 'total > 0 && main.ok', 'bool'],
];

/** [function, expression, message pattern]. */
const INVALID: [string | undefined, string, RegExp][] = [
  [
    undefined,
    'main.cfg.Nope',
    /column 10: no field Nope in main\.Config; its fields: ByName, Limits, Mode, Owner, Servers/,
  ],
  [undefined, 'main.nope', /package variable main\.nope not found .*main has: .*cfg/],
  [undefined, 'nope.X', /unknown variable nope/],
  [undefined, 'x', /unknown variable x/],
  [undefined, 'util.Name', /util\.Name is ambiguous: packages .*sub\/a\/util, .*sub\/b\/util/],
  [
    undefined,
    'main.users[1]',
    /column 12: cannot use 1 \(untyped int constant\) as string value in map index/,
  ],
  [undefined, 'main.byID["x"]', /cannot use "x" \(untyped string constant\) as int value in map index/],
  [undefined, 'main.cfg[0]', /cannot index main\.cfg \(variable of struct type main\.Config\)/],
  [undefined, 'main.arr[4]', /column 10: invalid argument: index 4 out of bounds \[0:4\]/],
  [undefined, 'main.nums["a"]', /cannot convert "a" \(untyped string constant\) to type int/],
  [undefined, 'main.cfg.Mode.X', /uint8 is not a struct: it has no field X/],
  [undefined, 'main.anyErr.(*main.Nope)', /type \*main\.Nope is not in the binary/],
  [
    undefined,
    'main.pathErr.(*os.PathError)',
    /type \*os\.PathError is not in the binary; did you mean \*io\/fs\.PathError/,
  ],
  [
    undefined,
    'main.cfg.(main.User)',
    /main\.cfg \(variable of struct type main\.Config\) is not an interface/,
  ],
  [
    undefined,
    'len(main.cfg)',
    /invalid argument: main\.cfg \(variable of struct type main\.Config\) for built-in len/,
  ],
  [undefined, 'cap(main.users)', /invalid argument: .* for built-in cap/],
  [
    undefined,
    'main.greet - 1',
    /invalid operation: main\.greet - 1 \(mismatched types string and untyped int\)/,
  ],
  [
    undefined,
    'main.cfg == nil',
    /column 13: invalid operation: main\.cfg == nil \(mismatched types main\.Config and untyped nil\)/,
  ],
  [undefined, 'main.ok < true', /invalid operation: main\.ok < true \(operator < not defined on bool\)/],
  [undefined, 'main.nums[0] / 0', /column 16: invalid operation: division by zero/],
  [undefined, 'print(main.ok)', /the built-in print is not supported/],
  [undefined, 'main.ok && 1', /mismatched types bool and untyped int/],
  [
    undefined,
    'main.nums[0] + main.neg',
    /invalid operation: main\.nums\[0\] \+ main\.neg \(mismatched types int and int64\)/,
  ],
  [undefined, 'main.tiny + 200', /column 13: 200 \(untyped int constant\) overflows int8/],
  [undefined, 'main.greet()', /only conversions and the built-ins len, cap, real and imag can be called/],
  [undefined, 'main', /use of package main without a selector/],
  [undefined, 'a +', /column 4: expected an operand/],
  ['main.park', 'nope', /in main\.park: unknown variable nope; its variables: .*count.*items.*srv/],
  [
    'main.park',
    'srv.Nope',
    /no field Nope in main\.Server; its fields: Addr, Base, Enabled, ID, Name, Tags, Weight/,
  ],
  ['main.nothere', 'x', /function main\.nothere is not in the binary/],
];

for (const tc of GO_TOOLCHAINS) {
  test(`expressions type-check against DWARF (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const fx = await buildFixture('exprs', { toolchain: tc });
    const bin = await GoBinary.open(fx.path);
    for (const [fn, src, type] of VALID) {
      const r = checkExpression(bin, fn, src);
      assert.ok(r.ok, `${fn ?? 'globals'}: ${src}: ${r.ok ? '' : JSON.stringify(r.errors)}`);
      assert.equal(r.plan.resultType, type, src);
    }
    for (const [fn, src, re] of INVALID) {
      const r = checkExpression(bin, fn, src);
      assert.ok(!r.ok, `${src} should not check`);
      const text = r.errors.map((e) => `column ${e.column}: ${e.message}`).join('; ');
      assert.match(text, re, src);
    }
  });
}

test('a variable optimized out everywhere is reported at check time (pk in main.park)', async (t) => {
  const fx = await buildFixture('exprs');
  const bin = await GoBinary.open(fx.path);
  const pk = bin.findFunction('main.park')?.variables.find((v) => v.name === 'pk');
  const located =
    pk?.location &&
    (pk.location.kind === 'expr' ? pk.location.expr.length > 0 : pk.location.entries.length > 0);
  if (located) return t.skip('this toolchain keeps pk somewhere');
  const r = checkExpression(bin, 'main.park', 'pk.Val');
  assert.ok(!r.ok);
  assert.match(r.errors[0]!.message, /variable pk is optimized out everywhere in main\.park/);
});
