/**
 * Exact constant values, as Go's compiler keeps them: numbers are exact complex rationals
 * (so `0.1 + 0.2 == 0.3` holds, as in Go), strings are bytes, and a value is rounded only when
 * it is given a type. The operations and Go's representability rules for each basic kind.
 */
import { INT_KINDS } from './types.js';

/** An exact rational n/d (d > 0, in lowest terms). */
export interface Rat {
  readonly n: bigint;
  readonly d: bigint;
}

/** A constant: a bool, a string (its bytes), or a number (exact complex rational). */
export type Const =
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'string'; readonly v: Uint8Array }
  | { readonly k: 'num'; readonly re: Rat; readonly im: Rat };

const ZERO: Rat = { n: 0n, d: 1n };
const abs = (x: bigint): bigint => (x < 0n ? -x : x);

function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The rational n/d in lowest terms. */
export function rat(n: bigint, d = 1n): Rat {
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

/** A real number constant. */
export const real = (r: Rat): Const => ({ k: 'num', re: r, im: ZERO });
/** An integer constant. */
export const intConst = (v: bigint): Const => real({ n: v, d: 1n });

const add = (a: Rat, b: Rat): Rat => rat(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Rat, b: Rat): Rat => rat(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Rat, b: Rat): Rat => rat(a.n * b.n, a.d * b.d);
const quo = (a: Rat, b: Rat): Rat => rat(a.n * b.d, a.d * b.n);
const cmp = (a: Rat, b: Rat): number => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};
/** Whether a rational is an integer. */
export const isIntRat = (r: Rat): boolean => r.d === 1n;

/** Whether a number constant is zero. */
export function isZero(c: Const): boolean {
  return c.k === 'num' && c.re.n === 0n && c.im.n === 0n;
}

