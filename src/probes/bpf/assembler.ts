/**
 * Typed builders for eBPF programs: ALU/ALU64, JMP/JMP32 with labels resolved to offsets,
 * LD_IMM64 (constants, map fds, array map values), LDX/STX/ST, atomic add, cmpxchg and xchg, helper calls by name, EXIT.
 * `assemble()` returns the bytes the kernel loads; mistakes a builder can see (an unknown
 * label, an offset out of range, a write to r10) are errors here, not verifier puzzles.
 */
import {
  ALU,
  type AluOp,
  ATOMIC_ADD,
  ATOMIC_CMPXCHG,
  ATOMIC_XCHG,
  CLASS,
  HELPERS,
  type Helper,
  INSN_BYTES,
  JMP,
  type JmpOp,
  MODE,
  OP_CALL,
  OP_EXIT,
  OP_JA,
  PSEUDO_MAP_FD,
  PSEUDO_MAP_VALUE,
  type Reg,
  SIZE,
  type Size,
  SRC_K,
  SRC_X,
} from './isa.js';

/** Anything with a map file descriptor (a BpfMap). */
export interface HasFd {
  readonly fd: number;
}

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** A jump to resolve at assembly time. */
  label?: string;
}

const S16_MIN = -0x8000;
const S16_MAX = 0x7fff;

/** Builds one program; call the builders in order, then `assemble()`. */
export class Assembler {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();

  /** Number of 8-byte instruction slots so far (LD_IMM64 takes two). */
  get length(): number {
    return this.insns.length;
  }

