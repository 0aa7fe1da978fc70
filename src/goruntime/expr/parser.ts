/**
 * A recursive-descent parser for the expression language: Go's operand, selector, index,
 * call, type-assertion, unary and binary expression syntax with Go's precedences. Errors
 * name the column and what was expected; the parser never recurses without consuming input.
 */
import { type BinaryOp, type Expr, type TypeExpr, typeExprText, type UnaryOp } from './ast.js';
import { ExprSyntaxError, type Token, tokenize } from './lexer.js';

export { ExprSyntaxError } from './lexer.js';

/** Go's binary precedences (higher binds tighter). */
const PRECEDENCE: Readonly<Record<string, number>> = {
  '||': 1,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '|': 4,
  '^': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '<<': 5,
  '>>': 5,
  '&': 5,
  '&^': 5,
};
/** Keywords that start a type in operand position (the callee of a conversion). */
const TYPE_KEYWORDS = new Set(['map', 'chan', 'interface']);
const MAX_DEPTH = 200;
const MAX_LENGTH = 10_000;

/** Parses one expression; throws ExprSyntaxError (with a column) on any syntax error. */
export function parseExpression(src: string): Expr {
  if (src.length > MAX_LENGTH)
    throw new ExprSyntaxError(1, `expression is longer than ${MAX_LENGTH} characters`);
  const p = new Parser(tokenize(src));
  if (p.peek().kind === 'eof') throw new ExprSyntaxError(1, 'expected an expression, found nothing');
  const e = p.expr(0);
  const t = p.peek();
  if (t.kind !== 'eof') throw new ExprSyntaxError(t.pos, `expected end of expression, found ${describe(t)}`);
  return e;
}

