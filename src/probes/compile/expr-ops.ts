/**
 * Operators compiled to BPF: conditions as jumps with short-circuit && and || (`condition`),
 * comparisons of integers (signed or not, as Go compares them), bools, nil and pointers,
 * strings compared for equality (against a constant: its length, then its bytes, 8 at a
 * time; against another string: up to 64 bytes each, longer is an error rather than a wrong
 * answer), integer arithmetic with Go's wrap-around and division by zero as an error.
 * Constants fold. Floats and ordered string comparisons are refused: BPF has no floating
 * point, and a bounded loop for ordering is not worth its verifier cost.
 */
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import {
  type BinaryOp,
  type Expr,
  INT_KINDS,
  isFloatKind,
  isIntKind,
  kindOf,
  POINTER_KINDS,
} from '../../goruntime/expr/index.js';
import { type JmpOp, R0, R1, R2, R3, R8, R9, R10 } from '../bpf/isa.js';
import { type Const, type CVal, fieldOff, loadScalar, normalize, spill, view } from './cval.js';
import { Refusal } from './emitter.js';
import type { ExprCompiler } from './expr-values.js';
import { CAPTURE } from './record-layout.js';

type Cmp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** Longest strings compared with each other in the kernel. */
const MAX_RUNTIME_COMPARE = 64;
/** Longest string constant a value is compared with. */
const MAX_CONSTANT_COMPARE = 256;

/** Emits jumps to `t` when `x` is true and to `f` when false (failures jump to the error handler). */
export function condition(c: ExprCompiler, x: Expr, t: string, f: string): void {
  const a = c.e.a;
  if (x.kind === 'paren') {
    condition(c, x.x, t, f);
    return;
  }
  if (x.kind === 'unary' && x.op === '!') {
    condition(c, x.x, f, t);
    return;
  }
  if (x.kind === 'binary' && (x.op === '&&' || x.op === '||')) {
    const mid = c.e.label(x.op === '&&' ? 'and' : 'or');
    if (x.op === '&&') condition(c, x.x, mid, f);
    else condition(c, x.x, t, mid);
    a.label(mid);
    condition(c, x.y, t, f);
    return;
  }
  if (x.kind === 'binary' && isCmp(x.op)) {
    const m = c.e.mark();
    compare(c, x.op, c.value(x.x), c.value(x.y), t, f);
    c.e.release(m);
    return;
  }
  const m = c.e.mark();
  const v = c.value(x);
  if (v.k === 'const') {
    a.ja(v.v.c === 'bool' && v.v.v ? t : f);
  } else {
    loadScalar(c.e, c.d, v, R0);
    a.jmp('jne', R0, 0, t).ja(f);
  }
  c.e.release(m);
}

/** A boolean expression as a value (a bool in a stack slot). */
export function conditionValue(c: ExprCompiler, x: Expr): CVal {
  const bool = c.d.findType('bool');
  if (!bool) throw new Refusal('the binary has no bool type in DWARF');
  const slot = c.e.alloc(8);
  const [t, f, done] = [c.e.label('true'), c.e.label('false'), c.e.label('bool')];
  condition(c, x, t, f);
  c.e.a.label(t).st('dw', R10, slot, 1).ja(done);
  c.e.a.label(f).st('dw', R10, slot, 0);
  c.e.a.label(done);
  return { k: 'bytes', t: bool, at: { base: 'stack', off: slot } };
}

function isCmp(op: BinaryOp): op is Cmp {
  return op === '==' || op === '!=' || op === '<' || op === '<=' || op === '>' || op === '>=';
}

/** An operand's category for operators: int, float (and complex), string, bool, nil, interface, nilable (pointer-like, slice), other. */
function cat(d: DwarfData, v: CVal): string {
  if (v.k === 'const') return v.v.c;
  const k = kindOf(d, v.t);
  if (isIntKind(k)) return 'int';
  if (isFloatKind(k) || k === 'complex64' || k === 'complex128') return 'float';
  if (k === 'string' || k === 'bool' || k === 'interface') return k;
  if (POINTER_KINDS.has(k) || k === 'slice') return 'nilable';
  return 'other';
}

function signed(d: DwarfData, v: CVal): boolean | undefined {
  return v.k === 'const' ? undefined : INT_KINDS[kindOf(d, v.t)];
}

const JUMP: Record<Cmp, [JmpOp, JmpOp]> = {
  '==': ['jeq', 'jeq'],
  '!=': ['jne', 'jne'],
  '<': ['jlt', 'jslt'],
  '<=': ['jle', 'jsle'],
  '>': ['jgt', 'jsgt'],
  '>=': ['jge', 'jsge'],
};

