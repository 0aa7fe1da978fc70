/**
 * Running goroutines caught while their thread runs a signal handler (the SIGURG of an
 * asynchronous preemption, a SIGPROF of the CPU profiler, ...). The thread's registers are
 * then on its m's signal stack (m.gsignal), g.sched was cleared when the goroutine started
 * running, and where the goroutine itself was is kept only in the ucontext the kernel pushed
 * on the signal stack. Go's own traceback gives up there ("stack unavailable"); we find the
 * ucontext by walking the handler's frames up to runtime.sigtramp, which the kernel entered
 * with sp at the return address of its struct rt_sigframe (pretcode, then the ucontext).
 *
 * Runs inside the pause (the signal stack changes as soon as the thread runs), only for the
 * rare goroutine in that state: the copy of the goroutine's own stack then starts at the
 * interrupted sp like any other.
 */
import { addr, type LoadBias } from '../../common/address.js';
import type { BatchMemory } from '../../proc/copied-memory.js';
import { CopiedMemory, u64At } from '../../proc/copied-memory.js';
import { SIGCONTEXT_GREGS_SIZE, SIGCONTEXT_NAMES } from '../../proc/regs.amd64.js';
import type { GoroutineCapturePlan } from './plan.js';
import { type HeaderScan, type MInfo, StartSource, type ThreadState } from './scan.js';
import type { StackSymbols } from './stack-symbols.js';
import { unwindAmd64 } from './unwind.amd64.js';
import { frameCfa, frameSp, type Stack, type StackMemory } from './unwind.js';

/**
 * Offsets in the amd64 Linux kernel ABI (struct ucontext: uc_flags, uc_link, a 24-byte
 * stack_t, then struct sigcontext, whose general registers start r8..r15, rdi, rsi, rbp, rbx,
 * rdx, rax, rcx, rsp, rip). The same layout as the Go runtime's own ucontext/sigcontext.
 */
export const UC_MCONTEXT = 40;
export const UC_RSP = UC_MCONTEXT + SIGCONTEXT_NAMES.indexOf('rsp') * 8;
export const UC_RIP = UC_MCONTEXT + SIGCONTEXT_NAMES.indexOf('rip') * 8;

/** A signal handler interrupted by another signal on the same stack: at most this many levels are followed. */
const MAX_NESTED = 4;

/** Signal stacks are 32 KiB (runtime.mpreinit); larger bounds are taken as damaged. */
const MAX_SIGNAL_STACK = 1 << 20;

/** Frames walked on a signal stack to find runtime.sigtramp. */
const MAX_HANDLER_FRAMES = 64;

/** Bytes of code read around a thread's pc to recognise a restorer that is not Go's. */
const CODE_BEFORE = 7;
const CODE_AFTER = 9;

/** mov $15 (rt_sigreturn), %rax / %eax; then syscall. */
const RESTORER_MOVS = [
  [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00],
  [0xb8, 0x0f, 0x00, 0x00, 0x00],
];
const SYSCALL = [0x0f, 0x05];

/**
 * Whether the code at `pc` (offset `at` of `code`) is a signal restorer: the two instructions
 * `mov $SYS_rt_sigreturn, %rax; syscall`, at the first or the second of them. A binary with
 * cgo installs its handlers through libc, whose restorer (__restore_rt) has no Go symbol;
 * gdb recognises it by these bytes too.
 */
function isRestorer(code: Uint8Array, at: number): boolean {
  const matches = (off: number, bytes: readonly number[]) =>
    off >= 0 && off + bytes.length <= code.length && bytes.every((b, k) => code[off + k] === b);
  return RESTORER_MOVS.some(
    (mov) =>
      (matches(at, mov) && matches(at + mov.length, SYSCALL)) ||
      (matches(at - mov.length, mov) && matches(at, SYSCALL)),
  );
}

/** Where a goroutine was when its thread took a signal. */
export interface InterruptedContext {
  readonly pc: number;
  readonly sp: number;
}

/** An interrupted context as found on a signal stack: also where its ucontext lies. */
interface FoundContext extends InterruptedContext {
  readonly ucontext: number;
}

/**
 * For each running goroutine left without a start (source sched-stale, g.sched.sp cleared)
 * whose thread is on its m's signal stack: copies that signal stack, finds the interrupted
 * context and starts the goroutine's walk there (source Signal, the thread recorded in
 * `threadOf`). Updates `scan` in place; returns the saved general registers of each such
 * goroutine (SIGCONTEXT_NAMES order) by g address. Costs one loop over the g's on an m when
 * none is.
 */
