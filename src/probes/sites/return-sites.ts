/**
 * Return sites on instructions the kernel emulates. A probe on a RET is single-stepped
 * (~36x the cost of an emulated hit here: docs/performance.md), and Go's epilogue before it
 * (`ADDQ $n, SP; POPQ BP`) is single-stepped too. So for each RET, the straight-line code
 * that leads only to it (no store, nothing but moves, loads, zeroing, SP and BP restores) is
 * followed back to where every path into it passes an emulated instruction:
 * - a NOP in it (Go leaves them where inlined calls were): one site, every path passes it;
 * - else the branches into its first instruction: each JMP there, each Jcc there (fires only
 *   when taken), and the Jcc just before it (fires only when not taken) — the program checks
 *   the Jcc's condition in the saved flags, so the other direction costs a trap but records
 *   nothing.
 * Where that fails — code falls into the RET's path from a CALL or an instruction not
 * understood, the function has an indirect jump (a jump table could enter anywhere), a Jcc
 * in a loop (it would trap every iteration), a branch that two returns would need — the RET
 * stays the site. The registers at the RET are worked out from those at the site
 * (x86/straight-line.ts), so results read there are what the RET would see.
 */
import type { LinkAddress } from '../../common/address.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import type { PtReg } from '../pt-regs.amd64.js';
import { instructionKind, isReturn } from '../x86/classify.js';
import type { PlacedInstruction } from '../x86/code.js';
import { uprobeHandling } from '../x86/kernel-uprobes.js';
import { type RegValue, runStraightLine } from '../x86/straight-line.js';
import type { FunctionCode } from './function-code.js';

/** An emulated instruction standing for one RET. */
export interface ReturnVia {
  /** The RET it stands for. */
  readonly ret: LinkAddress;
  /** The registers at the RET, from those at the site. */
  readonly regs: ReadonlyMap<PtReg, RegValue>;
  /** For a Jcc: its condition code (the low 4 bits of its opcode) and the direction that returns. */
  readonly branch?: { readonly cc: number; readonly taken: boolean };
  /** Whether BP at the site is still the function's own frame pointer (restored after it). */
  readonly ownFrame: boolean;
}

/** Where one RET is probed: at emulated instructions, or at the RET itself. */
export type ReturnPlan =
  | { readonly kind: 'moved'; readonly sites: readonly { at: PlacedInstruction; via: ReturnVia }[] }
  | { readonly kind: 'ret'; readonly at: PlacedInstruction };

/** The plan for every RET of `code`, in address order. */
export function returnPlans(bin: GoBinary, code: FunctionCode): ReturnPlan[] {
  const ins = code.instructions;
  const rets = ins.flatMap((p, i) => (isReturn(p.insn) ? [i] : []));
  const indirect = ins.some((p) => instructionKind(p.insn) === 'jmp' && p.insn.modrm >= 0);
  const plans = rets.map((i) => (indirect ? undefined : plan(bin, code, i)));
  // A branch two returns would need (taken for one, not for the other) serves neither.
  const uses = new Map<number, number>();
  for (const p of plans) for (const s of p ?? []) uses.set(s.at.address, (uses.get(s.at.address) ?? 0) + 1);
  return rets.map((i, k) => {
    const p = plans[k];
    if (!p || p.some((s) => uses.get(s.at.address)! > 1)) return { kind: 'ret', at: ins[i]! };
    return { kind: 'moved', sites: p };
  });
}

type Planned = { at: PlacedInstruction; via: ReturnVia }[];

