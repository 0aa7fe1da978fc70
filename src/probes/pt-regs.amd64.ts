/**
 * struct pt_regs on x86-64 (arch/x86/include/asm/ptrace.h): what a uprobe program gets in
 * r1, the user registers at the probed instruction. Go's register ABI passes integer
 * arguments in ax, bx, cx, di, si, r8–r11 and keeps the current goroutine (g) in r14.
 */

/** Byte offset of each register in pt_regs. */
export const PT_REGS = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  bp: 32,
  bx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  ax: 80,
  cx: 88,
  dx: 96,
  si: 104,
  di: 112,
  ip: 128,
  flags: 144,
  sp: 152,
} as const;

/** A register name of pt_regs. */
export type PtReg = keyof typeof PT_REGS;

/** Go's integer argument registers, in argument order (ABIInternal on amd64). */
export const GO_INT_ARGS: readonly PtReg[] = ['ax', 'bx', 'cx', 'di', 'si', 'r8', 'r9', 'r10', 'r11'];

/** The register holding the current g in Go code (ABIInternal on amd64). */
export const GO_G_REG: PtReg = 'r14';
