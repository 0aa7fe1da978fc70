/**
 * The DWARF expression stack machine: evaluates a location expression against one frame's
 * registers, CFA, frame base and a memory reader, and says where each piece of the value is.
 */
import { FormatError } from '../common/errors.js';
import { decodeExpression, EXPR_SECTION, type ExprInstruction, OP, opName } from './location-expr-ops.js';

/** What an evaluation may read. Missing facts make the affected piece 'unavailable'. */
export interface LocationContext {
  /** A register's value by DWARF number (bigint for the full 64 bits), or undefined if unknown. */
  readonly register?: (reg: number) => bigint | number | undefined;
  readonly cfa?: number;
  readonly frameBase?: number;
  /** Reads target memory; undefined when unreadable. */
  readonly readMemory?: (address: number, size: number) => Uint8Array | undefined;
  /** Resolves DW_OP_addrx / DW_OP_constx indexes through .debug_addr. */
  readonly addrx?: (index: number) => number | undefined;
  readonly addrSize?: number;
  /** Byte size of the whole value, used when there are no pieces. */
  readonly size?: number;
  /** Upper bound on executed instructions (default 10,000): loops fail instead of hanging. */
  readonly maxSteps?: number;
}

/** Where one piece of the value is, once evaluated. size is undefined for a whole value of unknown size. */
export type EvaluatedPiece =
  | { readonly kind: 'memory'; readonly address: number; readonly size?: number }
  | { readonly kind: 'register'; readonly reg: number; readonly size?: number }
  | { readonly kind: 'value'; readonly bytes: Uint8Array; readonly size?: number }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly size?: number };

const MASK = (1n << 64n) - 1n;
const u64 = (v: bigint): bigint => v & MASK;
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);

/** Raised inside evaluation when a needed fact is missing; makes the current piece unavailable. */
class Unavailable {
  constructor(readonly reason: string) {}
}

type Loc =
  | { kind: 'memory' }
  | { kind: 'register'; reg: number }
  | { kind: 'stack-value' }
  | { kind: 'implicit'; bytes: Uint8Array };