function plan(bin: GoBinary, code: FunctionCode, reti: number): Planned | undefined {
  const ins = code.instructions;
  const targets = new Map<number, PlacedInstruction[]>();
  for (const b of code.branches) {
    const from = ins[code.indexOf.get(b.from)!]!;
    const k = instructionKind(from.insn);
    if (k !== 'jmp' && k !== 'jcc') continue;
    targets.set(b.to, [...(targets.get(b.to) ?? []), from]);
  }
  const bytesOf = (p: PlacedInstruction) => ({
    insn: p.insn,
    bytes: bin.elf.readAt(p.address, p.insn.length),
  });
  const via = (
    site: PlacedInstruction,
    from: number,
    branch?: ReturnVia['branch'],
  ): ReturnVia | undefined => {
    const run = ins.slice(from, reti).map(bytesOf);
    const regs = runStraightLine(run);
    const sp = regs?.get('sp');
    // At the RET SP is the CFA - 8; at the site it is that less the site's pcsp delta.
    const delta = bin.symtab.pcln.spDeltaAt(site.address) ?? 0;
    if (!regs || sp?.kind !== 'reg' || sp.reg !== 'sp' || sp.add !== delta) return undefined;
    const bp = regs.get('bp');
    const ownFrame = bp?.kind === 'load';
    return { ret: ins[reti]!.address, regs, ...(branch ? { branch } : {}), ownFrame };
  };
  let start = reti;
  for (;;) {
    if (targets.has(ins[start]!.address) || start === 0) break;
    const prev = ins[start - 1]!;
    const k = instructionKind(prev.insn);
    if (k === 'jmp' || k === 'ret' || k === 'int3' || k === 'jcc') break;
    if (!runStraightLine([bytesOf(prev)])) return undefined; // a CALL, a store, …: falls in from there
    if (k === 'nop' && uprobeHandling(prev.insn).handling === 'emulated') {
      const v = via(prev, start);
      return v && [{ at: prev, via: v }];
    }
    start--;
  }
  if (start === 0 || (code.bodyStart !== undefined && start <= code.bodyStart)) return undefined;
  const out: Planned = [];
  const entries: { at: PlacedInstruction; taken?: boolean }[] = [];
  for (const from of targets.get(ins[start]!.address) ?? [])
    entries.push(instructionKind(from.insn) === 'jcc' ? { at: from, taken: true } : { at: from });
  const prev = ins[start - 1]!;
  const pk = instructionKind(prev.insn);
  if (pk === 'jcc') entries.push({ at: prev, taken: false });
  else if (pk !== 'jmp' && pk !== 'ret' && pk !== 'int3') return undefined;
  if (entries.length === 0) return undefined;
  for (const e of entries) {
    if (uprobeHandling(e.at.insn).handling !== 'emulated') return undefined;
    if (e.taken !== undefined && inLoop(code, e.at)) return undefined;
    const v = via(
      e.at,
      start,
      e.taken === undefined ? undefined : { cc: e.at.insn.opcode & 15, taken: e.taken },
    );
    if (!v) return undefined;
    out.push({ at: e.at, via: v });
  }
  return out;
}

const jumpTargets = new WeakMap<FunctionCode, Map<number, number>>();

/** Whether control can come back to `at` from where it goes next (a loop), within the function. */
function inLoop(code: FunctionCode, at: PlacedInstruction): boolean {
  const ins = code.instructions;
  let targets = jumpTargets.get(code);
  if (!targets) {
    targets = new Map();
    for (const b of code.branches) {
      const t = code.indexOf.get(b.to);
      if (t !== undefined) targets.set(b.from, t); // CALLs' targets are other functions: never here
    }
    jumpTargets.set(code, targets);
  }
  const succ = (i: number): number[] => {
    const p = ins[i]!;
    const k = instructionKind(p.insn);
    const out: number[] = [];
    if (k !== 'jmp' && k !== 'ret' && k !== 'int3' && i + 1 < ins.length) out.push(i + 1);
    const t = k === 'jmp' || k === 'jcc' ? targets.get(p.address) : undefined;
    if (t !== undefined) out.push(t);
    return out;
  };
  const start = code.indexOf.get(at.address)!;
  const seen = new Set<number>();
  const todo = succ(start);
  while (todo.length > 0) {
    const i = todo.pop()!;
    if (i === start) return true;
    if (seen.has(i)) continue;
    seen.add(i);
    todo.push(...succ(i));
  }
  return false;
}