function compare(c: ExprCompiler, op: Cmp, x: CVal, y: CVal, t: string, f: string): void {
  const a = c.e.a;
  const d = c.d;
  const [cx, cy] = [cat(d, x), cat(d, y)];
  if (cx === 'float' || cy === 'float')
    throw new Refusal(
      'floats cannot be compared in a probe (BPF has no floating point): capture the value instead',
    );
  if (x.k === 'const' && y.k === 'const') {
    a.ja(fold(op, x.v, y.v) ? t : f);
    return;
  }
  if (cx === 'string' || cy === 'string') {
    strings(c, op, x, y, t, f);
    return;
  }
  if (cx === 'nil' || cy === 'nil') {
    const v = cx === 'nil' ? y : x;
    loadScalar(c.e, d, nilWord(c, v), R8);
    a.jmp(op === '==' ? 'jeq' : 'jne', R8, 0, t).ja(f);
    return;
  }
  if (cx === 'interface' || cy === 'interface')
    throw new Refusal(
      'interface values can only be compared with nil in a probe: assert the dynamic type first',
    );
  if (cx === 'other' || cy === 'other')
    throw new Refusal('structs and arrays cannot be compared in a probe: compare their fields');
  const sx = signed(d, x);
  const s = sx ?? signed(d, y) ?? false;
  const [lx, ly] = [cx === 'nilable' ? nilWord(c, x) : x, cy === 'nilable' ? nilWord(c, y) : y];
  loadScalar(c.e, d, lx, R8);
  loadScalar(c.e, d, ly, R9);
  a.jmp(JUMP[op][s ? 1 : 0], R8, R9, t).ja(f);
}

/** The word that is 0 when a nilable value is nil: the pointer, a slice's data, an interface's type word. */
function nilWord(c: ExprCompiler, v: CVal): CVal {
  const d = c.d;
  const t = c.typeOf(v);
  const word = d.findType('uintptr') ?? t;
  const k = kindOf(d, t);
  if (k === 'slice') return view(v, fieldOff(d, t, 'array', 0), word);
  if (k === 'interface') {
    const u = d.underlying(t);
    const f = u.fields?.find((x) => x.name === '_type' || x.name === 'tab');
    return view(v, f?.offset ?? 0, word);
  }
  return v;
}

function fold(op: Cmp, x: Const, y: Const): boolean {
  const key = (v: Const): bigint | string | boolean =>
    v.c === 'int' ? v.v : v.c === 'bool' ? v.v : v.c === 'nil' ? 'nil' : Buffer.from(v.v).toString('latin1');
  const [p, q] = [key(x), key(y)];
  switch (op) {
    case '==':
      return p === q;
    case '!=':
      return p !== q;
    case '<':
      return p < q;
    case '<=':
      return p <= q;
    case '>':
      return p > q;
    case '>=':
      return p >= q;
  }
}

function strings(c: ExprCompiler, op: Cmp, xv: CVal, yv: CVal, t: string, f: string): void {
  if (op !== '==' && op !== '!=')
    throw new Refusal(`strings can only be compared with == and != in a probe, not ${op}`);
  const e = c.e;
  const a = e.a;
  const d = c.d;
  const [eq, ne] = op === '==' ? [t, f] : [f, t];
  const [x, y] = xv.k === 'const' ? [yv, xv] : [xv, yv];
  const int = d.findType('int')!;
  const word = d.findType('uintptr') ?? int;
  const parts = (v: CVal) => {
    const st = c.typeOf(v);
    return { len: view(v, fieldOff(d, st, 'len', 8), int), ptr: view(v, fieldOff(d, st, 'str', 0), word) };
  };
  const px = parts(x);
  loadScalar(e, d, px.len, R8);
  const read = (buf: number, ptr: CVal, size: number | 'R8') => {
    loadScalar(e, d, ptr, R0);
    const slot = e.alloc(8);
    a.stx('dw', R10, slot, R0);
    a.mov64(R1, R10).alu64('add', R1, buf);
    if (size === 'R8') a.mov64(R2, R8);
    else a.mov64(R2, size);
    a.mov64(R3, R0).call('probe_read_user');
    e.failUnlessRead(CAPTURE.unreadable, slot);
  };
  const zero = (buf: number, n: number) => {
    for (let i = 0; i < n; i += 8) a.st('dw', R10, buf + i, 0);
  };
  if (y.k === 'const') {
    if (y.v.c !== 'string') throw new Refusal('internal: a string compared with a non-string constant');
    const lit = y.v.v;
    if (lit.length > MAX_CONSTANT_COMPARE)
      throw new Refusal(`a probe compares strings of at most ${MAX_CONSTANT_COMPARE} bytes with a constant`);
    a.jmp('jne', R8, lit.length, ne);
    if (lit.length === 0) {
      a.ja(eq);
      return;
    }
    const n = Math.ceil(lit.length / 8) * 8;
    const buf = e.alloc(n);
    zero(buf, n);
    read(buf, px.ptr, lit.length);
    const padded = new Uint8Array(n);
    padded.set(lit);
    const dv = new DataView(padded.buffer);
    for (let i = 0; i < n; i += 8) {
      a.ldx('dw', R1, R10, buf + i).ldImm64(R2, dv.getBigUint64(i, true));
      a.jmp('jne', R1, R2, ne);
    }
    a.ja(eq);
    return;
  }
  const py = parts(y);
  loadScalar(e, d, py.len, R9);
  a.jmp('jne', R8, R9, ne);
  const short = e.label('short');
  a.jmp('jle', R8, MAX_RUNTIME_COMPARE, short);
  e.fail(CAPTURE.tooLong, R8);
  a.label(short);
  const [bx, by] = [e.alloc(MAX_RUNTIME_COMPARE), e.alloc(MAX_RUNTIME_COMPARE)];
  zero(bx, MAX_RUNTIME_COMPARE);
  zero(by, MAX_RUNTIME_COMPARE);
  read(bx, px.ptr, 'R8');
  read(by, py.ptr, 'R8');
  for (let i = 0; i < MAX_RUNTIME_COMPARE; i += 8) {
    a.ldx('dw', R1, R10, bx + i).ldx('dw', R2, R10, by + i);
    a.jmp('jne', R1, R2, ne);
  }
  a.ja(eq);
}

