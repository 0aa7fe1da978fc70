/**
 * DWARF expression opcodes: decoding an expression's bytes into instructions (operands as
 * exact 64-bit bigints) and rendering them as text in readelf's notation
 * ("DW_OP_fbreg: -24; DW_OP_piece: 8", "DW_OP_reg0 (rax)").
 */
import { FormatError } from '../common/errors.js';
import { AMD64_REGISTERS, type DwarfRegisterSet } from './regs.amd64.js';

/** One decoded instruction. Operands are bigints (constants may use all 64 bits). */
export interface ExprInstruction {
  /** Byte offset within the expression. */
  readonly offset: number;
  /** Byte offset of the next instruction. */
  readonly next: number;
  readonly op: number;
  readonly a: bigint;
  readonly b: bigint;
  /** Block operand (implicit_value, entry_value, const_type). */
  readonly block?: Uint8Array;
}

/** Section name used in FormatErrors about expressions. */
export const EXPR_SECTION = 'DWARF expression';

/** Opcode values used by the evaluator and describer. */
export const OP = {
  addr: 0x03,
  deref: 0x06,
  constu: 0x10,
  consts: 0x11,
  plus: 0x22,
  plusUconst: 0x23,
  bra: 0x28,
  skip: 0x2f,
  lit0: 0x30,
  reg0: 0x50,
  breg0: 0x70,
  regx: 0x90,
  fbreg: 0x91,
  bregx: 0x92,
  piece: 0x93,
  derefSize: 0x94,
  nop: 0x96,
  callFrameCfa: 0x9c,
  bitPiece: 0x9d,
  implicitValue: 0x9e,
  stackValue: 0x9f,
  addrx: 0xa1,
  constx: 0xa2,
  entryValue: 0xa3,
  gnuEntryValue: 0xf3,
  gnuAddrIndex: 0xfb,
  gnuConstIndex: 0xfc,
} as const;

// Operand encodings: u1/s1/u2/s2/u4/s4/u8/s8 fixed, U/S LEB128, A address, B uleb-sized block,
// R reference (4 bytes in 32-bit DWARF), Z const_type (uleb, u1-sized block).
type Operands = '' | 'u1' | 's1' | 'u2' | 's2' | 'u4' | 's4' | 'u8' | 's8' | 'U' | 'S' | 'A' | 'UU' | 'US';
interface OpInfo {
  readonly name: string;
  readonly operands: Operands | 'UB' | 'B' | 'RS' | 'R' | 'UZ' | 'u1U';
}

const TABLE = new Map<number, OpInfo>();
const def = (op: number, name: string, operands: OpInfo['operands'] = ''): void => {
  TABLE.set(op, { name: `DW_OP_${name}`, operands });
};
def(0x03, 'addr', 'A');
def(0x06, 'deref');
[
  ['const1u', 'u1'],
  ['const1s', 's1'],
  ['const2u', 'u2'],
  ['const2s', 's2'],
  ['const4u', 'u4'],
  ['const4s', 's4'],
  ['const8u', 'u8'],
  ['const8s', 's8'],
  ['constu', 'U'],
  ['consts', 'S'],
].forEach(([n, o], i) => {
  def(0x08 + i, n!, o as Operands);
});
'dup drop over'.split(' ').forEach((n, i) => {
  def(0x12 + i, n);
});
def(0x15, 'pick', 'u1');
'swap rot xderef abs and div minus mod mul neg not or plus'.split(' ').forEach((n, i) => {
  def(0x16 + i, n);
});
def(0x23, 'plus_uconst', 'U');
'shl shr shra xor'.split(' ').forEach((n, i) => {
  def(0x24 + i, n);
});
def(0x28, 'bra', 's2');
'eq ge gt le lt ne'.split(' ').forEach((n, i) => {
  def(0x29 + i, n);
});
def(0x2f, 'skip', 's2');
for (let i = 0; i < 32; i++) {
  def(0x30 + i, `lit${i}`);
  def(0x50 + i, `reg${i}`);
  def(0x70 + i, `breg${i}`, 'S');
}
def(0x90, 'regx', 'U');
def(0x91, 'fbreg', 'S');
def(0x92, 'bregx', 'US');
def(0x93, 'piece', 'U');
def(0x94, 'deref_size', 'u1');
def(0x95, 'xderef_size', 'u1');
def(0x96, 'nop');
def(0x97, 'push_object_address');
def(0x98, 'call2', 'u2');
def(0x99, 'call4', 'u4');
def(0x9a, 'call_ref', 'R');
def(0x9b, 'form_tls_address');
def(0x9c, 'call_frame_cfa');
def(0x9d, 'bit_piece', 'UU');
def(0x9e, 'implicit_value', 'B');
def(0x9f, 'stack_value');
def(0xa0, 'implicit_pointer', 'RS');
def(0xa1, 'addrx', 'U');
def(0xa2, 'constx', 'U');
def(0xa3, 'entry_value', 'B');
def(0xa4, 'const_type', 'UZ');
def(0xa5, 'regval_type', 'UU');
def(0xa6, 'deref_type', 'u1U');
def(0xa7, 'xderef_type', 'u1U');
def(0xa8, 'convert', 'U');
def(0xa9, 'reinterpret', 'U');
def(0xe0, 'GNU_push_tls_address');
def(0xf0, 'GNU_uninit');
def(0xf2, 'GNU_implicit_pointer', 'RS');
def(0xf3, 'GNU_entry_value', 'B');
def(0xf4, 'GNU_const_type', 'UZ');
def(0xf5, 'GNU_regval_type', 'UU');
def(0xf6, 'GNU_deref_type', 'u1U');
def(0xf7, 'GNU_convert', 'U');
def(0xf9, 'GNU_reinterpret', 'U');
def(0xfa, 'GNU_parameter_ref', 'u4');
def(0xfb, 'GNU_addr_index', 'U');
def(0xfc, 'GNU_const_index', 'U');
def(0xfd, 'GNU_variable_value', 'R');