export function startInSignalHandlers(
  plan: GoroutineCapturePlan,
  mem: BatchMemory,
  gs: Float64Array,
  scan: HeaderScan,
  mInfo: ReadonlyMap<number, MInfo>,
  threads: readonly ThreadState[],
  threadOf: Int32Array,
): Map<number, Uint8Array> {
  const contexts = new Map<number, Uint8Array>();
  const { status, lo, hi, pc, sp, source } = scan;
  const found: { i: number; t: ThreadState; gsignal: number }[] = [];
  for (let j = 0; j < scan.onM.length; j++) {
    const i = scan.onM[j]!;
    if (status[i] !== plan.running || source[i] !== StartSource.SchedStale || sp[i] !== 0) continue;
    const m = mInfo.get(scan.onMPtr[j]!);
    if (!m || m.curg !== gs[i] || m.gsignal === 0) continue;
    const t = threads.find((x) => x.tid === m.tid);
    if (t) found.push({ i, t, gsignal: m.gsignal });
  }
  if (found.length === 0) return contexts;
  const o = plan.layout.gOffsets;
  const first = Math.min(o.stackLo, o.stackHi);
  const bounds = mem.readBatch(found.map((f) => ({ address: addr(f.gsignal + first), size: 16 })));
  for (let k = 0; k < found.length; k++) {
    const { i, t } = found[k]!;
    const b = bounds[k];
    if (!b) continue;
    const sigLo = u64At(b, o.stackLo - first);
    const sigHi = u64At(b, o.stackHi - first);
    if (t.sp < sigLo || t.sp >= sigHi || sigHi - sigLo > MAX_SIGNAL_STACK) continue;
    const [bytes, code] = mem.readBatch([
      { address: addr(t.sp), size: sigHi - t.sp },
      { address: addr(t.pc - CODE_BEFORE), size: CODE_BEFORE + CODE_AFTER },
    ]);
    if (!bytes) continue;
    const stack = new CopiedMemory();
    stack.add(addr(t.sp), bytes);
    const start = { ...t, atRestorer: code !== undefined && isRestorer(code, CODE_BEFORE) };
    const ctx = interruptedContext(plan.sym, stack, start, { lo: t.sp, hi: sigHi }, plan.bias);
    if (!ctx || ctx.sp < lo[i]! || ctx.sp >= hi[i]!) continue;
    pc[i] = ctx.pc;
    sp[i] = ctx.sp;
    source[i] = StartSource.Signal;
    threadOf[i] = t.tid;
    const gregs = addr(ctx.ucontext + UC_MCONTEXT);
    if (stack.has(gregs, SIGCONTEXT_GREGS_SIZE))
      contexts.set(gs[i]!, stack.read(gregs, SIGCONTEXT_GREGS_SIZE));
  }
  return contexts;
}

/**
 * The context a signal interrupted, from a thread's registers inside a Go signal handler and
 * the memory of its signal stack [lo, hi). Follows nested signals (an interrupted context that
 * is itself on the signal stack). `atRestorer`: the thread is in a restorer that has no Go
 * symbol (isRestorer). Undefined when the handler's frames do not lead to runtime.sigtramp
 * (e.g. a handler that is not Go's).
 */
function interruptedContext(
  sym: StackSymbols,
  mem: StackMemory,
  start: InterruptedContext & { readonly atRestorer?: boolean },
  stack: { lo: number; hi: number },
  bias: LoadBias,
): FoundContext | undefined {
  let at: InterruptedContext = start;
  try {
    for (let level = 0; level < MAX_NESTED; level++) {
      // In a restorer the handler has returned: its ucontext is at sp.
      const uc =
        level === 0 && start.atRestorer
          ? at.sp
          : ucontextOf(
              unwindAmd64(
                sym,
                mem,
                { pc: at.pc, sp: at.sp, trap: true, syscall: false },
                { lo: stack.lo, hi: stack.hi, maxFrames: MAX_HANDLER_FRAMES, bias },
              ),
            );
      if (uc === undefined) return undefined;
      const next = { pc: mem.readU64(addr(uc + UC_RIP)), sp: mem.readU64(addr(uc + UC_RSP)), ucontext: uc };
      if (next.sp < stack.lo || next.sp >= stack.hi) return next;
      at = next;
    }
  } catch {
    // Unreadable signal stack: no context.
  }
  return undefined;
}

/**
 * Where the kernel's ucontext lies, from the handler's frames: just above the return address
 * the handler was entered with (runtime.sigtramp; runtime.cgoSigtramp, which only jumps to it,
 * in binaries with cgo), or at sp when the thread is already in the restorer
 * (runtime.sigreturn__sigaction: the handler's return popped that address).
 */
function ucontextOf(stack: Stack): number | undefined {
  const top = stack.frames[0];
  if (!top) return undefined;
  if (top.function === 'runtime.sigreturn__sigaction' || top.function === 'runtime.sigreturn')
    return frameSp(stack, top);
  if (top.function === 'runtime.cgoSigtramp') return frameCfa(stack, top);
  for (const f of stack.frames)
    if (f.function === 'runtime.sigtramp' && !f.inlined) return frameCfa(stack, f);
  return undefined;
}
