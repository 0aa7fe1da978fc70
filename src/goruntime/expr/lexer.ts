/**
 * Tokens of the expression language, following Go's lexical rules for identifiers, number,
 * string and rune literals (with every Go escape) and the operators the language supports.
 */
import { PeriscopeError } from '../../common/errors.js';

/** A syntax error at a 1-based column of the expression, saying what was expected. */
export class ExprSyntaxError extends PeriscopeError {
  readonly column: number;
  constructor(column: number, message: string) {
    super('bad-usage', `column ${column}: ${message}`);
    this.column = column;
    this.name = 'ExprSyntaxError';
  }
}

/** A token: its kind, source text, 1-based column, and decoded value for literals. */
export interface Token {
  readonly kind: 'ident' | 'int' | 'float' | 'imag' | 'string' | 'rune' | 'op' | 'eof';
  readonly text: string;
  readonly pos: number;
  readonly end: number;
  readonly int?: bigint;
  readonly float?: number;
  readonly bytes?: Uint8Array;
}

/** Operators and punctuation, longest first so that `<=` wins over `<`. */
const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<<', '>>', '&^', ':=', '<-', '...'];
const SINGLE = '+-*/%&|^<>=!()[]{},.:;';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isLetter = (c: string): boolean => /^[\p{L}_]$/u.test(c);
const isIdentChar = (c: string): boolean => /^[\p{L}\p{Nd}_]$/u.test(c);

/** Splits an expression into tokens; throws ExprSyntaxError with the column of a bad character. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (isLetter(c) || (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) < 0xdc00)) {
      const cp = String.fromCodePoint(src.codePointAt(i)!);
      if (!isLetter(cp)) throw new ExprSyntaxError(i + 1, `unexpected character ${JSON.stringify(cp)}`);
      i += cp.length;
      while (i < n) {
        const ch = String.fromCodePoint(src.codePointAt(i)!);
        if (!isIdentChar(ch)) break;
        i += ch.length;
      }
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start + 1, end: i + 1 });
    } else if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      out.push(lexNumber(src, start));
    } else if (c === '"' || c === '`') {
      out.push(lexString(src, start));
    } else if (c === "'") {
      out.push(lexRune(src, start));
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i)) ?? (SINGLE.includes(c) ? c : undefined);
      if (op === undefined) throw new ExprSyntaxError(i + 1, `unexpected character ${JSON.stringify(c)}`);
      i += op.length;
      out.push({ kind: 'op', text: op, pos: start + 1, end: i + 1 });
      continue;
    }
    i = out[out.length - 1]!.end - 1;
  }
  out.push({ kind: 'eof', text: '', pos: n + 1, end: n + 1 });
  return out;
}

/** Lexes an integer or float literal at `start` (Go syntax: 0x, 0o, 0b, legacy octal, `_` separators). */
function lexNumber(src: string, start: number): Token {
  const m =
    /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)/.exec(
      src.slice(start),
    );
  const text = m?.[0] ?? '';
  const end = start + text.length;
  const next = src[end];
  const after = src[end + 1];
  if (next === 'i' && text !== '' && (after === undefined || !isIdentChar(after))) {
    // An imaginary literal: decimal digits stay decimal even with a leading 0 (Go's rule).
    if (text.includes('__') || text.endsWith('_'))
      throw new ExprSyntaxError(start + 1, `malformed number literal ${JSON.stringify(`${text}i`)}`);
    return { kind: 'imag', text, pos: start + 1, end: end + 2 };
  }
  if (next !== undefined && (isIdentChar(next) || next === '.'))
    throw new ExprSyntaxError(
      end + 1,
      `malformed number literal ${JSON.stringify(src.slice(start, end + 1))}`,
    );
  const bad = (): never => {
    throw new ExprSyntaxError(start + 1, `malformed number literal ${JSON.stringify(text)}`);
  };
  if (text.includes('__') || text.endsWith('_') || /_[.eE]|[.eE]_/.test(text)) bad();
  const clean = text.replace(/_/g, '');
  const tok = { text, pos: start + 1, end: end + 1 };
  if (/^0[xXoObB]/.test(clean)) {
    const digits = clean.slice(2);
    if (digits.length === 0) bad();
    const radix = /^0[xX]/.test(clean) ? '0x' : /^0[oO]/.test(clean) ? '0o' : '0b';
    return { kind: 'int', ...tok, int: BigInt(radix + digits) };
  }
  if (/[.eE]/.test(clean)) {
    // Beyond float64 (1e400) the value is Infinity here; the checker keeps constants exact from the text.
    return { kind: 'float', ...tok, float: Number(clean) };
  }
  if (clean.length > 1 && clean.startsWith('0')) {
    if (!/^[0-7]+$/.test(clean)) bad();
    return { kind: 'int', ...tok, int: BigInt(`0o${clean.slice(1)}`) };
  }
  return { kind: 'int', ...tok, int: BigInt(clean) };
}