/** The arithmetic operators a probe computes. */
export type ArithOp = Exclude<BinaryOp, '&&' | '||' | Cmp>;

/** Whether a binary operator is arithmetic (not a comparison or logical operator). */
export function isArith(op: BinaryOp): op is ArithOp {
  return op !== '&&' && op !== '||' && !isCmp(op);
}

const ALU_OF = { '+': 'add', '-': 'sub', '*': 'mul', '&': 'and', '|': 'or', '^': 'xor' } as const;

/**
 * x op y on integers, at the result type's size with Go's wrap-around: + - * / % & | ^ &^
 * << >>. Division by zero and negative shift counts are errors, as they panic in Go; shifts
 * of 64 or more give 0 (or -1 for a negative signed value shifted right), as in Go.
 */
export function arithmetic(c: ExprCompiler, op: ArithOp, x: CVal, y: CVal): CVal {
  const d = c.d;
  const [cx, cy] = [cat(d, x), cat(d, y)];
  if (cx === 'float' || cy === 'float')
    throw new Refusal('floating point cannot be computed in a probe (BPF has no floating point)');
  if (cx !== 'int' || cy !== 'int') throw new Refusal(`operator ${op} works on integers only in a probe`);
  const shift = op === '<<' || op === '>>';
  const rt = x.t ?? (shift ? undefined : y.t); // a shift has its left operand's type
  if (!rt) throw new Refusal(`internal: no result type for ${op}`);
  const a = c.e.a;
  loadScalar(c.e, d, x, R8);
  loadScalar(c.e, d, y, R9);
  const isSigned = INT_KINDS[kindOf(d, rt)] === true;
  if (op === '/' || op === '%') {
    const ok = c.e.label('divisor');
    a.jmp('jne', R9, 0, ok);
    c.e.fail(CAPTURE.divide);
    a.label(ok);
    const name = op === '/' ? 'div' : 'mod';
    if (isSigned) a.signed64(name, R8, R9);
    else a.alu64(name, R8, R9);
  } else if (shift) {
    if (y.k !== 'const' && INT_KINDS[kindOf(d, y.t)] === true) {
      const ok = c.e.label('count');
      a.jmp('jsge', R9, 0, ok);
      c.e.fail(CAPTURE.shift, R9);
      a.label(ok);
    }
    const [small, done] = [c.e.label('shift'), c.e.label('shifted')];
    a.jmp('jlt', R9, 64, small);
    if (op === '>>' && isSigned) a.alu64('arsh', R8, 63);
    else a.mov64(R8, 0);
    a.ja(done).label(small);
    a.alu64(op === '<<' ? 'lsh' : isSigned ? 'arsh' : 'rsh', R8, R9);
    a.label(done);
  } else if (op === '&^') a.alu64('xor', R9, -1).alu64('and', R8, R9);
  else a.alu64(ALU_OF[op], R8, R9);
  normalize(c.e, d, rt, R8);
  return spill(c.e, rt, R8);
}

/** -x or ^x on an integer. */
export function negate(c: ExprCompiler, op: '-' | '^', x: CVal): CVal {
  if (x.k === 'const' || cat(c.d, x) !== 'int')
    throw new Refusal(`unary ${op} works on integers only in a probe`);
  loadScalar(c.e, c.d, x, R8);
  if (op === '-') c.e.a.alu64('neg', R8, 0);
  else c.e.a.alu64('xor', R8, -1);
  normalize(c.e, c.d, x.t, R8);
  return spill(c.e, x.t, R8);
}
