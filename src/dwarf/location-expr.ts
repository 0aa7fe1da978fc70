/**
 * Static descriptions of DWARF location expressions, for humans and capture plans: which
 * register, which frame-base or CFA offset, which address each piece of a variable lives
 * at — without running anything. evaluateLocation (location-expr-eval.ts) runs them.
 */
import {
  type DisassembleOptions,
  decodeExpression,
  type ExprFormat,
  type ExprInstruction,
  OP,
  renderInstructions,
} from './location-expr-ops.js';
import { AMD64_REGISTERS } from './regs.amd64.js';

export { type DisassembleOptions, decodeExpression, disassemble } from './location-expr-ops.js';

/** Where one piece of a value lives, as far as can be said statically. */
export type LocationKind =
  /** In a register (DW_OP_regN / DW_OP_regx). */
  | { readonly kind: 'register'; readonly reg: number; readonly name: string }
  /** In memory at frame base + offset (DW_OP_fbreg). */
  | { readonly kind: 'frame-base'; readonly offset: number }
  /** In memory at CFA + offset (DW_OP_call_frame_cfa [+ offset]). */
  | { readonly kind: 'cfa'; readonly offset: number }
  /** In memory at register + offset (DW_OP_bregN / DW_OP_bregx). */
  | {
      readonly kind: 'register-relative';
      readonly reg: number;
      readonly name: string;
      readonly offset: number;
    }
  /** In memory at a static address (DW_OP_addr). */
  | { readonly kind: 'address'; readonly address: number }
  /** Not in memory: the bytes are given (DW_OP_implicit_value, or a constant DW_OP_stack_value). */
  | { readonly kind: 'implicit-value'; readonly bytes: Uint8Array }
  /** Not in memory: computed from the expression (DW_OP_stack_value). */
  | { readonly kind: 'stack-value'; readonly text: string }
  /** Optimized out: no location. */
  | { readonly kind: 'empty' }
  /** Anything else: needs the evaluator. */
  | { readonly kind: 'computed'; readonly text: string };

/** One piece of a location: its kind, its size in bytes (undefined: the whole value) and its text. */
export type LocationPiece = LocationKind & {
  readonly size?: number;
  /** Bit offset within the location (DW_OP_bit_piece), when not 0. */
  readonly bitOffset?: number;
  /** Size in bits, when the piece is not a whole number of bytes. */
  readonly bitSize?: number;
  readonly text: string;
};

const isPiece = (op: number): boolean => op === OP.piece || op === OP.bitPiece;

/** Splits an expression into piece segments: the instructions before each DW_OP_piece. */
export function pieceSegments(
  ins: readonly ExprInstruction[],
): { body: ExprInstruction[]; piece?: ExprInstruction }[] {
  const out: { body: ExprInstruction[]; piece?: ExprInstruction }[] = [];
  let body: ExprInstruction[] = [];
  for (const i of ins) {
    if (isPiece(i.op)) {
      out.push({ body, piece: i });
      body = [];
    } else body.push(i);
  }
  if (body.length > 0 || out.length === 0) out.push({ body });
  return out;
}

/** Classifies the instructions of one piece. */
function classify(body: readonly ExprInstruction[], opts: DisassembleOptions): LocationKind {
  const regs = opts.registers ?? AMD64_REGISTERS;
  const text = renderInstructions(body, opts);
  const ops = body.filter((i) => i.op !== OP.nop);
  const [first, second, third] = ops;
  if (!first) return { kind: 'empty' };
  const n = (v: bigint): number => Number(v);
  const regOf = (op: number, a: bigint): number => (op === OP.regx ? n(a) : op - OP.reg0);
  if (ops.length === 1) {
    if ((first.op >= OP.reg0 && first.op < OP.breg0) || first.op === OP.regx) {
      const reg = regOf(first.op, first.a);
      return { kind: 'register', reg, name: regs.name(reg) };
    }
    if (first.op === OP.fbreg) return { kind: 'frame-base', offset: n(first.a) };
    if (first.op === OP.callFrameCfa) return { kind: 'cfa', offset: 0 };
    if (first.op >= OP.breg0 && first.op < OP.regx) {
      const reg = first.op - OP.breg0;
      return { kind: 'register-relative', reg, name: regs.name(reg), offset: n(first.a) };
    }
    if (first.op === OP.bregx)
      return { kind: 'register-relative', reg: n(first.a), name: regs.name(n(first.a)), offset: n(first.b) };
    if (first.op === OP.addr) return { kind: 'address', address: n(first.a) };
    if (first.op === OP.implicitValue) return { kind: 'implicit-value', bytes: first.block! };
  }
  if (first.op === OP.callFrameCfa && ops.length === 2 && second!.op === OP.plusUconst)
    return { kind: 'cfa', offset: n(second!.a) };
  if (first.op === OP.callFrameCfa && ops.length === 3 && isConst(second!) && third!.op === OP.plus)
    return { kind: 'cfa', offset: n(BigInt.asIntN(64, constValue(second!))) };
  const last = ops[ops.length - 1]!;
  if (last.op === OP.stackValue) {
    if (ops.length === 2 && isConst(first)) return { kind: 'implicit-value', bytes: le64(constValue(first)) };
    return { kind: 'stack-value', text };
  }
  return { kind: 'computed', text };
}

/** Whether an instruction pushes a constant (DW_OP_lit*, DW_OP_const*). */
function isConst(i: ExprInstruction): boolean {
  return (i.op >= OP.lit0 && i.op < OP.reg0) || (i.op >= 0x08 && i.op <= OP.consts);
}
function constValue(i: ExprInstruction): bigint {
  return i.op >= OP.lit0 ? BigInt(i.op - OP.lit0) : i.a;
}
function le64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return out;
}

/**
 * Describes each piece of a location expression statically. An empty expression is one
 * 'empty' piece (optimized out); a FormatError for malformed bytes.
 */
export function describeLocation(
  expr: Uint8Array,
  fmt: number | (ExprFormat & DisassembleOptions) = {},
): LocationPiece[] {
  const opts = typeof fmt === 'number' ? { addrSize: fmt } : fmt;
  const ins = decodeExpression(expr, opts);
  const segments = pieceSegments(ins);
  return segments.map(({ body, piece }) => {
    const kind = classify(body, opts);
    const text = renderInstructions(piece ? [...body, piece] : body, opts);
    if (!piece) return { ...kind, text };
    if (piece.op === OP.piece) return { ...kind, size: Number(piece.a), text };
    const bits = Number(piece.a);
    const bitOffset = Number(piece.b);
    return {
      ...kind,
      ...(bits % 8 === 0 ? { size: bits / 8 } : { bitSize: bits }),
      ...(bitOffset !== 0 ? { bitOffset } : {}),
      text,
    };
  });
}