/** Evaluates a location expression; a FormatError for malformed input (never a hang). */
export function evaluateLocation(expr: Uint8Array, ctx: LocationContext = {}): EvaluatedPiece[] {
  const ins = decodeExpression(expr, { addrSize: ctx.addrSize ?? 8 });
  if (ins.length === 0) return [{ kind: 'unavailable', reason: 'optimized out' }];
  const at = new Map<number, number>();
  ins.forEach((x, i) => {
    at.set(x.offset, i);
  });
  at.set(expr.length, ins.length);
  const maxSteps = ctx.maxSteps ?? 10_000;
  const stack: bigint[] = [];
  const pieces: EvaluatedPiece[] = [];
  let loc: Loc | undefined;
  let poisoned: string | undefined;
  let hasBody = false;
  const fail = (x: ExprInstruction, msg: string): never => {
    throw new FormatError(EXPR_SECTION, x.offset, msg);
  };
  const pop = (x: ExprInstruction): bigint => {
    const v = stack.pop();
    if (v === undefined) return fail(x, 'stack underflow');
    return v;
  };
  const push = (v: bigint): void => {
    stack.push(u64(v));
  };
  const toNumber = (v: bigint): number => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new Unavailable(`address 0x${v.toString(16)} exceeds 53 bits`);
    return Number(v);
  };
  const readReg = (reg: number): bigint => {
    const v = ctx.register?.(reg);
    if (v === undefined) throw new Unavailable(`register ${reg} is not known`);
    return BigInt(v);
  };
  const deref = (address: bigint, size: number): bigint => {
    if (!ctx.readMemory) throw new Unavailable('no memory reader');
    const a = toNumber(address);
    const b = ctx.readMemory(a, size);
    if (!b || b.length < size) throw new Unavailable(`memory at 0x${a.toString(16)} is unreadable`);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  };
  const finishPiece = (size: number | undefined): void => {
    const sized = size === undefined ? {} : { size };
    if (poisoned !== undefined) pieces.push({ kind: 'unavailable', reason: poisoned, ...sized });
    else if (!hasBody) pieces.push({ kind: 'unavailable', reason: 'optimized out', ...sized });
    else if (loc?.kind === 'register') pieces.push({ kind: 'register', reg: loc.reg, ...sized });
    else if (loc?.kind === 'implicit') pieces.push({ kind: 'value', bytes: loc.bytes, ...sized });
    else {
      const top = stack[stack.length - 1];
      if (top === undefined) pieces.push({ kind: 'unavailable', reason: 'empty stack', ...sized });
      else if (loc?.kind === 'stack-value')
        pieces.push({ kind: 'value', bytes: le(top, size ?? 8), ...sized });
      else {
        try {
          pieces.push({ kind: 'memory', address: toNumber(top), ...sized });
        } catch (e) {
          if (!(e instanceof Unavailable)) throw e;
          pieces.push({ kind: 'unavailable', reason: e.reason, ...sized });
        }
      }
    }
    loc = undefined;
    poisoned = undefined;
    hasBody = false;
  };

  let pc = 0;
  for (let steps = 0; pc < ins.length; steps++) {
    if (steps >= maxSteps) fail(ins[pc]!, `more than ${maxSteps} steps: the expression loops`);
    const x = ins[pc]!;
    pc++;
    const { op } = x;
    if (op === OP.piece || op === OP.bitPiece) {
      const bits = Number(x.a);
      if (op === OP.bitPiece && (bits % 8 !== 0 || x.b % 8n !== 0n)) {
        poisoned ??= 'DW_OP_bit_piece that is not byte aligned is not supported';
      }
      finishPiece(op === OP.piece ? bits : Math.ceil(bits / 8));
      continue;
    }
    if (op !== OP.nop) hasBody = true;
    if (loc && loc.kind !== 'memory' && op !== OP.nop) {
      fail(x, `${loc.kind} location must be followed by DW_OP_piece or end the expression`);
    }
    try {
      pc = step(x, pc) ?? pc;
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      poisoned ??= e.reason;
      stack.push(0n); // a placeholder, so that later pieces can still be evaluated
    }
  }
  if (hasBody || pieces.length === 0) finishPiece(pieces.length === 0 ? ctx.size : undefined);
  return pieces;

  /** Executes one instruction; returns the new instruction index for branches. */
  function step(x: ExprInstruction, next: number): number | undefined {
    const { op, a, b } = x;
    if (op >= OP.lit0 && op < OP.reg0) push(BigInt(op - OP.lit0));
    else if (op >= OP.reg0 && op < OP.breg0) loc = { kind: 'register', reg: op - OP.reg0 };
    else if (op >= OP.breg0 && op < OP.regx) push(readReg(op - OP.breg0) + a);
    else if (op >= 0x08 && op <= OP.consts) push(a);
    else
      switch (op) {
        case OP.addr:
          push(a);
          break;
        case OP.regx:
          loc = { kind: 'register', reg: Number(a) };
          break;
        case OP.bregx:
          push(readReg(Number(a)) + b);
          break;
        case OP.fbreg:
          if (ctx.frameBase === undefined) throw new Unavailable('frame base is not known');
          push(BigInt(ctx.frameBase) + a);
          break;
        case OP.callFrameCfa:
          if (ctx.cfa === undefined) throw new Unavailable('CFA is not known');
          push(BigInt(ctx.cfa));
          break;
        case OP.addrx:
        case OP.constx:
        case OP.gnuAddrIndex:
        case OP.gnuConstIndex: {
          const v = ctx.addrx?.(Number(a));
          if (v === undefined) throw new Unavailable(`.debug_addr entry ${a} is not known`);
          push(BigInt(v));
          break;
        }
        case 0x12: // dup
          push(peek(x, 0));
          break;
        case 0x13: // drop
          pop(x);
          break;
        case 0x14: // over
          push(peek(x, 1));
          break;
        case 0x15: // pick
          push(peek(x, Number(a)));
          break;
        case 0x16: {
          const t = pop(x);
          const u = pop(x);
          stack.push(t, u);
          break;
        }
        case 0x17: {
          // rot: (c b a -- a c b) with a on top
          const t1 = pop(x);
          const t2 = pop(x);
          const t3 = pop(x);
          stack.push(t1, t3, t2);
          break;
        }
        case OP.deref:
          push(deref(pop(x), ctx.addrSize ?? 8));
          break;
        case OP.derefSize: {
          const n = Number(a);
          if (n < 1 || n > 8) fail(x, `DW_OP_deref_size ${n} is not 1..8`);
          push(deref(pop(x), n));
          break;
        }
        case 0x19: {
          const v = s64(pop(x));
          push(v < 0n ? -v : v);
          break;
        }
        case 0x1f: // neg
          push(-s64(pop(x)));
          break;
        case 0x20: // not
          push(~pop(x));
          break;
        case OP.plusUconst:
          push(pop(x) + a);
          break;
        case OP.skip:
        case OP.bra: {
          if (op === OP.bra && pop(x) === 0n) break;
          const target = at.get(x.next + Number(a));
          if (target === undefined) fail(x, `branch to ${x.next + Number(a)} is not an instruction boundary`);
          return target;
        }
        case OP.stackValue:
          loc = { kind: 'stack-value' };
          break;
        case OP.implicitValue:
          loc = { kind: 'implicit', bytes: x.block! };
          break;
        case OP.nop:
          break;
        case OP.entryValue:
        case OP.gnuEntryValue:
          throw new Unavailable('the value at function entry (DW_OP_entry_value) is not available');
        default:
          if (op >= 0x1a && op <= 0x2e) binary(x);
          else throw new Unavailable(`${opLabel(op)} is not supported`);
      }
    return next;
  }

  function peek(x: ExprInstruction, depth: number): bigint {
    const v = stack[stack.length - 1 - depth];
    if (v === undefined) return fail(x, 'stack underflow');
    return v;
  }

  /** Two-operand arithmetic, logic and comparisons (second-from-top OP top). */
  function binary(x: ExprInstruction): void {
    const top = pop(x);
    const second = pop(x);
    push(arithmetic(x, second, top));
  }
}

