/**
 * Go's own stack walk on amd64 (runtime/traceback.go's unwinder): at (pc, sp) the pcsp
 * table gives the frame size, the return address sits just below the caller's sp
 * (sp + frame size + 8), and the walk ends at a TOPFRAME function (goexit, mstart,
 * rt0_go), an SPWRITE function (but runtime.cgocallback), a function without frame information, or a frame that
 * leaves the goroutine's stack. Every step is bounded; bad memory ends the walk with an error.
 */
import { addr, hex } from '../../common/address.js';
import { FUNC_FLAG_SPWRITE, FUNC_FLAG_TOPFRAME } from '../../gobinary/pclntab-func.js';
import type { StackSymbols, WalkStep } from './stack-symbols.js';
import {
  FrameCollector,
  type Stack,
  type StackMemory,
  type UnwindLimits,
  type UnwindStart,
} from './unwind.js';

const PTR = 8;

/** Walks one goroutine's stack from `start`, innermost first. Never throws for bad memory. */
export function unwindAmd64(
  sym: StackSymbols,
  mem: StackMemory,
  start: UnwindStart,
  limits: UnwindLimits,
): Stack {
  const bias = limits.bias;
  const out = new FrameCollector(sym, limits.maxFrames, bias, limits.shapes);
  let pc = addr(start.pc);
  let sp = start.sp;
  let trap = start.trap;
  try {
    if (pc === 0) {
      // A call through a nil function value: start in the caller (as Go's initAt does).
      if (sp < limits.lo || sp + PTR > limits.hi)
        return out.finish('error', `pc 0 and sp ${hex(sp)} outside the stack`);
      pc = addr(mem.readU64(addr(sp)));
      sp += PTR;
      trap = false;
    }
    // Each iteration consumes at least one word of stack, so this bound is never the binding one.
    const maxPhysical = Math.min(limits.maxFrames + 1, Math.floor((limits.hi - limits.lo) / PTR) + 1);
    // The step at the next pc, looked up while checking the return address.
    let next: WalkStep | null | undefined;
    for (let depth = 0; depth < maxPhysical; depth++) {
      if (sp < limits.lo || sp >= limits.hi)
        return out.finish(
          'error',
          `sp ${hex(sp)} is outside the stack [${hex(limits.lo)}, ${hex(limits.hi)})`,
        );
      const linkPc = bias.toLink(pc);
      const step = next !== undefined && !trap ? next : sym.step(linkPc, trap);
      if (!step) return out.finish('error', `unknown pc ${hex(pc)}`);
      const fn = step.fn;
      if (fn.pcsp === 0) {
        out.addPhysical(fn, linkPc, pc, addr(sp), addr(sp));
        return out.finish('no-frame-info');
      }
      const size = step.size;
      if (Number.isNaN(size) || size < 0)
        return out.finish('error', `no frame size for ${fn.name} at pc ${hex(pc)}`);
      const cfa = sp + size + PTR;
      // A return address is just past its call: the call's line and inlining are at pc - 1.
      const added =
        step.logical >= 0
          ? out.addCounted(fn, step.symPc, step.logical, pc, addr(sp), addr(cfa))
          : out.addPhysical(fn, step.symPc, pc, addr(sp), addr(cfa));
      if (!added) return out.finish('truncated');
      let flag = fn.flag;
      // Entered through entersyscall's saved pc/sp, a later SP write does not matter; and
      // runtime.cgocallback keeps a frame to unwind through on both stacks it switches
      // between, so a walk goes on from Go called back by C into the Go code that called C.
      if ((depth === 0 && start.syscall) || sym.isCgocallback(fn.funcID)) flag &= ~FUNC_FLAG_SPWRITE;
      if (flag & FUNC_FLAG_TOPFRAME) return out.finish('top');
      if (flag & FUNC_FLAG_SPWRITE) return out.finish('spwrite');
      if (cfa > limits.hi)
        return out.finish(
          'error',
          `frame of ${fn.name} at sp ${hex(sp)} runs past the stack top ${hex(limits.hi)}`,
        );
      const lr = addr(mem.readU64(addr(cfa - PTR)));
      if (lr === 0) return out.finish('top');
      next = sym.step(bias.toLink(lr), false);
      if (!next)
        return out.finish('error', `unexpected return pc ${hex(lr)} for ${fn.name} at sp ${hex(sp)}`);
      if (lr === pc && cfa === sp) return out.finish('error', `traceback stuck at pc ${hex(pc)}`);
      trap = sym.isInjectedCall(fn.funcID);
      pc = lr;
      sp = cfa;
    }
    return out.finish('truncated');
  } catch (e) {
    return out.finish('error', e instanceof Error ? e.message : String(e));
  }
}
