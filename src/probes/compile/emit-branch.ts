/**
 * The gate of a return site moved onto a conditional jump (sites/return-sites.ts): the probe
 * fires whichever way the Jcc goes, and only one way leads to the RET it stands for. The
 * saved flags in pt_regs say which: the Jcc's condition (its opcode's low 4 bits, x86's
 * condition codes) is evaluated on them, and the program ends at once, recording nothing,
 * when the jump goes the other way.
 */
import { R0, R1, R2 } from '../bpf/isa.js';
import { PT_REGS } from '../pt-regs.amd64.js';
import { CTX, type Emitter } from './emitter.js';

/** EFLAGS bits. */
const CF = 0;
const PF = 2;
const ZF = 6;
const SF = 7;
const OF = 11;

/** Emits: unless the Jcc with condition code `cc` goes the `taken` way on the saved flags, exit 0. */
export function emitBranchGate(e: Emitter, branch: { readonly cc: number; readonly taken: boolean }): void {
  const a = e.a;
  const bit = (dst: typeof R1, n: number) => a.mov64(dst, R0).alu64('rsh', dst, n);
  a.ldx('dw', R0, CTX, PT_REGS.flags);
  // R1's low bit: the condition of the even code (the odd one is its negation).
  switch (branch.cc >> 1) {
    case 0: // O
      bit(R1, OF);
      break;
    case 1: // B (CF)
      bit(R1, CF);
      break;
    case 2: // E (ZF)
      bit(R1, ZF);
      break;
    case 3: // BE (CF or ZF)
      bit(R1, CF);
      bit(R2, ZF);
      a.alu64('or', R1, R2);
      break;
    case 4: // S
      bit(R1, SF);
      break;
    case 5: // P
      bit(R1, PF);
      break;
    case 6: // L (SF != OF)
      bit(R1, SF);
      bit(R2, OF);
      a.alu64('xor', R1, R2);
      break;
    default: // LE (ZF or SF != OF)
      bit(R1, SF);
      bit(R2, OF);
      a.alu64('xor', R1, R2);
      bit(R2, ZF);
      a.alu64('or', R1, R2);
  }
  a.alu64('and', R1, 1);
  const taken = (branch.cc & 1) === 0 ? branch.taken : !branch.taken;
  const go = e.label('branch');
  a.jmp('jeq', R1, taken ? 1 : 0, go);
  a.mov64(R0, 0).exit();
  a.label(go);
}
