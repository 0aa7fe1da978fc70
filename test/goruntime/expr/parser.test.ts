/**
 * The expression lexer and parser over a table of valid inputs (rendered back to normalised
 * Go source, so precedence and associativity show) and invalid inputs with exact columns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Expr, exprText } from '../../../src/goruntime/expr/ast.js';
import { ExprSyntaxError, parseExpression } from '../../../src/goruntime/expr/parser.js';

/** Renders with explicit parentheses around every binary and unary node. */
function shape(e: Expr): string {
  switch (e.kind) {
    case 'binary':
      return `(${shape(e.x)} ${e.op} ${shape(e.y)})`;
    case 'unary':
      return `(${e.op}${shape(e.x)})`;
    case 'paren':
      return shape(e.x);
    case 'selector':
      return `${shape(e.x)}.${e.name}`;
    case 'index':
      return `${shape(e.x)}[${shape(e.index)}]`;
    case 'call':
      return `${shape(e.fn)}(${e.args.map(shape).join(', ')})`;
    default:
      return exprText(e);
  }
}

const VALID: [string, string][] = [
  ['x', 'x'],
  ['req.URL.Path', 'req.URL.Path'],
  ['main.cfg.Servers[1].Name', 'main.cfg.Servers[1].Name'],
  ['a + b * c', '(a + (b * c))'],
  ['a * b + c', '((a * b) + c)'],
  ['a - b - c', '((a - b) - c)'],
  ['a || b && c', '(a || (b && c))'],
  ['a == 1 || b != 2 && c < 3', '((a == 1) || ((b != 2) && (c < 3)))'],
  ['!ok && -n < 0', '((!ok) && ((-n) < 0))'],
  ['*p', '(*p)'],
  ['&x.y', '(&x.y)'],
  ['*p.q', '(*p.q)'],
  ['(a + b) * c', '((a + b) * c)'],
  ['len(s) > 0', '(len(s) > 0)'],
  ['m["k"]', 'm["k"]'],
  ['m[42]', 'm[42]'],
  ['m[true]', 'm[true]'],
  ['err.(*os.PathError).Path', 'err.(*os.PathError).Path'],
  ['x.(main.T)', 'x.(main.T)'],
  ['x.([]byte)', 'x.([]byte)'],
  ['x.(map[string][]int)', 'x.(map[string][]int)'],
  ['x.(main.Pair[string,int])', 'x.(main.Pair[string,int])'],
  ['x.(*"net/http".Request)', 'x.(*net/http.Request)'],
  ['x.(interface{})', 'x.(interface {})'],
  ['"net/http".DefaultClient', '"net/http".DefaultClient'],
  ['"net/http".DefaultClient.Timeout', '"net/http".DefaultClient.Timeout'],
  ['0x1F + 0o17 + 0b101 + 017 + 1_000', '((((0x1F + 0o17) + 0b101) + 017) + 1_000)'],
  ['1.5e3 + .5 + 1.', '((1.5e3 + .5) + 1.)'],
  ["'a' + '\\n' + '\\x41' + '\\u00e9' + '\\377'", "(((('a' + '\\n') + '\\x41') + '\\u00e9') + '\\377')"],
  ['"a\\tb\\"c" + `raw\\n`', '("a\\tb\\"c" + `raw\\n`)'],
  ['a % b / c', '((a % b) / c)'],
  ['a | b & c', '(a | (b & c))'],
  ['a << 2 + 1', '((a << 2) + 1)'],
  ['a &^ b ^ c >> d', '((a &^ b) ^ (c >> d))'],
  ['x == y | z', '(x == (y | z))'],
  ['^a + -b', '((^a) + (-b))'],
  ['s[1:2]', 's[1:2]'],
  ['s[:]', 's[:]'],
  ['s[:n][i]', 's[:n][i]'],
  ['s[a:b:c]', 's[a:b:c]'],
  ['s[:b:c]', 's[:b:c]'],
  ['[]byte(s)', '[]byte(s)'],
  ['[4]int(s)', '[4]int(s)'],
  ['map[string]int(m)', 'map[string]int(m)'],
  ['interface{}(x)', 'interface {}(x)'],
  ['(*main.T)(p)', '(*main.T)(p)'],
  ['int8(x) + 1', '(int8(x) + 1)'],
  ['2i + 1.5i + 0x10i', '((2i + 1.5i) + 0x10i)'],
  ['  spaced  (  x  )  ', 'spaced(x)'],
  ['héllo.wörld', 'héllo.wörld'],
];

test('valid expressions parse with Go precedence', () => {
  for (const [src, want] of VALID) assert.equal(shape(parseExpression(src)), want, src);
});

