/**
 * What the unwinder asks of a binary, answered once per pc and cached: the function at a
 * pc, its frame size there (pcsp), its logical (inlined) frames, and the FuncIDs of the
 * runtime functions a traceback treats specially. One instance per binary, shared by every
 * snapshot of every process running it; pcs here are link-time (subtract the load bias).
 */
import { type LinkAddress, linkAddr } from '../../common/address.js';
import { deriveFuncIds, FUNC_ID_NORMAL } from '../../gobinary/func-id.js';
import type { GoBinary } from '../../gobinary/go-binary.js';
import type { InlinedFrame } from '../../gobinary/inline-tree.js';
import type { Pclntab } from '../../gobinary/pclntab.js';
import type { GoFunc } from '../../gobinary/pclntab-func.js';
import type { GoSymtab } from '../../gobinary/pclntab-open.js';

/** FuncIDs (release-specific numbers) of the runtime functions tracebacks special-case; -1 = absent. */
export interface SpecialFuncIds {
  readonly wrapper: number;
  readonly gopanic: number;
  readonly sigpanic: number;
  readonly panicwrap: number;
  readonly asyncPreempt: number;
  readonly debugCallV2: number;
  readonly runtimeMain: number;
  readonly corostart: number;
  readonly handleAsyncEvent: number;
  /** runtime.runfinq (≤1.25) / runtime.runFinalizers (1.26+). */
  readonly runFinalizers: number;
  readonly runCleanups: number;
  readonly cgocallback: number;
}

/**
 * What a walk needs of one pc, answered by one lookup: the function, the frame size there
 * (NaN when unknown), the pc whose line and inlining the frame shows (pc - 1 for a return
 * address past its function's entry) and the number of logical frames there.
 */
export interface WalkStep {
  readonly fn: GoFunc;
  readonly size: number;
  readonly symPc: LinkAddress;
  /** Logical frames at symPc; -1 when not known (no pcsp, or an inline tree that failed to read). */
  readonly logical: number;
}

/** Bound on the caches, so a scan over garbage pcs cannot grow them without limit. */
const MAX_CACHED = 1 << 18;
const NO_DELTA = Number.NaN;

/** Cached symbol queries for stack walking over one binary. */
export class StackSymbols {
  readonly pcln: Pclntab;
  readonly ids: SpecialFuncIds;
  private readonly symtab: GoSymtab;
  private readonly deltas = new Map<number, number>();
  private readonly funcs = new Map<number, GoFunc | null>();
  private readonly logical = new Map<number, readonly InlinedFrame[]>();
  private readonly returnSteps = new Map<number, WalkStep | null>();
  private readonly trapSteps = new Map<number, WalkStep | null>();

  constructor(bin: GoBinary) {
    this.symtab = bin.symtab;
    this.pcln = bin.symtab.pcln;
    const ids = deriveFuncIds(this.pcln);
    const id = (name: string) => ids.idOf(name) ?? -1;
    this.ids = {
      wrapper: id('wrapper'),
      gopanic: id('gopanic'),
      sigpanic: id('sigpanic'),
      panicwrap: id('panicwrap'),
      asyncPreempt: id('asyncPreempt'),
      debugCallV2: id('debugCallV2'),
      runtimeMain: id('runtime_main'),
      corostart: id('corostart'),
      handleAsyncEvent: id('handleAsyncEvent'),
      runFinalizers: ids.idOf('runFinalizers') ?? id('runfinq'),
      runCleanups: id('runCleanups'),
      cgocallback: id('cgocallback'),
    };
  }

  /** The function containing a link-time pc (cached per pc). */
  funcAt(pc: LinkAddress): GoFunc | undefined {
    let f = this.funcs.get(pc);
    if (f === undefined) {
      f = this.pcln.funcForPC(pc) ?? null;
      if (this.funcs.size >= MAX_CACHED) this.funcs.clear();
      this.funcs.set(pc, f);
    }
    return f ?? undefined;
  }

  /** Bytes the function at pc has pushed below its return address (pcsp), or undefined. */
  frameSize(pc: LinkAddress): number | undefined {
    let d = this.deltas.get(pc);
    if (d === undefined) {
      d = this.pcln.spDeltaAt(pc) ?? NO_DELTA;
      if (this.deltas.size >= MAX_CACHED) this.deltas.clear();
      this.deltas.set(pc, d);
    }
    return Number.isNaN(d) ? undefined : d;
  }

