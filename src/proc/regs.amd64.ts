/**
 * amd64 Linux `struct user_regs_struct` (what PTRACE_GETREGS fills): 27 u64 fields, decoded
 * by name, plus the architecture-neutral view the layers above use (pc, sp, fp, tls).
 */
import { type Address, addr } from '../common/address.js';

/** Field names of user_regs_struct, in memory order. */
export const USER_REGS_NAMES = [
  'r15',
  'r14',
  'r13',
  'r12',
  'rbp',
  'rbx',
  'r11',
  'r10',
  'r9',
  'r8',
  'rax',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'orig_rax',
  'rip',
  'cs',
  'eflags',
  'rsp',
  'ss',
  'fs_base',
  'gs_base',
  'ds',
  'es',
  'fs',
  'gs',
] as const;

/** One field of user_regs_struct. */
export type RegName = (typeof USER_REGS_NAMES)[number];

/** Size in bytes of user_regs_struct (the PTRACE_GETREGS buffer). */
export const USER_REGS_SIZE = USER_REGS_NAMES.length * 8;

/** The architecture this file decodes (as Node's process.arch spells it). */
export const ARCH = 'x64';

/** A thread's registers: every field exact (bigint), and the usual ones as addresses. */
export interface Registers {
  /** Every user_regs_struct field by name, as unsigned 64-bit values. */
  readonly all: Readonly<Record<RegName, bigint>>;
  /** Program counter (rip). */
  readonly pc: Address;
  /** Stack pointer (rsp). */
  readonly sp: Address;
  /** Frame pointer (rbp). */
  readonly fp: Address;
  /** Thread-local storage base (fs_base). */
  readonly tls: Address;
}

/**
 * Decodes a PTRACE_GETREGS buffer into named registers. The bytes are copied; the named
 * fields (27 bigints) are made on first use of `all`, so that reading registers inside a
 * pause costs a copy and four numbers per thread.
 */
export function decodeUserRegs(bytes: Uint8Array): Registers {
  if (bytes.length < USER_REGS_SIZE) throw new RangeError(`user_regs_struct needs ${USER_REGS_SIZE} bytes`);
  const copy = Uint8Array.prototype.slice.call(bytes, 0, USER_REGS_SIZE); // a copy, also of a Buffer
  const view = new DataView(copy.buffer, copy.byteOffset, USER_REGS_SIZE);
  const num = (name: RegName) => Number(view.getBigUint64(USER_REGS_NAMES.indexOf(name) * 8, true));
  let all: Record<RegName, bigint> | undefined;
  return {
    get all() {
      if (!all) {
        const named = {} as Record<RegName, bigint>;
        USER_REGS_NAMES.forEach((name, i) => {
          named[name] = view.getBigUint64(i * 8, true);
        });
        all = named;
      }
      return all;
    },
    pc: addr(num('rip')),
    sp: addr(num('rsp')),
    fp: addr(num('rbp')),
    tls: addr(num('fs_base')),
  };
}

/**
 * The general registers at the start of the kernel's struct sigcontext (amd64 Linux ABI), in
 * memory order: what a signal frame's ucontext saved of the interrupted context.
 */
export const SIGCONTEXT_NAMES = [
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rdi',
  'rsi',
  'rbp',
  'rbx',
  'rdx',
  'rax',
  'rcx',
  'rsp',
  'rip',
  'eflags',
] as const satisfies readonly RegName[];

/** Bytes of the general registers of a struct sigcontext (SIGCONTEXT_NAMES). */
export const SIGCONTEXT_GREGS_SIZE = SIGCONTEXT_NAMES.length * 8;

/**
 * The registers of a context a signal interrupted: the general registers saved in its
 * sigcontext (`gregs`, SIGCONTEXT_GREGS_SIZE bytes), the rest (segments, fs_base) from the
 * same thread's registers `base`, which a signal does not change.
 */
export function withSigcontext(base: Registers, gregs: Uint8Array): Registers {
  if (gregs.length < SIGCONTEXT_GREGS_SIZE)
    throw new RangeError(`sigcontext needs ${SIGCONTEXT_GREGS_SIZE} bytes`);
  const out = new Uint8Array(USER_REGS_SIZE);
  const view = new DataView(out.buffer);
  const from = new DataView(gregs.buffer, gregs.byteOffset, SIGCONTEXT_GREGS_SIZE);
  USER_REGS_NAMES.forEach((name, i) => {
    const k = (SIGCONTEXT_NAMES as readonly RegName[]).indexOf(name);
    view.setBigUint64(i * 8, k >= 0 ? from.getBigUint64(k * 8, true) : base.all[name], true);
  });
  return decodeUserRegs(out);
}

/** DWARF register number (amd64 psABI numbering) -> the user_regs_struct field holding it. */
const FIELD_OF_DWARF_REG: Record<number, RegName> = {
  0: 'rax',
  1: 'rdx',
  2: 'rcx',
  3: 'rbx',
  4: 'rsi',
  5: 'rdi',
  6: 'rbp',
  7: 'rsp',
  8: 'r8',
  9: 'r9',
  10: 'r10',
  11: 'r11',
  12: 'r12',
  13: 'r13',
  14: 'r14',
  15: 'r15',
  16: 'rip',
  49: 'eflags',
  50: 'es',
  51: 'cs',
  52: 'ss',
  53: 'ds',
  54: 'fs',
  55: 'gs',
  58: 'fs_base',
  59: 'gs_base',
};

/** The value of a DWARF-numbered register in a thread's registers, or undefined (e.g. xmm registers). */
export function dwarfRegisterValue(regs: Registers, reg: number): bigint | undefined {
  const field = FIELD_OF_DWARF_REG[reg];
  return field === undefined ? undefined : regs.all[field];
}
