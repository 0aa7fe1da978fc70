/**
 * eBPF bytes to text in the syntax of the kernel verifier's log ("r1 = *(u64 *)(r6 +80)",
 * "if r0 == 0x0 goto pc+5", "call bpf_ringbuf_reserve#131"), for tests and error messages.
 */
import {
  ALU,
  ATOMIC_CMPXCHG,
  ATOMIC_XCHG,
  CLASS,
  helperName,
  INSN_BYTES,
  JMP,
  MODE,
  OP_CALL,
  OP_EXIT,
  OP_JA,
  PSEUDO_MAP_FD,
  PSEUDO_MAP_VALUE,
  SIZE,
} from './isa.js';

const ALU_SYMBOL: Record<number, string> = {
  [ALU.add]: '+=',
  [ALU.sub]: '-=',
  [ALU.mul]: '*=',
  [ALU.div]: '/=',
  [ALU.or]: '|=',
  [ALU.and]: '&=',
  [ALU.lsh]: '<<=',
  [ALU.rsh]: '>>=',
  [ALU.mod]: '%=',
  [ALU.xor]: '^=',
  [ALU.mov]: '=',
  [ALU.arsh]: 's>>=',
};

const JMP_SYMBOL: Record<number, string> = {
  [JMP.jeq]: '==',
  [JMP.jgt]: '>',
  [JMP.jge]: '>=',
  [JMP.jset]: '&',
  [JMP.jne]: '!=',
  [JMP.jsgt]: 's>',
  [JMP.jsge]: 's>=',
  [JMP.jlt]: '<',
  [JMP.jle]: '<=',
  [JMP.jslt]: 's<',
  [JMP.jsle]: 's<=',
};

const SIZE_NAME: Record<number, string> = {
  [SIZE.w]: 'u32',
  [SIZE.h]: 'u16',
  [SIZE.b]: 'u8',
  [SIZE.dw]: 'u64',
};

/** One line per instruction slot, numbered ("3: r1 = r6"). */
export function disassemble(prog: Uint8Array): string[] {
  const dv = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const out: string[] = [];
  const n = Math.floor(prog.length / INSN_BYTES);
  for (let i = 0; i < n; i++) {
    const at = i * INSN_BYTES;
    const code = dv.getUint8(at);
    const regs = dv.getUint8(at + 1);
    const dst = `r${regs & 0xf}`;
    const src = `r${regs >> 4}`;
    const off = dv.getInt16(at + 2, true);
    const imm = dv.getInt32(at + 4, true);
    const cls = code & 7;
    const x = (code & 0x08) !== 0;
    let text: string;
    if (cls === CLASS.ALU64 || cls === CLASS.ALU) {
      const op = code & 0xf0;
      const w = cls === CLASS.ALU ? 'w' : 'r';
      const d = `${w}${regs & 0xf}`;
      if (op === ALU.neg) text = `${d} = -${d}`;
      else if (off === 1 && (op === ALU.div || op === ALU.mod))
        text = `${d} s${op === ALU.div ? '/' : '%'}= ${x ? `${w}${regs >> 4}` : imm}`;
      else text = `${d} ${ALU_SYMBOL[op] ?? `alu?${op}`} ${x ? `${w}${regs >> 4}` : imm}`;
    } else if (cls === CLASS.JMP || cls === CLASS.JMP32) {
      const op = code & 0xf0;
      const w = cls === CLASS.JMP32 ? 'w' : 'r';
      if (op === OP_EXIT) text = 'exit';
      else if (op === OP_CALL) text = `call bpf_${helperName(imm) ?? 'unknown'}#${imm}`;
      else if (op === OP_JA) text = `goto pc${sign(off)}`;
      else
        text = `if ${w}${regs & 0xf} ${JMP_SYMBOL[op] ?? `jmp?${op}`} ${x ? `${w}${regs >> 4}` : `0x${(imm >>> 0).toString(16)}`} goto pc${sign(off)}`;
    } else if (cls === CLASS.LDX) text = `${dst} = *(${SIZE_NAME[code & 0x18]} *)(${src} ${sign(off)})`;
    else if (cls === CLASS.STX && (code & 0xe0) === MODE.ATOMIC && imm === ATOMIC_CMPXCHG)
      text = `r0 = cmpxchg_64(${dst} ${sign(off)}, r0, ${src})`;
    else if (cls === CLASS.STX && (code & 0xe0) === MODE.ATOMIC && imm === ATOMIC_XCHG)
      text = `${src} = xchg_64(${dst} ${sign(off)}, ${src})`;
    else if (cls === CLASS.STX && (code & 0xe0) === MODE.ATOMIC)
      text = `lock *(${SIZE_NAME[code & 0x18]} *)(${dst} ${sign(off)}) += ${src}`;
    else if (cls === CLASS.STX) text = `*(${SIZE_NAME[code & 0x18]} *)(${dst} ${sign(off)}) = ${src}`;
    else if (cls === CLASS.ST) text = `*(${SIZE_NAME[code & 0x18]} *)(${dst} ${sign(off)}) = ${imm}`;
    else if (code === (CLASS.LD | SIZE.dw | MODE.IMM) && i + 1 < n) {
      const hi = dv.getInt32(at + 12, true);
      if (regs >> 4 === PSEUDO_MAP_FD) text = `${dst} = map[fd:${imm}] ll`;
      else if (regs >> 4 === PSEUDO_MAP_VALUE) text = `${dst} = map[fd:${imm}][0]+${hi} ll`;
      else {
        const v = (BigInt(hi >>> 0) << 32n) | BigInt(imm >>> 0);
        text = `${dst} = 0x${v.toString(16)} ll`;
      }
      out.push(`${i}: ${text}`);
      i++;
      continue;
    } else text = `(unknown opcode 0x${code.toString(16)})`;
    out.push(`${i}: ${text}`);
  }
  return out;
}

function sign(n: number): string {
  return n < 0 ? `${n}` : `+${n}`;
}
