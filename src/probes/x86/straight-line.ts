/**
 * What a few straight-line instructions before a RET do to the registers, in terms of the
 * registers at the first of them: so that a return probe placed earlier (on an instruction
 * the kernel emulates, where the RET is single-stepped) reads each result where it will be
 * at the RET. Only the instructions Go puts in its return paths are understood — NOPs,
 * register moves and loads from a register + displacement, zeroing XORs, immediate moves,
 * `ADDQ/SUBQ $n, SP`, `POPQ BP` — and a path that stores to memory or does anything else is
 * not understood (undefined): its RET stays the site.
 */
import type { PtReg } from '../pt-regs.amd64.js';
import type { Instruction } from './decode.js';

/** A register's value at the end, from the state at the start. */
export type RegValue =
  /** The value register `reg` had at the start, plus `add`. */
  | { readonly kind: 'reg'; readonly reg: PtReg; readonly add: number }
  /** The 8 bytes at (register `base` at the start) + `offset`, read on the way (nothing is stored). */
  | { readonly kind: 'load'; readonly base: PtReg; readonly offset: number }
  | { readonly kind: 'const'; readonly value: bigint };

/** One instruction and its bytes. */
export interface CodeBytes {
  readonly insn: Instruction;
  readonly bytes: Uint8Array;
}

/** x86 register numbers (ModRM/REX order) to pt_regs names. */
const REGS: readonly PtReg[] = [
  'ax',
  'cx',
  'dx',
  'bx',
  'sp',
  'bp',
  'si',
  'di',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
];

/** The registers at the end of `code` (which must not hold its RET), or undefined when an instruction is not understood. */
export function runStraightLine(code: readonly CodeBytes[]): Map<PtReg, RegValue> | undefined {
  const state = new Map<PtReg, RegValue | undefined>(REGS.map((r) => [r, { kind: 'reg', reg: r, add: 0 }]));
  for (const c of code) if (!step(state, c)) return undefined;
  const out = new Map<PtReg, RegValue>();
  for (const [r, v] of state) if (v) out.set(r, v);
  return out;
}

function step(state: Map<PtReg, RegValue | undefined>, { insn, bytes }: CodeBytes): boolean {
  if (insn.encoding !== 'legacy' || insn.prefixes & ~1) return false; // 0x66 only (NOPW)
  const w = (insn.rex & 8) !== 0;
  const rexR = (insn.rex & 4) << 1;
  const rexB = (insn.rex & 1) << 3;
  const mod = insn.modrm >> 6;
  const reg = insn.modrm >= 0 ? REGS[((insn.modrm >> 3) & 7) | rexR]! : undefined;
  const rm = insn.modrm >= 0 ? REGS[(insn.modrm & 7) | rexB]! : undefined;
  const imm = (signed: boolean): bigint => {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + insn.immOffset, insn.immSize);
    if (insn.immSize === 1) return BigInt(signed ? dv.getInt8(0) : dv.getUint8(0));
    if (insn.immSize === 4) return BigInt(signed ? dv.getInt32(0, true) : dv.getUint32(0, true));
    return dv.getBigUint64(0, true);
  };
  const nop = (insn.map === 0 && insn.opcode === 0x90) || (insn.map === 1 && insn.opcode === 0x1f);
  if (insn.prefixes !== 0 && !nop) return false; // 0x66 pads NOPs only
  if (insn.map === 1) return insn.opcode === 0x1f && ((insn.modrm >> 3) & 7) === 0; // NOPL
  if (insn.map !== 0) return false;
  const op = insn.opcode;
  if (op === 0x90) return !rexB; // NOP (with REX.B it is XCHG r8, rax)
  if (op === 0x8b && w && reg) {
    // MOVQ r/m, reg
    if (mod === 3) state.set(reg, state.get(rm!));
    else {
      const at = memoryOperand(insn, bytes, rexB, state);
      if (!at) return false;
      state.set(reg, at);
    }
    return true;
  }
  if (op === 0x89 && w && mod === 3) {
    state.set(rm!, state.get(reg!)); // MOVQ reg, reg
    return true;
  }
  if ((op === 0x31 || op === 0x33) && mod === 3 && reg === rm) {
    state.set(reg!, { kind: 'const', value: 0n }); // XORL r, r
    return true;
  }
  if (op >= 0xb8 && op <= 0xbf) {
    state.set(REGS[(op - 0xb8) | rexB]!, { kind: 'const', value: imm(false) }); // MOVL/MOVQ $imm, r
    return true;
  }
  if (op === 0xc7 && w && mod === 3 && ((insn.modrm >> 3) & 7) === 0) {
    state.set(rm!, { kind: 'const', value: BigInt.asUintN(64, imm(true)) }); // MOVQ $simm32, r
    return true;
  }
  if ((op === 0x83 || op === 0x81) && w && mod === 3 && rm === 'sp') {
    const sub = (insn.modrm >> 3) & 7;
    const sp = state.get('sp');
    if ((sub !== 0 && sub !== 5) || sp?.kind !== 'reg') return false;
    const n = Number(imm(true));
    state.set('sp', { ...sp, add: sp.add + (sub === 0 ? n : -n) }); // ADDQ/SUBQ $n, SP
    return true;
  }
  if (op >= 0x58 && op <= 0x5f && insn.length === 1 + (insn.rex ? 1 : 0)) {
    const sp = state.get('sp');
    if (sp?.kind !== 'reg') return false;
    state.set(REGS[(op - 0x58) | rexB]!, { kind: 'load', base: sp.reg, offset: sp.add }); // POPQ r
    state.set('sp', { ...sp, add: sp.add + 8 });
    return true;
  }
  return false;
}

/** A `disp(base)` operand read from a register whose start value is known, as a load; undefined otherwise. */
function memoryOperand(
  insn: Instruction,
  bytes: Uint8Array,
  rexB: number,
  state: Map<PtReg, RegValue | undefined>,
): RegValue | undefined {
  const mod = insn.modrm >> 6;
  let base = insn.modrm & 7;
  if (insn.ripRelative) return undefined;
  if (base === 4) {
    // SIB: only a plain base (index 100 = none, scale ignored then).
    const sib = bytes[2 + (insn.rex ? 1 : 0)]!;
    if (((sib >> 3) & 7) !== 4 || (insn.rex & 2) !== 0) return undefined;
    base = sib & 7;
    if (base === 5 && mod === 0) return undefined;
  }
  const b = state.get(REGS[base | rexB]!);
  if (b?.kind !== 'reg') return undefined;
  let disp = 0;
  if (insn.dispOffset >= 0) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + insn.dispOffset, insn.dispSize);
    disp = insn.dispSize === 1 ? dv.getInt8(0) : dv.getInt32(0, true);
  }
  return { kind: 'load', base: b.reg, offset: b.add + disp };
}
