/**
 * amd64 (x86-64 System V psABI) DWARF register numbering: names, and the mapping to Linux
 * `struct user_regs_struct` fields (ptrace) and to tracefs uprobe fetch-arg names.
 */

/** What the layers above need to know about an architecture's DWARF registers. */
export interface DwarfRegisterSet {
  readonly arch: string;
  /** Name of a DWARF register number, e.g. 0 -> "rax"; unknown numbers get "r<n>". */
  name(reg: number): string;
  /** DWARF number of a register name, or undefined. */
  number(name: string): number | undefined;
  readonly pc: number;
  readonly sp: number;
  readonly fp: number;
  /** Size in bytes of a general-purpose register. */
  readonly wordSize: number;
}

const NAMES: readonly (string | undefined)[] = [
  'rax',
  'rdx',
  'rcx',
  'rbx',
  'rsi',
  'rdi',
  'rbp',
  'rsp',
  ...Array.from({ length: 8 }, (_, i) => `r${i + 8}`),
  'rip',
  ...Array.from({ length: 16 }, (_, i) => `xmm${i}`),
  ...Array.from({ length: 8 }, (_, i) => `st${i}`),
  ...Array.from({ length: 8 }, (_, i) => `mm${i}`),
  'rflags',
  'es',
  'cs',
  'ss',
  'ds',
  'fs',
  'gs',
  undefined,
  undefined,
  'fs.base',
  'gs.base',
  undefined,
  undefined,
  'tr',
  'ldtr',
  'mxcsr',
  'fcw',
  'fsw',
  ...Array.from({ length: 16 }, (_, i) => `xmm${i + 16}`),
];

const BY_NAME = new Map<string, number>();
NAMES.forEach((n, i) => {
  if (n) BY_NAME.set(n, i);
});

/** DWARF register numbers of the amd64 registers the rest of the code names. */
export const AMD64_REG = {
  rax: 0,
  rdx: 1,
  rcx: 2,
  rbx: 3,
  rsi: 4,
  rdi: 5,
  rbp: 6,
  rsp: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
  rip: 16,
  xmm0: 17,
  rflags: 49,
  fsBase: 58,
  gsBase: 59,
} as const;

/** The amd64 DWARF register set. */
export const AMD64_REGISTERS: DwarfRegisterSet = {
  arch: 'amd64',
  name: (reg) => NAMES[reg] ?? `r${reg}`,
  number: (name) => BY_NAME.get(name),
  pc: AMD64_REG.rip,
  sp: AMD64_REG.rsp,
  fp: AMD64_REG.rbp,
  wordSize: 8,
};

const TRACEFS: Record<number, string> = {
  0: '%ax',
  1: '%dx',
  2: '%cx',
  3: '%bx',
  4: '%si',
  5: '%di',
  6: '%bp',
  7: '%sp',
  16: '%ip',
};

/** The tracefs uprobe fetch-arg name of a DWARF register (e.g. 0 -> "%ax", 14 -> "%r14"). */
export function amd64TracefsRegister(reg: number): string | undefined {
  if (reg >= 8 && reg <= 15) return `%r${reg}`;
  return TRACEFS[reg];
}
