/**
 * How the Linux kernel's x86 uprobe code (arch/x86/kernel/uprobes.c, read at 6.18) treats
 * a probe on an instruction. When the breakpoint hits, the kernel either emulates the
 * instruction in the trap handler (cheap: ~0.5–1.3 us a hit measured here), or copies it to
 * an out-of-line slot and single-steps it there (a second trap: 20–99 us a hit here), or
 * refuses to register the probe. This file mirrors those rules as facts, plus the cases
 * where the kernel's emulation would change what the program does, which Periscope refuses.
 *
 * The kernel's rules (6.18):
 * - emulated branches: JMP rel8/rel32 (eb, e9), CALL rel32 (e8), Jcc rel8 (70–7f) and
 *   rel32 (0F 80–8f), chosen by the first opcode byte after the prefixes; any 0x66 prefix on
 *   them makes the kernel refuse the probe;
 * - emulated NOP: any prefixes then opcode 0x90 (the first opcode byte, whatever REX says);
 * - emulated PUSH: 50–57 alone, or with exactly the REX byte 0x41 (PUSH r8–r15);
 * - refused: ES/CS/SS/DS segment or LOCK prefixes; MOV to SS and POP SS; the one-byte
 *   opcodes its 64-bit table leaves out (invalid in 64-bit mode, I/O, INT3/INT n/INTO/IRET,
 *   HLT, CLI/STI, far CALL/JMP); every 0F-map opcode passes (the table admits 0x0f itself);
 * - for VEX/EVEX instructions the kernel's "first opcode byte" is the byte after the VEX
 *   prefix, so the same one-byte table and the same emulation switch apply to it.
 */
import { type Instruction, PFX_66, PFX_LOCK, PFX_SEG_OLD } from './decode.js';

/** How a probe at an instruction is handled. */
export type UprobeHandling = 'emulated' | 'stepped' | 'refused';

/** The verdict on one instruction, with the reason when refused. */
export interface UprobeVerdict {
  readonly handling: UprobeHandling;
  readonly reason?: string;
}

/** One-byte opcodes the kernel's 64-bit good-instruction table leaves out. */
const REFUSED_OPCODE1 = new Set<number>([
  0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
  0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x60, 0x61, 0x62, 0x6c, 0x6d, 0x6e, 0x6f, 0x82, 0x9a,
  0xc4, 0xc5, 0xcc, 0xcd, 0xce, 0xcf, 0xd4, 0xd5, 0xd6, 0xe4, 0xe5, 0xe6, 0xe7, 0xea, 0xec, 0xed, 0xee, 0xef,
  0xf1, 0xf4, 0xfa, 0xfb,
]);

const EMULATED_BRANCH_OPCODE1 = (op: number): boolean =>
  op === 0xe8 || op === 0xe9 || op === 0xeb || (op >= 0x70 && op <= 0x7f);

const STEPPED: UprobeVerdict = { handling: 'stepped' };
const EMULATED: UprobeVerdict = { handling: 'emulated' };

/** How the kernel would handle a uprobe on this instruction (see the file comment). */
export function uprobeHandling(insn: Instruction): UprobeVerdict {
  if (insn.prefixes & (PFX_SEG_OLD | PFX_LOCK))
    return { handling: 'refused', reason: 'the kernel refuses LOCK and ES/CS/SS/DS prefixes' };
  const legacy = insn.encoding === 'legacy';
  // The byte the kernel switches on: the opcode for the one-byte map and for VEX/EVEX, 0x0f for 0F maps.
  const opcode1 = legacy && insn.map !== 0 ? 0x0f : insn.opcode;
  if (legacy && insn.map === 0 && insn.opcode === 0x8e && insn.modrm >= 0 && ((insn.modrm >> 3) & 7) === 2)
    return { handling: 'refused', reason: 'the kernel does not single-step MOV to SS' };
  if (REFUSED_OPCODE1.has(opcode1))
    return { handling: 'refused', reason: `the kernel's uprobe table refuses opcode 0x${hex2(opcode1)}` };
  if (!legacy) {
    // The kernel would take these VEX/EVEX instructions for a branch or a NOP and skip them.
    if (EMULATED_BRANCH_OPCODE1(opcode1) || opcode1 === 0x90)
      return {
        handling: 'refused',
        reason: `the kernel would emulate this ${insn.encoding.toUpperCase()} instruction as a branch or NOP instead of running it`,
      };
    return STEPPED;
  }
  const isBranch =
    (insn.map === 0 && EMULATED_BRANCH_OPCODE1(insn.opcode)) ||
    (insn.map === 1 && insn.opcode >= 0x80 && insn.opcode <= 0x8f);
  if (isBranch) {
    if (insn.prefixes & PFX_66)
      return { handling: 'refused', reason: 'the kernel refuses branches with a 0x66 prefix' };
    return EMULATED;
  }
  if (insn.map === 0 && insn.opcode === 0x90) {
    // With REX.B this is XCHG r8, rax, which the kernel would skip as a NOP.
    if (insn.rex & 1)
      return { handling: 'refused', reason: 'the kernel would skip XCHG r8, rax as if it were a NOP' };
    return EMULATED;
  }
  if (insn.map === 0 && insn.opcode >= 0x50 && insn.opcode <= 0x57) {
    if (insn.length === 1 || (insn.length === 2 && insn.rex === 0x41)) return EMULATED;
  }
  return STEPPED;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
