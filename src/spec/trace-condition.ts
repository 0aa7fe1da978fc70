/**
 * A trace's keep condition (`keep: {if: 'status >= 500 && user != "bot"'}`): comparisons of
 * captured values with literals, joined by `&&`, `||`, `!` and parentheses. The spec parser
 * checks it (with the column of a problem); the agent evaluates it on a finished request's
 * values. Names are the trace's captured columns (`user`, `error`) and `probe.column` for the
 * last value a path probe captured.
 */

/** A literal: a number, a string, true/false, or nil. */
type Literal = number | string | boolean | null;

/** A parsed condition. */
export type TraceCondition =
  | { readonly op: '&&' | '||'; readonly a: TraceCondition; readonly b: TraceCondition }
  | { readonly op: '!'; readonly a: TraceCondition }
  | { readonly op: 'cmp'; readonly cmp: string; readonly name: string; readonly value: Literal }
  | { readonly op: 'name'; readonly name: string };

/** A problem in a condition, at a 1-based column of its text. */
export class TraceConditionError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

const TOKEN =
  /\s*(?:(&&|\|\||==|!=|<=|>=|<|>|!|\(|\))|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?))/y;

interface Tok {
  readonly kind: 'op' | 'str' | 'num' | 'name';
  readonly text: string;
  readonly col: number;
}

function tokens(text: string): Tok[] {
  const out: Tok[] = [];
  TOKEN.lastIndex = 0;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) throw new TraceConditionError(`unexpected "${text.slice(i).trim()[0]}"`, i + 1);
    const col = m.index + m[0].length - (m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').length + 1;
    if (m[1]) out.push({ kind: 'op', text: m[1], col });
    else if (m[2]) out.push({ kind: 'str', text: m[2], col });
    else if (m[3]) out.push({ kind: 'num', text: m[3], col });
    else out.push({ kind: 'name', text: m[4]!, col });
    i = TOKEN.lastIndex;
  }
  return out;
}

/** Parses a condition; throws TraceConditionError with the column of the problem. */
export function parseTraceCondition(text: string): TraceCondition {
  const toks = tokens(text);
  let pos = 0;
  const peek = () => toks[pos];
  const end = text.length + 1;
  const or = (): TraceCondition => {
    let a = and();
    while (peek()?.text === '||') {
      pos++;
      a = { op: '||', a, b: and() };
    }
    return a;
  };
  const and = (): TraceCondition => {
    let a = unary();
    while (peek()?.text === '&&') {
      pos++;
      a = { op: '&&', a, b: unary() };
    }
    return a;
  };
  const unary = (): TraceCondition => {
    const t = peek();
    if (!t) throw new TraceConditionError('expected a comparison', end);
    if (t.text === '!') {
      pos++;
      return { op: '!', a: unary() };
    }
    if (t.text === '(') {
      pos++;
      const a = or();
      if (peek()?.text !== ')') throw new TraceConditionError('expected ")"', peek()?.col ?? end);
      pos++;
      return a;
    }
    if (t.kind !== 'name' || ['true', 'false', 'nil'].includes(t.text))
      throw new TraceConditionError(`expected a captured value's name, found ${t.text}`, t.col);
    pos++;
    const c = peek();
    if (!c || !['==', '!=', '<', '<=', '>', '>='].includes(c.text)) return { op: 'name', name: t.text };
    pos++;
    const v = peek();
    if (!v) throw new TraceConditionError(`expected a value after ${c.text}`, end);
    pos++;
    let value: Literal;
    if (v.kind === 'num') value = Number(v.text);
    else if (v.kind === 'str') value = JSON.parse(v.text) as string;
    else if (v.text === 'true' || v.text === 'false') value = v.text === 'true';
    else if (v.text === 'nil') value = null;
    else
      throw new TraceConditionError(
        `expected a number, a "string", true, false or nil, found ${v.text}`,
        v.col,
      );
    if (typeof value !== 'number' && !['==', '!='].includes(c.text))
      throw new TraceConditionError(`${c.text} compares numbers`, c.col);
    return { op: 'cmp', cmp: c.text, name: t.text, value };
  };
  const out = or();
  if (pos < toks.length) throw new TraceConditionError(`unexpected ${toks[pos]!.text}`, toks[pos]!.col);
  return out;
}

/** The names a condition reads. */
export function conditionNames(c: TraceCondition): string[] {
  switch (c.op) {
    case '&&':
    case '||':
      return [...conditionNames(c.a), ...conditionNames(c.b)];
    case '!':
      return conditionNames(c.a);
    default:
      return [c.name];
  }
}

/** Whether a condition holds for the values `get` gives (undefined: not captured; such a comparison is false). */
export function evalTraceCondition(c: TraceCondition, get: (name: string) => unknown): boolean {
  switch (c.op) {
    case '&&':
      return evalTraceCondition(c.a, get) && evalTraceCondition(c.b, get);
    case '||':
      return evalTraceCondition(c.a, get) || evalTraceCondition(c.b, get);
    case '!':
      return !evalTraceCondition(c.a, get);
    case 'name': {
      const v = get(c.name);
      return v !== undefined && v !== null && v !== false && v !== 0 && v !== '';
    }
    case 'cmp': {
      const v = get(c.name);
      if (v === undefined) return false;
      const x = typeof c.value === 'number' && typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      switch (c.cmp) {
        case '==':
          return x === c.value;
        case '!=':
          return x !== c.value;
      }
      if (typeof x !== 'number' || typeof c.value !== 'number') return false;
      if (c.cmp === '<') return x < c.value;
      if (c.cmp === '<=') return x <= c.value;
      if (c.cmp === '>') return x > c.value;
      return x >= c.value;
    }
  }
}
