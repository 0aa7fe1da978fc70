/**
 * The kernel's uprobe handling of single instructions (arch/x86/kernel/uprobes.c at 6.18):
 * which it emulates, single-steps or refuses, including the VEX and REX cases where its
 * emulation would skip an instruction that is not a branch or a NOP (Periscope refuses those).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instructionKind } from '../../src/probes/x86/classify.js';
import { decodeInstruction, type Instruction, isFailure } from '../../src/probes/x86/decode.js';
import { uprobeHandling } from '../../src/probes/x86/kernel-uprobes.js';

function decode(hexBytes: string): Instruction {
  const bytes = Buffer.from(hexBytes.replace(/\s/g, ''), 'hex');
  const r = decodeInstruction(bytes, 0);
  assert.ok(!isFailure(r), `${hexBytes}: ${isFailure(r) ? r.error : ''}`);
  assert.equal(r.length, bytes.length, `${hexBytes}: length`);
  return r;
}

const CASES: [string, string, string, string][] = [
  // bytes, what it is, kind, handling
  ['49 3b 66 10', 'CMPQ SP, 0x10(R14): the stack check', 'other', 'stepped'],
  ['0f 86 c0 00 00 00', 'JBE rel32 to morestack', 'jcc', 'emulated'],
  ['76 10', 'JBE rel8', 'jcc', 'emulated'],
  ['55', 'PUSHQ BP', 'push', 'emulated'],
  ['41 56', 'PUSHQ R14', 'push', 'emulated'],
  ['48 89 e5', 'MOVQ SP, BP', 'other', 'stepped'],
  ['48 83 ec 10', 'SUBQ $0x10, SP', 'other', 'stepped'],
  ['c3', 'RET', 'ret', 'stepped'],
  ['c2 08 00', 'RET $8', 'ret', 'stepped'],
  ['e8 00 00 00 00', 'CALL rel32', 'call', 'emulated'],
  ['ff d0', 'CALL *AX', 'call', 'stepped'],
  ['ff 25 00 10 00 00', 'JMP *rel(RIP)', 'jmp', 'stepped'],
  ['eb fe', 'JMP rel8', 'jmp', 'emulated'],
  ['e9 00 00 00 00', 'JMP rel32', 'jmp', 'emulated'],
  ['90', 'NOP', 'nop', 'emulated'],
  ['66 90', 'XCHG AX, AX (2-byte NOP)', 'nop', 'emulated'],
  ['f3 90', 'PAUSE', 'nop', 'emulated'],
  ['0f 1f 44 00 00', 'NOPL 0(AX)(AX*1)', 'nop', 'stepped'],
  ['f3 0f 1e fa', 'ENDBR64', 'nop', 'stepped'],
  ['cc', 'INT3 padding', 'int3', 'refused'],
  ['41 90', 'XCHG R8D, EAX: the kernel would skip it as a NOP', 'other', 'refused'],
  ['f0 48 0f b1 0a', 'LOCK CMPXCHGQ', 'other', 'refused'],
  ['66 e9 00 00 00 00', 'JMP with an operand-size prefix', 'jmp', 'refused'],
  ['3e ff e0', 'NOTRACK JMP *AX (DS prefix)', 'jmp', 'refused'],
  ['c5 fd 74 c1', 'VPCMPEQB (opcode 0x74 = JE for the kernel)', 'other', 'refused'],
  ['c5 f8 77', 'VZEROUPPER (opcode 0x77 = JA for the kernel)', 'other', 'refused'],
  ['c5 fe 6f 06', 'VMOVDQU (opcode 0x6f: INS/OUTS in the kernel table)', 'other', 'refused'],
  ['c5 fe 7f 07', 'VMOVDQU store (opcode 0x7f = JG for the kernel)', 'other', 'refused'],
  ['c5 fd db c1', 'VPAND (opcode 0xdb)', 'other', 'stepped'],
  ['62 f1 7e 48 6f 06', 'VMOVDQU64 zmm (EVEX, opcode 0x6f)', 'other', 'refused'],
  ['62 f1 7d 48 db c1', 'VPANDD zmm (EVEX, opcode 0xdb)', 'other', 'stepped'],
  ['48 8b 05 00 00 00 00', 'MOVQ rel(RIP), AX', 'other', 'stepped'],
  ['48 b8 8f e3 38 8e e3 38 8e e3', 'MOVQ $imm64, AX', 'other', 'stepped'],
  ['66 0f 3a 0f c1 08', 'PALIGNR $8 (0F3A)', 'other', 'stepped'],
  ['66 0f 38 00 c1', 'PSHUFB (0F38)', 'other', 'stepped'],
  ['c4 e3 7d 39 c1 01', 'VEXTRACTI128 (VEX 0F3A)', 'other', 'stepped'],
  ['f6 c1 01', 'TESTB $1, CL (group 3 imm8)', 'other', 'stepped'],
  ['f7 c1 01 00 00 00', 'TESTL $1, CX (group 3 imm32)', 'other', 'stepped'],
  ['66 f7 c1 01 00', 'TESTW $1, CX (group 3 imm16)', 'other', 'stepped'],
  ['f7 d8', 'NEGL AX (group 3, no imm)', 'other', 'stepped'],
  ['8e d0', 'MOV AX, SS', 'other', 'refused'],
  ['64 48 8b 04 25 f8 ff ff ff', 'MOVQ FS:-8, AX (TLS g)', 'other', 'stepped'],
  ['c8 10 00 00', 'ENTER $16, $0', 'other', 'stepped'],
  ['a1 00 00 00 00 00 00 00 00', 'MOVL moffs64, EAX', 'other', 'stepped'],
  ['67 a1 00 00 00 00', 'MOVL moffs32, EAX (addr32)', 'other', 'stepped'],
];

test('kinds and kernel handling of hand-encoded instructions', () => {
  for (const [bytes, what, kind, handling] of CASES) {
    const insn = decode(bytes);
    assert.equal(instructionKind(insn), kind, `${what}: kind`);
    assert.equal(uprobeHandling(insn).handling, handling, `${what}: handling`);
  }
});

test('RIP-relative operands, displacements and immediates are located', () => {
  const mov = decode('48 8b 05 78 56 34 12');
  assert.equal(mov.ripRelative, true);
  assert.deepEqual([mov.dispOffset, mov.dispSize, mov.immOffset], [3, 4, -1]);
  const cmp = decode('48 81 7c 24 08 00 10 00 00');
  assert.equal(cmp.ripRelative, false);
  assert.deepEqual([cmp.dispOffset, cmp.dispSize, cmp.immOffset, cmp.immSize], [4, 1, 5, 4]);
  // SIB with no base (mod=00, base=101) carries a 32-bit displacement.
  assert.deepEqual([decode('8b 04 8d 00 00 00 00').dispSize], [4]);
});

test('truncated and invalid bytes are reported, never read past', () => {
  for (const bytes of ['48', '0f', '0f 38', 'c4 e2', '48 8b', '48 8b 04', '48 81 c0 00', 'e8 00 00']) {
    const r = decodeInstruction(Buffer.from(bytes.replace(/\s/g, ''), 'hex'), 0);
    assert.ok(isFailure(r), `${bytes} is incomplete`);
  }
  assert.ok(isFailure(decodeInstruction(Buffer.from('c4e0000000', 'hex'), 0)), 'VEX map 0');
  const long = Buffer.alloc(20, 0x66);
  assert.ok(isFailure(decodeInstruction(long, 0)), 'more than 15 bytes of prefixes');
});
