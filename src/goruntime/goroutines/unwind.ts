/**
 * Architecture-neutral parts of stack unwinding: the frame and stack records, the memory
 * the unwinder reads, the start position of a walk, and the expansion of a physical frame
 * into logical (inlined) frames marked the way Go's traceback would print them. The walk
 * itself is per architecture (unwind.amd64.ts).
 */
import type { Address, LinkAddress, LoadBias } from '../../common/address.js';
import type { GoFunc } from '../../gobinary/pclntab-func.js';
import type { StackSymbols } from './stack-symbols.js';

/** One logical frame, innermost first in a Stack. */
export interface Frame {
  /** Function name as Go prints it (generic shapes as "[...]"). */
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** The physical frame's pc in the process (a return address for every frame but the innermost). */
  readonly pc: Address;
  /** Entry of the physical function in the process (Go prints pc - entry as "+0x.."). */
  readonly entry: Address;
  /** Stack pointer of the physical frame. */
  readonly sp: Address;
  /** Canonical frame address: the caller's sp (sp + frame size + return address). */
  readonly cfa: Address;
  /** Inlined into the next (outer) frame: shares its pc, sp and cfa. */
  readonly inlined: boolean;
  /** Go's own traceback (runtime.Stack, GOTRACEBACK=single) would not print this frame. */
  readonly hidden: boolean;
}

/** Why a walk ended. */
export type StackEnd =
  /** A function marked TOPFRAME (goexit, mstart, rt0_go): the stack is complete. */
  | 'top'
  /** A function that writes SP (e.g. a stack switch): Go's traceback stops there too. */
  | 'spwrite'
  /** A function without frame information (external code). */
  | 'no-frame-info'
  /** The frame cap was reached. */
  | 'truncated'
  /**
   * Running, but its thread was not on this goroutine's stack (in the scheduler or a runtime
   * call on the system stack) and its saved context was cleared: no frames, as Go's own
   * traceback prints "goroutine running on other thread; stack unavailable".
   */
  | 'unavailable'
  /** Something was wrong: see `error`. */
  | 'error';

/** A goroutine's stack: logical frames innermost first, and how the walk ended. */
export interface Stack {
  readonly frames: Frame[];
  readonly end: StackEnd;
  /** What went wrong, when end is 'error' (unknown pc, frame outside the stack, unreadable memory). */
  readonly error?: string;
}

/** Where a walk starts. */
export interface UnwindStart {
  readonly pc: number;
  readonly sp: number;
  /** The pc was interrupted (thread registers), not a return address: look it up as is. */
  readonly trap: boolean;
  /** The pc/sp are g.syscallpc/syscallsp (entersyscall saved them; later SP writes do not matter). */
  readonly syscall: boolean;
}

/** Reads 8-byte words of target memory; throws (e.g. MemoryError) when it cannot. */
export interface StackMemory {
  readU64(address: Address): number;
}

/** Bounds of a walk. */
export interface UnwindLimits {
  /** The goroutine's stack [lo, hi): frames outside it end the walk. */
  readonly lo: number;
  readonly hi: number;
  /** At most this many logical frames (then end = 'truncated'). */
  readonly maxFrames: number;
  /** Load bias of the executable (0 for Go's default non-PIE builds). */
  readonly bias: LoadBias;
}

/** Default cap on logical frames per stack. */
export const DEFAULT_MAX_FRAMES = 1024;

/** Collects logical frames and marks them hidden or shown as Go's traceback2 does. */
export class FrameCollector {
  readonly frames: Frame[] = [];
  private readonly sym: StackSymbols;
  private shown = 0;
  private callee = 0;
  private readonly max: number;
  private readonly bias: LoadBias;

  constructor(sym: StackSymbols, maxFrames: number, bias: LoadBias) {
    this.sym = sym;
    this.max = maxFrames;
    this.bias = bias;
  }

  /**
   * Adds the logical frames of one physical frame of `fn`, at `pc` in the process with stack
   * pointer `sp` and canonical frame address `cfa`; returns false when the cap was hit.
   * `symPc` is the link-time pc to look up (that of pc - 1 for return addresses).
   */
  addPhysical(fn: GoFunc, symPc: LinkAddress, pc: Address, sp: Address, cfa: Address): boolean {
    const logical = this.sym.logicalFrames(symPc);
    for (const lf of logical) {
      if (this.frames.length >= this.max) return false;
      const show = this.sym.showFrame(lf.name, lf.funcID, this.shown === 0, this.callee);
      this.callee = lf.funcID;
      if (show) this.shown++;
      this.frames.push({
        function: lf.function,
        file: lf.file,
        line: lf.line,
        pc,
        entry: this.bias.toRuntime(fn.entry),
        sp,
        cfa,
        inlined: lf.inlined,
        hidden: !show,
      });
    }
    return true;
  }

  /** Ends the walk: if Go would have printed nothing, it prints every frame (showRuntime). */
  finish(end: StackEnd, error?: string): Stack {
    if (this.shown === 0 && this.frames.length > 0) {
      for (let i = 0; i < this.frames.length; i++) this.frames[i] = { ...this.frames[i]!, hidden: false };
    }
    return error === undefined ? { frames: this.frames, end } : { frames: this.frames, end, error };
  }
}