/** The result of a binary operator; comparisons and division are signed, as DWARF's generic type is. */
function arithmetic(x: ExprInstruction, second: bigint, top: bigint): bigint {
  const t = s64(top);
  const s = s64(second);
  const bool = (c: boolean): bigint => (c ? 1n : 0n);
  switch (x.op) {
    case 0x1a:
      return second & top;
    case 0x1b:
      if (top === 0n) throw new FormatError(EXPR_SECTION, x.offset, 'division by zero');
      return s / t;
    case 0x1c:
      return second - top;
    case 0x1d:
      if (top === 0n) throw new FormatError(EXPR_SECTION, x.offset, 'modulo by zero');
      return second % top;
    case 0x1e:
      return second * top;
    case 0x21:
      return second | top;
    case 0x22:
      return second + top;
    case 0x24:
      return top >= 64n ? 0n : second << top;
    case 0x25:
      return top >= 64n ? 0n : second >> top;
    case 0x26:
      return s >> (top >= 64n ? 63n : top);
    case 0x27:
      return second ^ top;
    case 0x29:
      return bool(s === t);
    case 0x2a:
      return bool(s >= t);
    case 0x2b:
      return bool(s > t);
    case 0x2c:
      return bool(s <= t);
    case 0x2d:
      return bool(s < t);
    case 0x2e:
      return bool(s !== t);
    default:
      throw new Unavailable(`${opLabel(x.op)} is not supported`);
  }
}

function opLabel(op: number): string {
  return opName(op) ?? `location op 0x${op.toString(16)}`;
}

function le(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(size, 8)));
  for (let i = 0; i < out.length; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}