/** The DW_OP_* name of an opcode, or undefined for unknown opcodes. */
export function opName(op: number): string | undefined {
  return TABLE.get(op)?.name;
}

/** Options for decoding: address size (DW_OP_addr) and offset size (DW_OP_call_ref). */
export interface ExprFormat {
  readonly addrSize?: number;
  readonly offsetSize?: 4 | 8;
}

/** A little-endian cursor over an expression that reads exact 64-bit values as bigints. */
class ExprCursor {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}
  fail(msg: string, at = this.pos): never {
    throw new FormatError(EXPR_SECTION, at, msg);
  }
  fixed(n: number, signed: boolean): bigint {
    if (this.pos + n > this.bytes.length) this.fail(`truncated: needs ${n} operand byte(s)`);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[this.pos + i]!);
    this.pos += n;
    return signed ? BigInt.asIntN(n * 8, v) : v;
  }
  leb(signed: boolean): bigint {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.bytes.length) this.fail('truncated LEB128 operand');
      const byte = this.bytes[this.pos++]!;
      v |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if (signed && byte & 0x40) v -= 1n << shift;
        return signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
      }
      if (shift > 70n) this.fail('LEB128 operand is too long');
    }
  }
  block(n: bigint): Uint8Array {
    if (n > BigInt(this.bytes.length - this.pos)) this.fail(`block of ${n} bytes runs past the expression`);
    const out = this.bytes.subarray(this.pos, this.pos + Number(n));
    this.pos += Number(n);
    return out;
  }
}

/** Decodes an expression into instructions; a FormatError for unknown opcodes or truncation. */
export function decodeExpression(expr: Uint8Array, fmt: ExprFormat = {}): ExprInstruction[] {
  const c: ExprCursor = new ExprCursor(expr);
  const out: ExprInstruction[] = [];
  const addrSize = fmt.addrSize ?? 8;
  const offsetSize = fmt.offsetSize ?? 4;
  while (c.pos < expr.length) {
    const offset = c.pos;
    const op = expr[c.pos++]!;
    const info = TABLE.get(op);
    if (!info) c.fail(`unknown location op 0x${op.toString(16)}`, offset);
    let a = 0n;
    let b = 0n;
    let block: Uint8Array | undefined;
    switch (info.operands) {
      case '':
        break;
      case 'A':
        a = c.fixed(addrSize, false);
        break;
      case 'R':
        a = c.fixed(offsetSize, false);
        break;
      case 'RS':
        a = c.fixed(offsetSize, false);
        b = c.leb(true);
        break;
      case 'U':
        a = c.leb(false);
        break;
      case 'S':
        a = c.leb(true);
        break;
      case 'UU':
        a = c.leb(false);
        b = c.leb(false);
        break;
      case 'US':
        a = c.leb(false);
        b = c.leb(true);
        break;
      case 'B':
        a = c.leb(false);
        block = c.block(a);
        break;
      case 'UZ':
        a = c.leb(false);
        block = c.block(c.fixed(1, false));
        break;
      case 'u1U':
        a = c.fixed(1, false);
        b = c.leb(false);
        break;
      default: {
        const size = Number(info.operands[1]);
        a = c.fixed(size, info.operands[0] === 's');
      }
    }
    out.push({ offset, next: c.pos, op, a, b, ...(block ? { block } : {}) });
  }
  return out;
}