/** Lexes an interpreted ("...") or raw (`...`) string literal into the bytes Go would store. */
function lexString(src: string, start: number): Token {
  const quote = src[start]!;
  const bytes: number[] = [];
  let i = start + 1;
  for (;;) {
    if (i >= src.length || (quote === '"' && src[i] === '\n'))
      throw new ExprSyntaxError(start + 1, `string literal not terminated: expected ${quote}`);
    const c = src[i]!;
    if (c === quote) break;
    if (c === '\\' && quote === '"') {
      i = readEscape(src, i, '"', bytes);
      continue;
    }
    const cp = src.codePointAt(i)!;
    if (!(quote === '`' && c === '\r')) bytes.push(...utf8(cp));
    i += cp > 0xffff ? 2 : 1;
  }
  return {
    kind: 'string',
    text: src.slice(start, i + 1),
    pos: start + 1,
    end: i + 2,
    bytes: Uint8Array.from(bytes),
  };
}

/** Lexes a rune literal ('x', '\n', '\u00e9', '\377'). */
function lexRune(src: string, start: number): Token {
  let i = start + 1;
  let value: number;
  if (src[i] === '\\') {
    const bytes: number[] = [];
    const isByteEscape = src[i + 1] === 'x' || isDigit(src[i + 1] ?? '');
    i = readEscape(src, i, "'", bytes);
    value = isByteEscape ? bytes[0]! : decodeUtf8(bytes);
  } else {
    const cp = src.codePointAt(i);
    if (cp === undefined || src[i] === "'" || src[i] === '\n')
      throw new ExprSyntaxError(start + 1, "empty rune literal or unescaped ' in rune literal");
    value = cp;
    i += cp > 0xffff ? 2 : 1;
  }
  if (src[i] !== "'") throw new ExprSyntaxError(i + 1, "rune literal not terminated: expected '");
  return { kind: 'rune', text: src.slice(start, i + 1), pos: start + 1, end: i + 2, int: BigInt(value) };
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
};

/** Decodes one escape sequence at src[i] === '\\' into `out`; returns the index after it. */
function readEscape(src: string, i: number, quote: string, out: number[]): number {
  const c = src[i + 1] ?? '';
  const fail = (what: string): never => {
    throw new ExprSyntaxError(i + 1, what);
  };
  if (c in SIMPLE_ESCAPES) {
    out.push(SIMPLE_ESCAPES[c]!);
    return i + 2;
  }
  if (c === quote) {
    out.push(quote.charCodeAt(0));
    return i + 2;
  }
  const hexDigits = (count: number, from: number): number => {
    const h = src.slice(from, from + count);
    if (h.length !== count || !/^[0-9a-fA-F]+$/.test(h)) fail(`escape sequence needs ${count} hex digits`);
    return Number.parseInt(h, 16);
  };
  if (c === 'x') {
    out.push(hexDigits(2, i + 2));
    return i + 4;
  }
  if (c === 'u' || c === 'U') {
    const count = c === 'u' ? 4 : 8;
    const cp = hexDigits(count, i + 2);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
      fail('escape sequence is an invalid Unicode code point');
    out.push(...utf8(cp));
    return i + 2 + count;
  }
  if (c >= '0' && c <= '7') {
    const o = src.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(o)) fail('octal escape sequence needs 3 octal digits');
    const v = Number.parseInt(o, 8);
    if (v > 255) fail('octal escape value > 255');
    out.push(v);
    return i + 4;
  }
  return fail(`unknown escape sequence \\${c}`);
}

/** UTF-8 bytes of a code point. */
function utf8(cp: number): number[] {
  return [...Buffer.from(String.fromCodePoint(cp), 'utf8')];
}

function decodeUtf8(bytes: number[]): number {
  return Buffer.from(bytes).toString('utf8').codePointAt(0) ?? 0xfffd;
}
