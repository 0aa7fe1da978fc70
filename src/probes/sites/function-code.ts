/**
 * One Go function's machine code, decoded once: its instructions by address, the targets of
 * its direct branches (to know what can be jumped to), and where its stack-growth check
 * ends. The facts every kind of site is chosen from.
 */
import { hex, type LinkAddress, linkAddr } from '../../common/address.js';
import { PeriscopeError } from '../../common/errors.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import type { GoFunc } from '../../gobinary/pclntab-func.js';
import { instructionKind } from '../x86/classify.js';
import { decodeCode, type PlacedInstruction } from '../x86/code.js';
import type { Instruction } from '../x86/decode.js';

/** A direct branch: its address and where it goes. */
export interface Branch {
  readonly from: LinkAddress;
  readonly to: LinkAddress;
}

/** A decoded Go function. */
export interface FunctionCode {
  readonly fn: GoFunc;
  readonly instructions: readonly PlacedInstruction[];
  /** Index in `instructions` of each instruction start. */
  readonly indexOf: ReadonlyMap<number, number>;
  /** Direct JMP/Jcc/CALL rel branches (CALLs included: their targets are other functions). */
  readonly branches: readonly Branch[];
  /**
   * The first instruction after the stack-growth check (`CMP SP|R12, stackguard0(R14)` then a
   * conditional jump to a block that calls runtime.morestack*), or undefined when the function
   * has no check (NOSPLIT, or a small leaf the compiler marked so).
   */
  readonly bodyStart: number | undefined;
  /** [start, end) of the code the check jumps to (spill, CALL morestack, JMP back), if any. */
  readonly morestackBlock: { readonly start: LinkAddress; readonly end: LinkAddress } | undefined;
}

/** How far into a function the stack check can be: huge frames use five instructions. */
const MAX_PROLOGUE = 8;
/** How long a morestack block can be: spills of every argument register, the CALL, reloads, the JMP. */
const MAX_MORESTACK_BLOCK = 64;

const cache = new WeakMap<GoBinary, Map<number, FunctionCode>>();

/** Decodes a Go function (cached per binary); a clear error if its bytes do not decode. */
export function functionCode(bin: GoBinary, fn: GoFunc): FunctionCode {
  let perBin = cache.get(bin);
  if (!perBin) {
    perBin = new Map();
    cache.set(bin, perBin);
  }
  const hit = perBin.get(fn.entry);
  if (hit) return hit;
  const bytes = bin.elf.readAt(fn.entry, fn.end - fn.entry);
  const code = decodeCode(bytes, fn.entry);
  if (code.failure)
    throw new PeriscopeError(
      'unsupported',
      `cannot decode the machine code of ${fn.name} at ${code.failure.error}; no probe can be placed in it`,
    );
  const indexOf = new Map<number, number>();
  for (const [i, p] of code.instructions.entries()) indexOf.set(p.address, i);
  const branches: Branch[] = [];
  for (const p of code.instructions) {
    const to = directTarget(bytes, p.address - fn.entry, p.address, p.insn);
    if (to !== undefined) branches.push({ from: p.address, to: linkAddr(to) });
  }
  const decoded = { fn, instructions: code.instructions, indexOf, branches };
  const check = findStackCheck(bin, decoded, bytes);
  const result: FunctionCode = {
    ...decoded,
    bodyStart: check?.bodyStart,
    morestackBlock: check && { start: linkAddr(check.blockStart), end: linkAddr(check.blockEnd) },
  };
  perBin.set(fn.entry, result);
  return result;
}

/** The parts of a FunctionCode the stack-check search needs. */
type Decoded = Pick<FunctionCode, 'fn' | 'instructions' | 'indexOf' | 'branches'>;

/** The target of a direct (rel8/rel32) CALL, JMP or Jcc, else undefined. */
function directTarget(bytes: Uint8Array, at: number, address: number, insn: Instruction): number | undefined {
  const kind = instructionKind(insn);
  if (kind !== 'jmp' && kind !== 'jcc' && kind !== 'call') return undefined;
  if (insn.modrm >= 0 || insn.immOffset < 0) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at + insn.immOffset, insn.immSize);
  const rel = insn.immSize === 1 ? dv.getInt8(0) : insn.immSize === 4 ? dv.getInt32(0, true) : undefined;
  return rel === undefined ? undefined : address + insn.length + rel;
}

