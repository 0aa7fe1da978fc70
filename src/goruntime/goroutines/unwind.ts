/**
 * Architecture-neutral parts of stack unwinding: the frame and stack records, the memory
 * the unwinder reads, the start position of a walk, and the expansion of a physical frame
 * into logical (inlined) frames marked the way Go's traceback would print them. The walk
 * itself is per architecture (unwind.amd64.ts).
 */
import { type Address, type LinkAddress, type LoadBias, linkAddr } from '../../common/address.js';
import type { GoFunc } from '../../gobinary/pclntab-func.js';
import type { StackSymbols } from './stack-symbols.js';

/**
 * One logical frame, innermost first in a Stack. Everything in it follows from the walk's
 * pcs, so goroutines whose walks were the same share their Frame objects (and the array):
 * the stack pointers, which differ between goroutines, are the Stack's `sp` plus offsets.
 */
export interface Frame {
  /** Function name as Go prints it (generic shapes as "[...]"). */
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** The physical frame's pc in the process (a return address for every frame but the innermost). */
  readonly pc: Address;
  /** Entry of the physical function in the process (Go prints pc - entry as "+0x.."). */
  readonly entry: Address;
  /** Stack pointer of the physical frame, minus the stack's `sp` (see frameSp). */
  readonly spOffset: number;
  /** Canonical frame address (the caller's sp: sp + frame size + return address), minus the stack's `sp`. */
  readonly cfaOffset: number;
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
  /** Shared with every stack of the same decode whose walk was the same: never modify. */
  readonly frames: readonly Frame[];
  /** Stack pointer of the innermost physical frame (0 without frames): frames' offsets are from it. */
  readonly sp: Address;
  readonly end: StackEnd;
  /** What went wrong, when end is 'error' (unknown pc, frame outside the stack, unreadable memory). */
  readonly error?: string;
}

/** The stack pointer of a frame of `stack`. */
export function frameSp(stack: Stack, f: Frame): Address {
  return (stack.sp + f.spOffset) as Address;
}

/** The canonical frame address of a frame of `stack`. */
export function frameCfa(stack: Stack, f: Frame): Address {
  return (stack.sp + f.cfaOffset) as Address;
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
  /** Walks of this decode so far, to share frames with (default: none shared). */
  readonly shapes?: StackShapes;
}

/** Default cap on logical frames per stack. */
export const DEFAULT_MAX_FRAMES = 1024;

/** The physical frames of the walk in progress (walks never nest: one scratch for all). */
const walk: {
  cap: number;
  pc: Float64Array;
  symPc: Float64Array;
  sp: Float64Array;
  cfa: Float64Array;
  take: Int32Array;
  fn: GoFunc[];
} = {
  cap: 0,
  pc: new Float64Array(0),
  symPc: new Float64Array(0),
  sp: new Float64Array(0),
  cfa: new Float64Array(0),
  take: new Int32Array(0),
  fn: [] as GoFunc[],
};
/** Numbers per physical frame in a walk's key: pc, symbolic pc, logical frames taken, sp and cfa offsets. */
const KEY = 5;

function growWalk(n: number): void {
  const cap = Math.max(64, n * 2);
  const grow = (a: Float64Array): Float64Array => {
    const b = new Float64Array(cap);
    b.set(a);
    return b;
  };
  walk.pc = grow(walk.pc);
  walk.symPc = grow(walk.symPc);
  walk.sp = grow(walk.sp);
  walk.cfa = grow(walk.cfa);
  const take = new Int32Array(cap);
  take.set(walk.take);
  walk.take = take;
  walk.cap = cap;
}

/** A distinct walk: its key (KEY numbers per physical frame), how it ended, and its frames. */
interface Shape {
  readonly key: Float64Array;
  readonly end: StackEnd;
  readonly error: string | undefined;
  readonly frames: readonly Frame[];
}

/**
 * The stacks of one decode, by walk: goroutines whose walks were the same (the same pcs,
 * frame sizes and logical frames, the same end) get the same Frame objects. At 100k
 * goroutines over a few hundred distinct stacks that is a few thousand frames instead of a
 * million. Pcs are the process's, so one StackShapes serves one process's decode.
 */
export class StackShapes {
  private readonly byHash = new Map<number, Shape[]>();
  private count = 0;

  /** Distinct walks seen. */
  get size(): number {
    return this.count;
  }

  /** The shape of the walk in `walk` (n physical frames from sp0), or undefined. */
  find(hash: number, n: number, sp0: number, end: StackEnd, error: string | undefined): Shape | undefined {
    const bucket = this.byHash.get(hash);
    if (!bucket) return undefined;
    for (const s of bucket) if (s.end === end && s.error === error && sameWalk(s.key, n, sp0)) return s;
    return undefined;
  }