/** The exact value of a Go integer, float or imaginary literal's text (without the `i`). */
export function parseNumber(text: string): Rat | undefined {
  const t = text.replace(/_/g, '');
  if (/^0[xX][0-9a-fA-F]+$|^0[oO][0-7]+$|^0[bB][01]+$/.test(t)) return rat(BigInt(t));
  if (/^0[0-7]+$/.test(t)) return rat(BigInt(`0o${t.slice(1)}`));
  const m = /^([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(t);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
  const frac = m[2] ?? '';
  const exp = Number(m[3] ?? '0') - frac.length;
  // Go keeps such constants too; beyond this they cannot fit any type and only cost time.
  if (Math.abs(exp) > 10_000) return undefined;
  const digits = BigInt(`${m[1] || '0'}${frac}`);
  return exp >= 0 ? rat(digits * 10n ** BigInt(exp)) : rat(digits, 10n ** BigInt(-exp));
}

/** The exact value of a float64 (or float32) number. */
export function ratOfFloat(x: number): Rat {
  if (x === 0) return ZERO;
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  const bits = b.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const e = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (e !== 0) mant |= 1n << 52n;
  const exp = (e === 0 ? 1 : e) - 1075;
  return exp >= 0 ? rat(sign * mant * (1n << BigInt(exp))) : rat(sign * mant, 1n << BigInt(-exp));
}

const bitLen = (x: bigint): number => (x === 0n ? 0 : x.toString(2).length);

/**
 * The float nearest to a rational (ties to even) with `mant` significand bits: 24 for
 * float32, 53 for float64 (subnormals included); ±Infinity when it overflows.
 */
export function roundRat(r: Rat, mant: 24 | 53): number {
  if (r.n === 0n) return 0;
  const minExp = mant === 24 ? -149 : -1074; // the last bit of the smallest subnormal
  const maxExp = mant === 24 ? 128 : 1024; // 2^maxExp and beyond overflow
  const a = abs(r.n);
  // q = floor(a / (d * 2^e)) has mant bits (fewer for subnormals).
  let e = Math.max(bitLen(a) - bitLen(r.d) - mant, minExp);
  let [q, rem, den] = divScaled(a, r.d, e);
  if (q >= 1n << BigInt(mant)) {
    e++;
    [q, rem, den] = divScaled(a, r.d, e);
  }
  if (2n * rem > den || (2n * rem === den && (q & 1n) === 1n)) q++;
  const out = bitLen(q) + e > maxExp ? Number.POSITIVE_INFINITY : Number(q) * 2 ** e;
  return r.n < 0n ? -out : out;
}

/** a / (d * 2^e) as quotient, remainder and the divisor used. */
function divScaled(a: bigint, d: bigint, e: number): [bigint, bigint, bigint] {
  if (e >= 0) {
    const den = d << BigInt(e);
    return [a / den, a % den, den];
  }
  const num = a << BigInt(-e);
  return [num / d, num % d, d];
}

/** Applies + - * / to two number constants; `integer` makes / truncate (both operands are integers). */
export function arith(op: string, x: Const, y: Const, integer: boolean): Const | string {
  if (x.k === 'string' && y.k === 'string' && op === '+') {
    const out = new Uint8Array(x.v.length + y.v.length);
    out.set(x.v, 0);
    out.set(y.v, x.v.length);
    return { k: 'string', v: out };
  }
  if (x.k !== 'num' || y.k !== 'num') return `operator ${op} not defined on these constants`;
  switch (op) {
    case '+':
      return { k: 'num', re: add(x.re, y.re), im: add(x.im, y.im) };
    case '-':
      return { k: 'num', re: sub(x.re, y.re), im: sub(x.im, y.im) };
    case '*':
      return {
        k: 'num',
        re: sub(mul(x.re, y.re), mul(x.im, y.im)),
        im: add(mul(x.re, y.im), mul(x.im, y.re)),
      };
    case '/': {
      if (isZero(y)) return 'division by zero';
      if (integer) return intConst(x.re.n / y.re.n);
      const den = add(mul(y.re, y.re), mul(y.im, y.im));
      return {
        k: 'num',
        re: quo(add(mul(x.re, y.re), mul(x.im, y.im)), den),
        im: quo(sub(mul(x.im, y.re), mul(x.re, y.im)), den),
      };
    }
  }
  const [a, b] = [x.re.n, y.re.n];
  switch (op) {
    case '%':
      return b === 0n ? 'division by zero' : intConst(a % b);
    case '&':
      return intConst(a & b);
    case '|':
      return intConst(a | b);
    case '^':
      return intConst(a ^ b);
    case '&^':
      return intConst(a & ~b);
  }
  return `unknown operator ${op}`;
}

/** `x << s` or `x >> s` on an integer constant (Go's >> rounds toward negative infinity, as bigint does). */
export function shift(op: '<<' | '>>', x: bigint, s: number): bigint {
  return op === '<<' ? x << BigInt(s) : x >> BigInt(s);
}

/** Compares two constants with a comparison operator. */
export function compareConst(op: string, x: Const, y: Const): boolean {
  let c: number;
  if (x.k === 'num' && y.k === 'num') {
    const eq = cmp(x.re, y.re) === 0 && cmp(x.im, y.im) === 0;
    if (op === '==' || op === '!=') return (op === '==') === eq;
    c = cmp(x.re, y.re);
  } else if (x.k === 'string' && y.k === 'string') c = Buffer.compare(Buffer.from(x.v), Buffer.from(y.v));
  else if (x.k === 'bool' && y.k === 'bool') c = x.v === y.v ? 0 : 1;
  else return op === '!=';
  switch (op) {
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

/** The bit width of an integer kind. */
export function intBits(kind: string): number {
  return kind === 'int8' || kind === 'uint8'
    ? 8
    : kind === 'int16' || kind === 'uint16'
      ? 16
      : kind === 'int32' || kind === 'uint32'
        ? 32
        : 64;
}

/** Why a constant does not fit a kind: too large, a fraction for an integer, or another kind of value. */
export type Unrepresentable = 'overflows' | 'truncated' | 'invalid';

/**
 * The value a constant takes as a value of a basic kind ('int8', 'float32', 'string', ... or
 * an untyped base 'untyped int'), rounded for floats, or why it cannot.
 */
export function represent(c: Const, kind: string): Const | Unrepresentable {
  if (kind === 'string' || kind === 'untyped string') return c.k === 'string' ? c : 'invalid';
  if (kind === 'bool' || kind === 'untyped bool') return c.k === 'bool' ? c : 'invalid';
  if (c.k !== 'num') return 'invalid';
  if (kind in INT_KINDS || kind === 'untyped int' || kind === 'untyped rune') {
    if (c.im.n !== 0n || !isIntRat(c.re)) return 'truncated';
    if (kind.startsWith('untyped')) return c;
    const bits = intBits(kind);
    const v = c.re.n;
    const [lo, hi] = INT_KINDS[kind]
      ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n]
      : [0n, (1n << BigInt(bits)) - 1n];
    return v < lo || v > hi ? 'overflows' : c;
  }
  const f = (r: Rat, bits: 24 | 53): Rat | undefined => {
    const x = roundRat(r, bits);
    return Number.isFinite(x) ? ratOfFloat(x) : undefined;
  };
  if (kind === 'float32' || kind === 'float64') {
    if (c.im.n !== 0n) return 'truncated';
    const r = f(c.re, kind === 'float32' ? 24 : 53);
    return r ? real(r) : 'overflows';
  }
  if (kind === 'complex64' || kind === 'complex128') {
    const bits = kind === 'complex64' ? 24 : 53;
    const [re, im] = [f(c.re, bits), f(c.im, bits)];
    return re && im ? { k: 'num', re, im } : 'overflows';
  }
  if (kind === 'untyped float') return c.im.n !== 0n ? 'truncated' : c;
  if (kind === 'untyped complex') return c;
  return 'invalid';
}

/** Go's %.6g of a float (for constant values in messages: `1e+40`, `0.333333`). */
function shortG(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const s = x.toPrecision(6);
  const [m, e] = s.split('e');
  const mant = m!.includes('.') ? m!.replace(/0+$/, '').replace(/\.$/, '') : m!;
  if (e === undefined) return mant;
  const n = Number(e);
  return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}

/** %.6g of an exact rational, also beyond float64's range (`1e+400`). */
function ratG(r: Rat): string {
  const x = roundRat(r, 53);
  if (Number.isFinite(x) && (x !== 0 || r.n === 0n)) return shortG(x);
  const a = abs(r.n);
  let e = a.toString().length - r.d.toString().length;
  const digits = (k: number): bigint => {
    const [num, den] = k >= 5 ? [a, r.d * 10n ** BigInt(k - 5)] : [a * 10n ** BigInt(5 - k), r.d];
    const q = num / den;
    return 2n * (num % den) >= den ? q + 1n : q;
  };
  let m = digits(e);
  while (m >= 1_000_000n) m = digits(++e);
  while (m < 100_000n) m = digits(--e);
  const mant = `${m}`.replace(/0+$/, '');
  const text = mant.length > 1 ? `${mant[0]}.${mant.slice(1)}` : mant;
  return `${r.n < 0n ? '-' : ''}${text}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/**
 * A constant as go/constant's String() shows it in messages: integers exactly, floats (also
 * integral ones of a float kind, `asFloat`) as %.6g.
 */
export function constText(c: Const, asFloat = false): string {
  if (c.k === 'bool') return String(c.v);
  if (c.k === 'string') {
    const s = JSON.stringify(new TextDecoder().decode(c.v));
    return s.length > 72 ? `${s.slice(0, 69)}..."` : s;
  }
  const r = (x: Rat): string => (isIntRat(x) && !asFloat ? x.n.toString() : ratG(x));
  if (c.im.n === 0n) return r(c.re);
  return `(${r(c.re)} + ${r(c.im)}i)`;
}