/**
 * The stack check: the last prologue Jcc whose target block calls runtime.morestack*; gives
 * the index of the instruction after it and the block's [start, end).
 */
function findStackCheck(
  bin: GoBinary,
  code: Decoded,
  bytes: Uint8Array,
): { bodyStart: number; blockStart: number; blockEnd: number } | undefined {
  const morestack = morestackEntries(bin);
  const branchAt = new Map(code.branches.map((b) => [b.from as number, b.to as number]));
  let found: { bodyStart: number; blockStart: number; blockEnd: number } | undefined;
  const n = Math.min(code.instructions.length, MAX_PROLOGUE);
  for (let i = 0; i < n; i++) {
    const p = code.instructions[i]!;
    const kind = instructionKind(p.insn);
    if (kind === 'call' || kind === 'ret' || kind === 'jmp') break;
    if (kind !== 'jcc') continue;
    const to = branchAt.get(p.address);
    const end = to === undefined ? undefined : morestackBlockEnd(code, bytes, to, morestack);
    if (to !== undefined && end !== undefined) found = { bodyStart: i + 1, blockStart: to, blockEnd: end };
  }
  return found;
}

/**
 * Whether straight-line code from `start` reaches a CALL to runtime.morestack* first; if so,
 * the end of the block (after the JMP back to the entry that follows the call).
 */
function morestackBlockEnd(
  code: Decoded,
  bytes: Uint8Array,
  start: number,
  morestack: ReadonlySet<number>,
): number | undefined {
  let i = code.indexOf.get(start);
  if (i === undefined) return undefined;
  let called = false;
  for (let k = 0; k < MAX_MORESTACK_BLOCK && i < code.instructions.length; k++, i++) {
    const p = code.instructions[i]!;
    const kind = instructionKind(p.insn);
    if (kind === 'call' && !called) {
      const to = directTarget(bytes, p.address - code.fn.entry, p.address, p.insn);
      if (to === undefined || !morestack.has(to)) return undefined;
      called = true;
    } else if (kind === 'jmp' && called) return p.address + p.insn.length;
    else if (kind === 'ret' || kind === 'jmp' || kind === 'int3' || kind === 'call') return undefined;
  }
  return undefined;
}

const morestackCache = new WeakMap<GoBinary, Set<number>>();

/** Entries of runtime.morestack, morestack_noctxt and morestackc in this binary. */
function morestackEntries(bin: GoBinary): Set<number> {
  let s = morestackCache.get(bin);
  if (!s) {
    s = new Set();
    // The pclntab can hold two functions of one name (the Go runtime.morestackc and its
    // assembly ABI0 twin, both spelled without ".abi0"): take every function of these names.
    const names = new Set(['runtime.morestack', 'runtime.morestack_noctxt', 'runtime.morestackc']);
    for (const f of bin.symtab.pcln.functions()) if (names.has(f.name.replace(/\.abi0$/, ''))) s.add(f.entry);
    morestackCache.set(bin, s);
  }
  return s;
}

/** The Go function with this exact name, or a clear error. */
export function goFunction(bin: GoBinary, name: string): GoFunc {
  const f = bin.symtab.pcln.funcByName(name);
  if (!f)
    throw new PeriscopeError(
      'no-such-symbol',
      `${bin.path} has no function ${name}; names are fully qualified, e.g. main.handle or main.(*Server).Serve`,
    );
  return f;
}

/** The Go function whose code holds `pc`, or a clear error. */
export function goFunctionAt(bin: GoBinary, pc: LinkAddress): GoFunc {
  const f = bin.symtab.pcln.funcForPC(pc);
  if (!f) throw new PeriscopeError('no-such-symbol', `${hex(pc)} is not in any Go function of ${bin.path}`);
  return f;
}
