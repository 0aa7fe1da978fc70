/**
 * The eBPF instruction set as the kernel defines it (include/uapi/linux/bpf.h,
 * Documentation/bpf/standardization/instruction-set.rst): 8-byte instructions
 * (u8 opcode, u8 dst|src<<4, s16 offset, s32 immediate), eleven 64-bit registers, and the
 * helper functions Periscope's programs call, by name.
 */

/** A register, r0–r10 (r10 is the read-only frame pointer). */
export class Reg {
  private constructor(readonly n: number) {}
  /** The register by number (0–10). */
  static of(n: number): Reg {
    const r = REGS[n];
    if (!r) throw new RangeError(`eBPF has registers r0–r10, not r${n}`);
    return r;
  }
  /** @internal */
  static make(n: number): Reg {
    return new Reg(n);
  }
  /** Its name, e.g. "r6". */
  toString(): string {
    return `r${this.n}`;
  }
}

const REGS = Array.from({ length: 11 }, (_, i) => Reg.make(i));

/** r0: helper results and the program's return value. */
export const R0 = REGS[0]!;
/** r1–r5: helper arguments (clobbered by calls); r1 holds the context on entry. */
export const R1 = REGS[1]!;
export const R2 = REGS[2]!;
export const R3 = REGS[3]!;
export const R4 = REGS[4]!;
export const R5 = REGS[5]!;
/** r6–r9: preserved across helper calls. */
export const R6 = REGS[6]!;
export const R7 = REGS[7]!;
export const R8 = REGS[8]!;
export const R9 = REGS[9]!;
/** r10: the frame pointer (the stack is 512 bytes below it). */
export const R10 = REGS[10]!;

/** Instruction classes (low three bits of the opcode). */
export const CLASS = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Memory access sizes. */
export const SIZE = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 } as const;
/** A memory access size: 4, 2, 1 or 8 bytes. */
export type Size = keyof typeof SIZE;
/** Bytes of each access size. */
export const SIZE_BYTES: Record<Size, number> = { w: 4, h: 2, b: 1, dw: 8 };

/** Memory modes. */
export const MODE = { IMM: 0x00, MEM: 0x60, ATOMIC: 0xc0 } as const;

/** Operand source: immediate (K) or register (X). */
export const SRC_K = 0x00;
export const SRC_X = 0x08;

/** ALU operations. */
export const ALU = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  neg: 0x80,
  mod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
} as const;
/** An ALU operation name. */
export type AluOp = keyof typeof ALU;

/** Conditional jumps (JA, CALL and EXIT are separate builders). */
export const JMP = {
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
} as const;
/** A conditional jump name. */
export type JmpOp = keyof typeof JMP;

export const OP_JA = 0x00;
export const OP_CALL = 0x80;
export const OP_EXIT = 0x90;

/** LD_IMM64 source values: a plain 64-bit constant, or a map by fd. */
export const PSEUDO_MAP_FD = 1;
/** LD_IMM64 source value: the address of a map's value (array maps; fd in the first immediate, offset in the second). */
export const PSEUDO_MAP_VALUE = 2;

/** Atomic operation codes (in the immediate of an ATOMIC store). */
export const ATOMIC_ADD = 0x00;
/** Compare and exchange: if *(dst + off) == r0 then *(dst + off) = src; r0 = the old value. */
export const ATOMIC_CMPXCHG = 0xf1;
/** Exchange: src = the old value of *(dst + off), which becomes src's value (a full barrier on x86). */
export const ATOMIC_XCHG = 0xe1;

/** Helper functions by name (enum bpf_func_id). */
export const HELPERS = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  ktime_get_ns: 5,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  jiffies64: 118,
  probe_read_user: 112,
  probe_read_user_str: 114,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  get_func_ip: 173,
  get_attach_cookie: 174,
} as const;
/** A helper's name. */
export type Helper = keyof typeof HELPERS;

/** The helper name of an id, for the disassembler. */
export function helperName(id: number): string | undefined {
  for (const [name, n] of Object.entries(HELPERS)) if (n === id) return name;
  return undefined;
}

/** Bytes per instruction. */
export const INSN_BYTES = 8;