/** How a token is named in messages. */
function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of expression';
  if (t.kind === 'op') return `'${t.text}'`;
  if (t.kind === 'ident') return `identifier ${t.text}`;
  return `${t.kind} literal ${t.text}`;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Token[]) {}

  peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    const t = this.toks[this.i]!;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }
  private expect(text: string, context: string): Token {
    const t = this.peek();
    if (t.kind !== 'op' || t.text !== text)
      throw new ExprSyntaxError(t.pos, `expected '${text}' ${context}, found ${describe(t)}`);
    return this.next();
  }
  private enter(t: Token): void {
    if (++this.depth > MAX_DEPTH)
      throw new ExprSyntaxError(t.pos, `expression nests deeper than ${MAX_DEPTH} levels`);
  }

  /** Binary expressions by precedence climbing. */
  expr(minPrec: number): Expr {
    this.enter(this.peek());
    let x = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') break;
      const prec = PRECEDENCE[t.text];
      if (prec === undefined || prec <= minPrec) break;
      this.next();
      const y = this.expr(prec);
      x = { kind: 'binary', op: t.text as BinaryOp, x, y, opPos: t.pos, pos: x.pos, end: y.end };
    }
    this.depth--;
    return x;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && ['-', '+', '!', '^', '*', '&'].includes(t.text)) {
      this.next();
      this.enter(t);
      const x = this.unary();
      this.depth--;
      return { kind: 'unary', op: t.text as UnaryOp, x, pos: t.pos, end: x.end };
    }
    if (t.kind === 'op' && t.text === '<-')
      throw new ExprSyntaxError(t.pos, 'channel receive is not supported: it would change the program');
    return this.primary();
  }

  /** An operand followed by selectors, indexes, calls and type assertions. */
  private primary(): Expr {
    let x = this.operand();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        if (this.isOp('(')) {
          this.next();
          const kw = this.peek();
          if (kw.kind === 'ident' && kw.text === 'type')
            throw new ExprSyntaxError(kw.pos, 'type switches are not supported');
          const ty = this.type();
          const close = this.expect(')', 'after the asserted type');
          x = { kind: 'assert', x, type: ty, pos: x.pos, end: close.end };
          continue;
        }
        const name = this.peek();
        if (name.kind !== 'ident')
          throw new ExprSyntaxError(
            name.pos,
            `expected a field name or '(' after '.', found ${describe(name)}`,
          );
        this.next();
        x = { kind: 'selector', x, name: name.text, namePos: name.pos, pos: x.pos, end: name.end };
      } else if (this.isOp('[')) {
        x = this.indexOrSlice(x);
      } else if (this.isOp('(')) {
        const open = this.next();
        const args: Expr[] = [];
        while (!this.isOp(')')) {
          args.push(this.expr(0));
          if (!this.isOp(',')) break;
          this.next();
        }
        const close = this.expect(')', `to close '(' at column ${open.pos}`);
        x = { kind: 'call', fn: x, args, pos: x.pos, end: close.end };
      } else return x;
    }
  }

  /** `x[i]`, `x[low:high]` or `x[low:high:max]`, after x. */
  private indexOrSlice(x: Expr): Expr {
    const open = this.next();
    if (this.isOp(']')) throw new ExprSyntaxError(this.peek().pos, "expected an index expression, found ']'");
    const bound = (): Expr | undefined => (this.isOp(':') || this.isOp(']') ? undefined : this.expr(0));
    const low = bound();
    if (this.isOp(','))
      throw new ExprSyntaxError(this.peek().pos, 'generic instantiation is not supported in expressions');
    const closing = `to close '[' at column ${open.pos}`;
    if (!this.isOp(':')) {
      const close = this.expect(']', closing);
      return { kind: 'index', x, index: low!, pos: x.pos, end: close.end };
    }
    this.next();
    const high = bound();
    let max: Expr | undefined;
    if (this.isOp(':')) {
      const colon = this.next();
      if (high === undefined) throw new ExprSyntaxError(colon.pos, 'middle index required in 3-index slice');
      max = bound();
      if (max === undefined)
        throw new ExprSyntaxError(this.peek().pos, 'final index required in 3-index slice');
    }
    const close = this.expect(']', closing);
    return { kind: 'slice', x, low, high, max, pos: x.pos, end: close.end };
  }

  private operand(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'ident':
        if (TYPE_KEYWORDS.has(t.text)) {
          const type = this.type();
          return { kind: 'type', type, pos: t.pos, end: type.end };
        }
        if (t.text === 'func')
          throw new ExprSyntaxError(t.pos, 'function literals and func types are not supported');
        this.next();
        return { kind: 'ident', name: t.text, pos: t.pos, end: t.end };
      case 'int':
        this.next();
        return { kind: 'int', value: t.int!, text: t.text, pos: t.pos, end: t.end };
      case 'float':
        this.next();
        return { kind: 'float', value: t.float!, text: t.text, pos: t.pos, end: t.end };
      case 'imag':
        this.next();
        return { kind: 'imag', text: t.text, pos: t.pos, end: t.end };
      case 'rune':
        this.next();
        return { kind: 'rune', value: Number(t.int!), text: t.text, pos: t.pos, end: t.end };
      case 'string': {
        this.next();
        // `"import/path".Name` names a package variable by its full import path.
        if (this.isOp('.') && this.toks[this.i + 1]?.kind === 'ident') {
          this.next();
          const name = this.next();
          const path = new TextDecoder().decode(t.bytes!);
          return { kind: 'pkgvar', path, name: name.text, pos: t.pos, end: name.end };
        }
        return { kind: 'string', bytes: t.bytes!, text: t.text, pos: t.pos, end: t.end };
      }
      case 'op':
        if (t.text === '[') {
          const type = this.type();
          if (!this.isOp('(') && !this.isOp(')'))
            throw new ExprSyntaxError(
              this.peek().pos,
              `expected '(' after the type ${typeExprText(type)}: composite literals are not supported, conversions are`,
            );
          return { kind: 'type', type, pos: t.pos, end: type.end };
        }
        if (t.text === '(') {
          this.next();
          const x = this.expr(0);
          const close = this.expect(')', `to close '(' at column ${t.pos}`);
          return { kind: 'paren', x, pos: t.pos, end: close.end };
        }
        break;
      case 'eof':
        throw new ExprSyntaxError(t.pos, 'expected an operand, found end of expression');
    }
    throw new ExprSyntaxError(t.pos, `expected an operand (a name, a literal or '('), found ${describe(t)}`);
  }

  /** A type in an assertion. */
  type(): TypeExpr {
    const t = this.peek();
    this.enter(t);
    const r = this.typeInner(t);
    this.depth--;
    return r;
  }

  private typeInner(t: Token): TypeExpr {
    if (t.kind === 'op' && t.text === '*') {
      this.next();
      const elem = this.type();
      return { kind: 'tptr', elem, pos: t.pos, end: elem.end };
    }
    if (t.kind === 'op' && t.text === '[') {
      this.next();
      let len: number | undefined;
      const n = this.peek();
      if (n.kind === 'int') {
        len = Number(this.next().int!);
      } else if (!this.isOp(']'))
        throw new ExprSyntaxError(n.pos, `expected ']' or an array length, found ${describe(n)}`);
      this.expect(']', 'in the array or slice type');
      const elem = this.type();
      return len === undefined
        ? { kind: 'tslice', elem, pos: t.pos, end: elem.end }
        : { kind: 'tarray', len, elem, pos: t.pos, end: elem.end };
    }
    if (t.kind === 'ident' && t.text === 'map') {
      this.next();
      this.expect('[', "after 'map'");
      const key = this.type();
      this.expect(']', 'after the map key type');
      const elem = this.type();
      return { kind: 'tmap', key, elem, pos: t.pos, end: elem.end };
    }
    if (t.kind === 'ident' && t.text === 'chan') {
      this.next();
      const elem = this.type();
      return { kind: 'tchan', elem, pos: t.pos, end: elem.end };
    }
    if (t.kind === 'ident' && t.text === 'interface') {
      this.next();
      this.expect('{', "after 'interface'");
      const close = this.expect('}', "(only the empty interface 'interface{}' is supported)");
      return { kind: 'tiface', pos: t.pos, end: close.end };
    }
    if (t.kind === 'ident' || t.kind === 'string') {
      this.next();
      let pkg: string | undefined;
      let name = t.text;
      let end = t.end;
      const quoted = t.kind === 'string';
      if (quoted || this.isOp('.')) {
        this.expect('.', 'after the package path');
        const n = this.peek();
        if (n.kind !== 'ident')
          throw new ExprSyntaxError(n.pos, `expected a type name after '.', found ${describe(n)}`);
        this.next();
        pkg = quoted ? new TextDecoder().decode(t.bytes!) : t.text;
        name = n.text;
        end = n.end;
      }
      const args: TypeExpr[] = [];
      if (this.isOp('[')) {
        this.next();
        for (;;) {
          args.push(this.type());
          if (!this.isOp(',')) break;
          this.next();
        }
        end = this.expect(']', 'after the type arguments').end;
      }
      return { kind: 'tname', pkg, quoted, name, args, pos: t.pos, end };
    }
    throw new ExprSyntaxError(t.pos, `expected a type, found ${describe(t)}`);
  }
}