test('literal values are decoded like Go', () => {
  const v = (src: string) => parseExpression(src);
  const int = (src: string) => {
    const e = v(src);
    assert.equal(e.kind, 'int', src);
    return (e as { value: bigint }).value;
  };
  assert.equal(int('0x1F'), 31n);
  assert.equal(int('0o17'), 15n);
  assert.equal(int('017'), 15n);
  assert.equal(int('0b101'), 5n);
  assert.equal(int('1_000_000'), 1000000n);
  assert.equal(int('18446744073709551615'), 18446744073709551615n);
  const rune = (src: string) => (v(src) as { value: number }).value;
  assert.equal(rune("'é'"), 0xe9);
  assert.equal(rune("'\\377'"), 255);
  assert.equal(rune("'\\''"), 39);
  assert.equal(rune("'😀'"), 0x1f600);
  const bytes = (src: string) => [...(v(src) as { bytes: Uint8Array }).bytes];
  assert.deepEqual(bytes('"\\xff\\000a"'), [255, 0, 97]);
  assert.deepEqual(bytes('"é"'), [0xc3, 0xa9]);
  assert.deepEqual(bytes('"\\u00e9\\U0001F600"'), [0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
  assert.deepEqual(bytes('`a\\n`'), [97, 92, 110]);
  assert.equal((v('2.5e-1') as { value: number }).value, 0.25);
});

const INVALID: [string, number, RegExp][] = [
  ['', 1, /expected an expression, found nothing/],
  ['a +', 4, /expected an operand, found end of expression/],
  ['a + * ', 7, /expected an operand/],
  ['(a + b', 7, /expected '\)' to close '\(' at column 1, found end of expression/],
  ['f(a, b', 7, /expected '\)' to close '\(' at column 2/],
  ['a[1', 4, /expected '\]' to close '\[' at column 2/],
  ['a[]', 3, /expected an index expression, found '\]'/],
  ['a b', 3, /expected end of expression, found identifier b/],
  ['a.', 3, /expected a field name or '\(' after '\.', found end of expression/],
  ['a.1', 2, /expected end of expression, found float literal \.1/],
  ['a.(', 4, /expected a type, found end of expression/],
  ['a.(*)', 5, /expected a type, found '\)'/],
  ['a.(T', 5, /expected '\)' after the asserted type/],
  ['a.(type)', 4, /type switches are not supported/],
  ['<-ch', 1, /channel receive is not supported/],
  ['s[1::3]', 5, /middle index required in 3-index slice/],
  ['s[1:2:]', 7, /final index required in 3-index slice/],
  ['s[1:2', 6, /expected '\]' to close '\[' at column 2/],
  ['[]int{1}', 6, /composite literals are not supported, conversions are/],
  ['func(x)', 1, /function literals and func types are not supported/],
  ['1ii', 2, /malformed number literal/],
  ['x = 1', 3, /expected end of expression, found '='/],
  ['a # b', 3, /unexpected character "#"/],
  ['"abc', 1, /string literal not terminated/],
  ['`abc', 1, /string literal not terminated/],
  ["'ab'", 3, /rune literal not terminated/],
  ["''", 1, /empty rune literal/],
  ['"\\q"', 2, /unknown escape sequence \\q/],
  ['"\\x4"', 2, /escape sequence needs 2 hex digits/],
  ['"\\400"', 2, /octal escape value > 255/],
  ['"\\uD800"', 2, /invalid Unicode code point/],
  ['1__0', 1, /malformed number literal "1__0"/],
  ['0x', 2, /malformed number literal/],
  ['09', 1, /malformed number literal "09"/],
  ['12abc', 3, /malformed number literal/],
  ['m[1,2]', 4, /generic instantiation is not supported/],
  ['x.(map[string)', 14, /expected '\]' after the map key type/],
  ['len(', 5, /expected an operand/],
];

test('invalid expressions give the column and what was expected', () => {
  for (const [src, col, re] of INVALID) {
    assert.throws(
      () => parseExpression(src),
      (e: unknown) => {
        assert.ok(e instanceof ExprSyntaxError, `${src}: ${String(e)}`);
        assert.equal(e.column, col, `${src}: ${e.message}`);
        assert.match(e.message, re, src);
        assert.match(e.message, new RegExp(`^column ${col}: `), src);
        return true;
      },
      src,
    );
  }
});

test('deep nesting and long inputs fail cleanly instead of overflowing the stack', () => {
  assert.throws(() => parseExpression(`${'('.repeat(3000)}x${')'.repeat(3000)}`), /nests deeper than/);
  assert.throws(() => parseExpression(`${'-'.repeat(3000)}x`), /nests deeper than/);
  assert.throws(() => parseExpression('x'.repeat(20_000)), /longer than/);
  const chain = Array.from({ length: 1000 }, (_, i) => `a${i}`).join(' + ');
  assert.equal(parseExpression(chain).kind, 'binary');
});