  /**
   * The step of a walk at link-time pc `pc` (a return address unless `trap`), cached per pc;
   * null when no function contains it. Throws FormatError on a corrupt inline tree.
   */
  step(pc: LinkAddress, trap: boolean): WalkStep | null {
    const cache = trap ? this.trapSteps : this.returnSteps;
    let s = cache.get(pc);
    if (s === undefined) {
      const fn = this.funcAt(pc);
      if (fn) {
        const symPc = !trap && pc > fn.entry ? linkAddr(pc - 1) : pc;
        // Only what the walk would ask of this pc: a function without pcsp gets neither.
        const size = fn.pcsp === 0 ? undefined : this.frameSize(pc);
        let logical = -1;
        try {
          if (fn.pcsp !== 0) logical = this.logicalFrames(symPc).length;
        } catch {
          // A corrupt inline tree: the walk asks again where it reports the error.
        }
        s = { fn, size: size ?? Number.NaN, symPc, logical };
      } else s = null;
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(pc, s);
    }
    return s;
  }

  /** Logical frames at a (symbolic) pc, innermost first; throws FormatError on a corrupt inline tree. */
  logicalFrames(symPc: LinkAddress): readonly InlinedFrame[] {
    let f = this.logical.get(symPc);
    if (!f) {
      f = this.symtab.inlinedFramesAt(symPc);
      if (this.logical.size >= MAX_CACHED) this.logical.clear();
      this.logical.set(symPc, f);
    }
    return f;
  }

  /** Go's isInjectedCall: a frame the runtime pushed without a CALL (its return pc is a trap pc). */
  isInjectedCall(funcID: number): boolean {
    if (funcID === FUNC_ID_NORMAL) return false;
    const i = this.ids;
    return funcID === i.sigpanic || funcID === i.asyncPreempt || funcID === i.debugCallV2;
  }

  /** Whether a function is runtime.cgocallback, whose SP write Go's unwinder walks through. */
  isCgocallback(funcID: number): boolean {
    return funcID !== FUNC_ID_NORMAL && funcID === this.ids.cgocallback;
  }

  /** Go's elideWrapperCalling: a wrapper is hidden unless it called a panic function. */
  elideWrapperCalling(calleeFuncID: number): boolean {
    const i = this.ids;
    if (calleeFuncID === FUNC_ID_NORMAL) return true;
    return !(calleeFuncID === i.gopanic || calleeFuncID === i.sigpanic || calleeFuncID === i.panicwrap);
  }

  /**
   * Go's showfuncinfo at GOTRACEBACK=single: whether runtime.Stack / a crash would print
   * this logical frame. `firstFrame` is true while no frame has been printed yet.
   */
  showFrame(name: string, funcID: number, firstFrame: boolean, calleeFuncID: number): boolean {
    const i = this.ids;
    if (funcID !== FUNC_ID_NORMAL && funcID === i.wrapper && this.elideWrapperCalling(calleeFuncID))
      return false;
    if (funcID !== FUNC_ID_NORMAL && (funcID === i.runFinalizers || funcID === i.runCleanups)) return true;
    if (name === 'runtime.gopanic' && !firstFrame) return true;
    return name.includes('.') && (!name.startsWith('runtime.') || isExportedRuntime(name));
  }

  /**
   * Go's isSystemGoroutine for a start pc: runtime.* functions are the runtime's own,
   * except runtime.main, corostart and handleAsyncEvent. The finalizer and cleanup
   * goroutines count as system ones (the runtime decides by whether they are running user
   * code at the moment, which a snapshot does not read).
   */
  isSystemStart(startPc: LinkAddress): boolean {
    const f = this.funcAt(startPc);
    if (!f) return false;
    const i = this.ids;
    if (f.funcID !== FUNC_ID_NORMAL) {
      if (f.funcID === i.runtimeMain || f.funcID === i.corostart || f.funcID === i.handleAsyncEvent)
        return false;
    }
    return f.name.startsWith('runtime.');
  }
}

const perBinary = new WeakMap<GoBinary, StackSymbols>();

/** The StackSymbols of a binary, made once and shared (caches included). */
export function stackSymbolsFor(bin: GoBinary): StackSymbols {
  let s = perBinary.get(bin);
  if (!s) {
    s = new StackSymbols(bin);
    perBinary.set(bin, s);
  }
  return s;
}

/** Go's isExportedRuntime: "runtime." followed by an upper-case letter. */
export function isExportedRuntime(name: string): boolean {
  if (name.length <= 8 || !name.startsWith('runtime.')) return false;
  const c = name.charCodeAt(8);
  return c >= 65 && c <= 90;
}