  /** Marks the next instruction with `name` (jump target). */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`eBPF label '${name}' is defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  /** dst = dst OP src (64-bit); src is a register or a 32-bit signed immediate. */
  alu64(op: AluOp, dst: Reg, src: Reg | number): this {
    return this.alu(CLASS.ALU64, op, dst, src);
  }

  /** dst = (u32)(dst OP src) (32-bit, zero-extends the result). */
  alu32(op: AluOp, dst: Reg, src: Reg | number): this {
    return this.alu(CLASS.ALU, op, dst, src);
  }

  /** dst = dst s/ src or dst s% src (64-bit signed division, BPF ISA v4: offset 1); x/0 is 0, x%0 is x. */
  signed64(op: 'div' | 'mod', dst: Reg, src: Reg): this {
    writable(dst);
    return this.push({ code: CLASS.ALU64 | ALU[op] | SRC_X, dst: dst.n, src: src.n, off: 1, imm: 0 });
  }

  /** dst = src (64-bit move). */
  mov64(dst: Reg, src: Reg | number): this {
    return this.alu64('mov', dst, src);
  }

  /** dst = 64-bit constant (LD_IMM64, two slots). */
  ldImm64(dst: Reg, value: bigint): this {
    writable(dst);
    const v = BigInt.asUintN(64, value);
    this.push({ code: CLASS.LD | SIZE.dw | MODE.IMM, dst: dst.n, src: 0, off: 0, imm: lo32(v) });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: hi32(v) });
  }

  /** dst = the map (LD_IMM64 with BPF_PSEUDO_MAP_FD): the first argument of map helpers. */
  ldMap(dst: Reg, map: HasFd): this {
    writable(dst);
    this.push({ code: CLASS.LD | SIZE.dw | MODE.IMM, dst: dst.n, src: PSEUDO_MAP_FD, off: 0, imm: map.fd });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** dst = the address of byte `off` of the value of `map` (an array map with one entry; LD_IMM64 with BPF_PSEUDO_MAP_VALUE): no lookup at run time. */
  ldMapValue(dst: Reg, map: HasFd, off: number): this {
    writable(dst);
    this.push({
      code: CLASS.LD | SIZE.dw | MODE.IMM,
      dst: dst.n,
      src: PSEUDO_MAP_VALUE,
      off: 0,
      imm: map.fd,
    });
    return this.push({ code: 0, dst: 0, src: 0, off: 0, imm: off });
  }

  /** dst = *(size *)(src + off). */
  ldx(size: Size, dst: Reg, src: Reg, off: number): this {
    writable(dst);
    return this.push({
      code: CLASS.LDX | SIZE[size] | MODE.MEM,
      dst: dst.n,
      src: src.n,
      off: s16(off),
      imm: 0,
    });
  }

  /** *(size *)(dst + off) = src (register). */
  stx(size: Size, dst: Reg, off: number, src: Reg): this {
    return this.push({
      code: CLASS.STX | SIZE[size] | MODE.MEM,
      dst: dst.n,
      src: src.n,
      off: s16(off),
      imm: 0,
    });
  }

  /** *(size *)(dst + off) = imm (a 32-bit immediate, sign-extended for dw). */
  st(size: Size, dst: Reg, off: number, imm: number): this {
    return this.push({
      code: CLASS.ST | SIZE[size] | MODE.MEM,
      dst: dst.n,
      src: 0,
      off: s16(off),
      imm: s32(imm),
    });
  }

  /** Atomically *(size *)(dst + off) += src (size w or dw). */
  atomicAdd(size: 'w' | 'dw', dst: Reg, off: number, src: Reg): this {
    return this.push({
      code: CLASS.STX | SIZE[size] | MODE.ATOMIC,
      dst: dst.n,
      src: src.n,
      off: s16(off),
      imm: ATOMIC_ADD,
    });
  }

  /**
   * Atomic compare-and-exchange of the u64 at dst + off: if it equals r0, it becomes src;
   * either way r0 receives the value it had.
   */
  atomicCmpxchg(dst: Reg, off: number, src: Reg): this {
    return this.push({
      code: CLASS.STX | SIZE.dw | MODE.ATOMIC,
      dst: dst.n,
      src: src.n,
      off: s16(off),
      imm: ATOMIC_CMPXCHG,
    });
  }

  /** Atomic exchange of the u64 at dst + off with src: src receives the value it had. */
  atomicXchg(dst: Reg, off: number, src: Reg): this {
    writable(src);
    return this.push({
      code: CLASS.STX | SIZE.dw | MODE.ATOMIC,
      dst: dst.n,
      src: src.n,
      off: s16(off),
      imm: ATOMIC_XCHG,
    });
  }

  /** if (dst OP src) goto label (64-bit compare). */
  jmp(op: JmpOp, dst: Reg, src: Reg | number, label: string): this {
    return this.jump(CLASS.JMP, op, dst, src, label);
  }

  /** if ((u32)dst OP (u32)src) goto label. */
  jmp32(op: JmpOp, dst: Reg, src: Reg | number, label: string): this {
    return this.jump(CLASS.JMP32, op, dst, src, label);
  }

  /** goto label. */
  ja(label: string): this {
    return this.push({ code: CLASS.JMP | OP_JA, dst: 0, src: 0, off: 0, imm: 0, label });
  }

  /** r0 = helper(r1, …, r5); r1–r5 are clobbered. */
  call(helper: Helper): this {
    const id = HELPERS[helper];
    return this.push({ code: CLASS.JMP | OP_CALL, dst: 0, src: 0, off: 0, imm: id });
  }

  /** return r0. */
  exit(): this {
    return this.push({ code: CLASS.JMP | OP_EXIT, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** The program's bytes, labels resolved. */
  assemble(): Uint8Array {
    const out = new Uint8Array(this.insns.length * INSN_BYTES);
    const dv = new DataView(out.buffer);
    this.insns.forEach((insn, i) => {
      let off = insn.off;
      if (insn.label !== undefined) {
        const target = this.labels.get(insn.label);
        if (target === undefined) throw new Error(`eBPF jump at ${i} to undefined label '${insn.label}'`);
        off = target - (i + 1);
        if (off < S16_MIN || off > S16_MAX) throw new RangeError(`eBPF jump at ${i} is too far (${off})`);
      }
      const at = i * INSN_BYTES;
      dv.setUint8(at, insn.code);
      dv.setUint8(at + 1, (insn.dst & 0xf) | ((insn.src & 0xf) << 4));
      dv.setInt16(at + 2, off, true);
      dv.setInt32(at + 4, insn.imm, true);
    });
    return out;
  }

  private alu(cls: number, op: AluOp, dst: Reg, src: Reg | number): this {
    writable(dst);
    if (typeof src === 'number')
      return this.push({ code: cls | ALU[op] | SRC_K, dst: dst.n, src: 0, off: 0, imm: s32(src) });
    return this.push({ code: cls | ALU[op] | SRC_X, dst: dst.n, src: src.n, off: 0, imm: 0 });
  }

  private jump(cls: number, op: JmpOp, dst: Reg, src: Reg | number, label: string): this {
    if (typeof src === 'number')
      return this.push({ code: cls | JMP[op] | SRC_K, dst: dst.n, src: 0, off: 0, imm: s32(src), label });
    return this.push({ code: cls | JMP[op] | SRC_X, dst: dst.n, src: src.n, off: 0, imm: 0, label });
  }

  private push(insn: Insn): this {
    this.insns.push(insn);
    return this;
  }
}

function writable(r: Reg): void {
  if (r.n === 10) throw new Error('r10 is the read-only frame pointer');
}

function s16(n: number): number {
  if (!Number.isInteger(n) || n < S16_MIN || n > S16_MAX)
    throw new RangeError(`eBPF offset ${n} is not a 16-bit signed integer`);
  return n;
}

function s32(n: number): number {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff)
    throw new RangeError(`eBPF immediate ${n} does not fit 32 bits`);
  return n | 0;
}

function lo32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

function hi32(v: bigint): number {
  return Number(BigInt.asIntN(32, v >> 32n));
}