  /** Records the walk in `walk` with its frames. */
  add(
    hash: number,
    n: number,
    sp0: number,
    end: StackEnd,
    error: string | undefined,
    frames: readonly Frame[],
  ): void {
    const key = new Float64Array(n * KEY);
    for (let i = 0; i < n; i++) {
      const k = i * KEY;
      key[k] = walk.pc[i]!;
      key[k + 1] = walk.symPc[i]!;
      key[k + 2] = walk.take[i]!;
      key[k + 3] = walk.sp[i]! - sp0;
      key[k + 4] = walk.cfa[i]! - sp0;
    }
    const shape: Shape = { key, end, error, frames };
    const bucket = this.byHash.get(hash);
    if (bucket) bucket.push(shape);
    else this.byHash.set(hash, [shape]);
    this.count++;
  }
}

function sameWalk(key: Float64Array, n: number, sp0: number): boolean {
  if (key.length !== n * KEY) return false;
  for (let i = 0; i < n; i++) {
    const k = i * KEY;
    if (
      key[k] !== walk.pc[i] ||
      key[k + 1] !== walk.symPc[i] ||
      key[k + 2] !== walk.take[i] ||
      key[k + 3] !== walk.sp[i]! - sp0 ||
      key[k + 4] !== walk.cfa[i]! - sp0
    )
      return false;
  }
  return true;
}

/**
 * Collects the physical frames of one walk and turns them into logical frames marked hidden
 * or shown as Go's traceback2 does, shared through `shapes` with earlier identical walks.
 */
export class FrameCollector {
  private readonly sym: StackSymbols;
  private readonly max: number;
  private readonly bias: LoadBias;
  private readonly shapes: StackShapes | undefined;
  private n = 0;
  private logical = 0;

  constructor(sym: StackSymbols, maxFrames: number, bias: LoadBias, shapes?: StackShapes) {
    this.sym = sym;
    this.max = maxFrames;
    this.bias = bias;
    this.shapes = shapes;
  }

  /**
   * Adds the logical frames of one physical frame of `fn`, at `pc` in the process with stack
   * pointer `sp` and canonical frame address `cfa`; returns false when the cap was hit.
   * `symPc` is the link-time pc to look up (that of pc - 1 for return addresses).
   */
  addPhysical(fn: GoFunc, symPc: LinkAddress, pc: Address, sp: Address, cfa: Address): boolean {
    return this.addCounted(fn, symPc, this.sym.logicalFrames(symPc).length, pc, sp, cfa);
  }

  /** addPhysical when the number of logical frames at symPc is known (StackSymbols.step). */
  addCounted(fn: GoFunc, symPc: LinkAddress, count: number, pc: Address, sp: Address, cfa: Address): boolean {
    const take = Math.min(count, this.max - this.logical);
    const i = this.n;
    if (i >= walk.cap) growWalk(i + 1);
    walk.pc[i] = pc;
    walk.symPc[i] = symPc;
    walk.sp[i] = sp;
    walk.cfa[i] = cfa;
    walk.take[i] = take;
    walk.fn[i] = fn;
    this.n = i + 1;
    this.logical += take;
    return take === count;
  }

  /** Ends the walk: its frames (an earlier identical walk's when there was one). */
  finish(end: StackEnd, error?: string): Stack {
    const n = this.n;
    const sp0 = n > 0 ? walk.sp[0]! : 0;
    let hash = n;
    for (let i = 0; i < n; i++)
      hash =
        (Math.imul(hash, 31) + (walk.pc[i]! % 0x7fffffff) + walk.take[i]! * 7 + (walk.cfa[i]! - sp0)) | 0;
    const shape = this.shapes?.find(hash, n, sp0, end, error);
    const frames = shape ? shape.frames : this.build(sp0);
    if (!shape) this.shapes?.add(hash, n, sp0, end, error, frames);
    walk.fn.length = 0;
    const sp = sp0 as Address;
    return error === undefined ? { frames, sp, end } : { frames, sp, end, error };
  }

  /** The logical frames of the walk; if Go would have printed none, it prints them all (showRuntime). */
  private build(sp0: number): Frame[] {
    const sym = this.sym;
    const hidden: boolean[] = [];
    let shown = 0;
    let callee = 0;
    for (let i = 0; i < this.n; i++) {
      const lfs = sym.logicalFrames(linkAddr(walk.symPc[i]!));
      for (let j = 0; j < walk.take[i]!; j++) {
        const lf = lfs[j]!;
        const show = sym.showFrame(lf.name, lf.funcID, shown === 0, callee);
        callee = lf.funcID;
        if (show) shown++;
        hidden.push(!show);
      }
    }
    const frames: Frame[] = [];
    for (let i = 0; i < this.n; i++) {
      const lfs = sym.logicalFrames(linkAddr(walk.symPc[i]!));
      const entry = this.bias.toRuntime(walk.fn[i]!.entry);
      for (let j = 0; j < walk.take[i]!; j++) {
        const lf = lfs[j]!;
        frames.push({
          function: lf.function,
          file: lf.file,
          line: lf.line,
          pc: walk.pc[i]! as Address,
          entry,
          spOffset: walk.sp[i]! - sp0,
          cfaOffset: walk.cfa[i]! - sp0,
          inlined: lf.inlined,
          hidden: shown > 0 && hidden[frames.length]!,
        });
      }
    }
    return frames;
  }
}
