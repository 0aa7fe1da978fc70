/**
 * What a decoded instruction is, for choosing probe sites: returns, calls, jumps,
 * conditional branches, pushes, NOPs and the INT3 padding between functions.
 */
import { type Instruction, PFX_F3 } from './decode.js';

/** The kinds of instruction site selection cares about; everything else is 'other'. */
export type InstructionKind = 'ret' | 'call' | 'jmp' | 'jcc' | 'push' | 'nop' | 'int3' | 'other';

/** Names a decoded instruction's kind. */
export function instructionKind(insn: Instruction): InstructionKind {
  const op = insn.opcode;
  if (insn.encoding !== 'legacy') return 'other';
  if (insn.map === 0) {
    if (op === 0xc3 || op === 0xc2 || op === 0xcb || op === 0xca) return 'ret';
    if (op === 0xe8 || op === 0x9a) return 'call';
    if (op === 0xe9 || op === 0xeb || op === 0xea) return 'jmp';
    // JRCXZ and LOOP* (e0–e3) branch on a condition too.
    if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) return 'jcc';
    if ((op >= 0x50 && op <= 0x57) || op === 0x68 || op === 0x6a) return 'push';
    if (op === 0x90) {
      // 0x90 with REX.B is XCHG r8, rax; F3 90 is PAUSE (a hint, no effect on state).
      return insn.rex & 1 ? 'other' : 'nop';
    }
    if (op === 0xcc) return 'int3';
    if (op === 0xff && insn.modrm >= 0) {
      const reg = (insn.modrm >> 3) & 7;
      if (reg === 2 || reg === 3) return 'call';
      if (reg === 4 || reg === 5) return 'jmp';
      if (reg === 6) return 'push';
    }
    return 'other';
  }
  if (insn.map === 1) {
    if (op >= 0x80 && op <= 0x8f) return 'jcc';
    if (op === 0xa0 || op === 0xa8) return 'push';
    // 0F 1F /0 is the multi-byte NOP; ENDBR64 (F3 0F 1E FA) is a NOP too on CPUs without CET.
    if (op === 0x1f && insn.modrm >= 0 && ((insn.modrm >> 3) & 7) === 0) return 'nop';
    if (op === 0x1e && insn.prefixes & PFX_F3 && insn.modrm === 0xfa) return 'nop';
  }
  return 'other';
}

/** Whether the instruction is a near RET (the returns site selection probes). */
export function isReturn(insn: Instruction): boolean {
  return insn.encoding === 'legacy' && insn.map === 0 && (insn.opcode === 0xc3 || insn.opcode === 0xc2);
}
