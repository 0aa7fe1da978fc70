/**
 * The syntax tree of Periscope's expression language (a subset of Go's expression syntax).
 * Every node carries `pos`, the 1-based column where it starts, and `end`, the column just
 * after it, so that type errors can point at the exact text.
 */

/** Columns of a node in the source text (1-based, end exclusive). */
export interface Span {
  readonly pos: number;
  readonly end: number;
}

/** A binary operator. */
export type BinaryOp =
  | '||'
  | '&&'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '<<'
  | '>>'
  | '&'
  | '|'
  | '^'
  | '&^';
/** A unary operator: negation, logical not, bitwise complement, dereference, address-of. */
export type UnaryOp = '-' | '+' | '!' | '^' | '*' | '&';

/** An expression node. */
export type Expr =
  | (Span & { readonly kind: 'ident'; readonly name: string })
  /** `"import/path".Name`: a package-level variable named by its full import path. */
  | (Span & { readonly kind: 'pkgvar'; readonly path: string; readonly name: string })
  | (Span & { readonly kind: 'int'; readonly value: bigint; readonly text: string })
  | (Span & { readonly kind: 'float'; readonly value: number; readonly text: string })
  /** An imaginary literal (`2i`, `1.5e3i`); `text` is the literal without its `i`. */
  | (Span & { readonly kind: 'imag'; readonly text: string })
  /** A string literal: the bytes Go would store (escapes may produce invalid UTF-8). */
  | (Span & { readonly kind: 'string'; readonly bytes: Uint8Array; readonly text: string })
  | (Span & { readonly kind: 'rune'; readonly value: number; readonly text: string })
  | (Span & { readonly kind: 'paren'; readonly x: Expr })
  | (Span & { readonly kind: 'selector'; readonly x: Expr; readonly name: string; readonly namePos: number })
  | (Span & { readonly kind: 'index'; readonly x: Expr; readonly index: Expr })
  /** `x[low:high]` or `x[low:high:max]` (absent bounds are undefined). */
  | (Span & {
      readonly kind: 'slice';
      readonly x: Expr;
      readonly low: Expr | undefined;
      readonly high: Expr | undefined;
      readonly max: Expr | undefined;
    })
  /** A type in operand position, the callee of a conversion: `[]byte(s)`, `map[K]V(m)`. */
  | (Span & { readonly kind: 'type'; readonly type: TypeExpr })
  | (Span & { readonly kind: 'call'; readonly fn: Expr; readonly args: readonly Expr[] })
  | (Span & { readonly kind: 'assert'; readonly x: Expr; readonly type: TypeExpr })
  | (Span & { readonly kind: 'unary'; readonly op: UnaryOp; readonly x: Expr })
  | (Span & {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly x: Expr;
      readonly y: Expr;
      /** The operator's column. */
      readonly opPos: number;
    });

/** A type written in a type assertion: `*pkg.T`, `[]byte`, `map[string]int`, `pkg.G[int]`. */
export type TypeExpr =
  | (Span & {
      readonly kind: 'tname';
      /** The package qualifier as written (`os`, or an import path when quoted), if any. */
      readonly pkg: string | undefined;
      readonly quoted: boolean;
      readonly name: string;
      readonly args: readonly TypeExpr[];
    })
  | (Span & { readonly kind: 'tptr'; readonly elem: TypeExpr })
  | (Span & { readonly kind: 'tslice'; readonly elem: TypeExpr })
  | (Span & { readonly kind: 'tarray'; readonly len: number; readonly elem: TypeExpr })
  | (Span & { readonly kind: 'tmap'; readonly key: TypeExpr; readonly elem: TypeExpr })
  | (Span & { readonly kind: 'tchan'; readonly elem: TypeExpr })
  | (Span & { readonly kind: 'tiface' });

/** Renders a type expression as written (for messages); `resolve` may rewrite package qualifiers. */
export function typeExprText(t: TypeExpr, resolve: (pkg: string) => string = (p) => p): string {
  switch (t.kind) {
    case 'tname': {
      const base = t.pkg === undefined ? t.name : `${resolve(t.pkg)}.${t.name}`;
      return t.args.length === 0 ? base : `${base}[${t.args.map((a) => typeExprText(a, resolve)).join(',')}]`;
    }
    case 'tptr':
      return `*${typeExprText(t.elem, resolve)}`;
    case 'tslice':
      return `[]${typeExprText(t.elem, resolve)}`;
    case 'tarray':
      return `[${t.len}]${typeExprText(t.elem, resolve)}`;
    case 'tmap':
      return `map[${typeExprText(t.key, resolve)}]${typeExprText(t.elem, resolve)}`;
    case 'tchan':
      return `chan ${typeExprText(t.elem, resolve)}`;
    case 'tiface':
      return 'interface {}';
  }
}

/** Renders an expression back to Go source (normalised spacing), for messages and column names. */
export function exprText(e: Expr): string {
  switch (e.kind) {
    case 'ident':
      return e.name;
    case 'pkgvar':
      return `${JSON.stringify(e.path)}.${e.name}`;
    case 'int':
    case 'float':
    case 'string':
    case 'rune':
      return e.text;
    case 'imag':
      return `${e.text}i`;
    case 'slice': {
      const b = (x: Expr | undefined): string => (x === undefined ? '' : exprText(x));
      return `${exprText(e.x)}[${b(e.low)}:${b(e.high)}${e.max === undefined ? '' : `:${b(e.max)}`}]`;
    }
    case 'type':
      return typeExprText(e.type);
    case 'paren':
      return `(${exprText(e.x)})`;
    case 'selector':
      return `${exprText(e.x)}.${e.name}`;
    case 'index':
      return `${exprText(e.x)}[${exprText(e.index)}]`;
    case 'call':
      return `${exprText(e.fn)}(${e.args.map(exprText).join(', ')})`;
    case 'assert':
      return `${exprText(e.x)}.(${typeExprText(e.type)})`;
    case 'unary':
      return `${e.op}${exprText(e.x)}`;
    case 'binary':
      return `${exprText(e.x)} ${e.op} ${exprText(e.y)}`;
  }
}