/** Options for rendering: the register set, and the unit offset added to type references. */
export interface DisassembleOptions extends ExprFormat {
  readonly registers?: DwarfRegisterSet;
  readonly cuOffset?: number;
}

const hexOf = (v: bigint): string => v.toString(16);
const blockText = (b: Uint8Array): string =>
  ` ${b.length} byte block: ${Array.from(b, (x) => `${x.toString(16)} `).join('')}`;

/** Renders one instruction in readelf's notation. */
function render(ins: ExprInstruction, opts: DisassembleOptions): string {
  const regs = opts.registers ?? AMD64_REGISTERS;
  const cu = BigInt(opts.cuOffset ?? 0);
  const name = TABLE.get(ins.op)!.name;
  const { op, a, b } = ins;
  const reg = (n: bigint) => regs.name(Number(n));
  if (op >= 0x50 && op <= 0x6f) return `${name} (${reg(BigInt(op - 0x50))})`;
  if (op >= 0x70 && op <= 0x8f) return `${name} (${reg(BigInt(op - 0x70))}): ${a}`;
  switch (op) {
    case 0x03:
      return `${name}: ${hexOf(a)}`;
    case 0x90:
      return `${name}: ${a} (${reg(a)})`;
    case 0x92:
      return `${name}: ${a} (${reg(a)}) ${b}`;
    case 0x98:
    case 0x99:
    case 0x9a:
    case 0xfa:
    case 0xfd:
      return `${name}: <0x${hexOf(a + (op === 0x9a || op === 0xfd ? 0n : cu))}>`;
    case 0x9d:
      return `${name}: size: ${a} offset: ${b} `;
    case 0x9e:
      return `${name}${blockText(ins.block!)}`;
    case 0xa0:
    case 0xf2:
      return `${name}: <0x${hexOf(a)}> ${b}`;
    case 0xa1:
    case 0xa2:
    case 0xfb:
    case 0xfc:
      return `${name} <0x${hexOf(a)}>`;
    case 0xa3:
    case 0xf3:
      return `${name}: (${disassemble(ins.block!, opts)})`;
    case 0xa4:
    case 0xf4:
      return `${name}: <0x${hexOf(a + cu)}> ${blockText(ins.block!)}`;
    case 0xa5:
    case 0xf5:
      return `${name}: ${a} (${reg(a)}) <0x${hexOf(b + cu)}>`;
    case 0xa6:
    case 0xa7:
    case 0xf6:
      return `${name}: ${a} <0x${hexOf(b + cu)}>`;
    case 0xa8:
    case 0xa9:
    case 0xf7:
    case 0xf9:
      return `${name} <0x${hexOf(a + cu)}>`;
    case 0xe0:
      return `${name} or DW_OP_HP_unknown`;
    default:
      return TABLE.get(op)!.operands === '' ? name : `${name}: ${a}`;
  }
}

/** Renders an expression as text, e.g. "DW_OP_call_frame_cfa" or "DW_OP_fbreg: -24; DW_OP_piece: 8". */
export function disassemble(expr: Uint8Array, opts: DisassembleOptions = {}): string {
  return decodeExpression(expr, opts)
    .map((i) => render(i, opts))
    .join('; ');
}

/** Renders already-decoded instructions (a slice of an expression). */
export function renderInstructions(ins: readonly ExprInstruction[], opts: DisassembleOptions = {}): string {
  return ins.map((i) => render(i, opts)).join('; ');
}
